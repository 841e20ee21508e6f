# Two set-up commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO ?= build/demo

.PHONY: install run test bench bench-hatexplain bench-inference clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Loads the demo project (once) and prints its stats.
run: $(STAMP)
	test -f $(DEMO)/workbench.yaml || $(VENV)/bin/workbench init $(DEMO) --demo
	$(VENV)/bin/workbench stats $(DEMO)

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/import_dedup_split.py

bench-hatexplain: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/hatexplain.py --out build/hatexplain-model

bench-inference: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/inference.py --model build/hatexplain-model

clean:
	rm -rf $(VENV) build .hypothesis
