# Two set-up commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO ?= build/demo

.PHONY: install run test test-fast argilla-sdk-tests bench bench-hatexplain bench-inference bench-argilla bench-review clean

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
	$(MAKE) argilla-sdk-tests

# The fast lane: every test not marked slow (no model training, no Argilla server), in under 2 minutes.
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow"

# Argilla's own SDK integration suite (argilla==2.8.0 sdist) against the embedded stack.
argilla-sdk-tests: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) tools/argilla_sdk_suite.py

bench: $(STAMP)
	$(PY) bench/import_dedup_split.py

bench-hatexplain: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/hatexplain.py --out build/hatexplain-model

bench-inference: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/inference.py --model build/hatexplain-model

# Logging and query latency: embedded stack vs argilla-server on osmem-server (OpenSearch-compatible).
bench-argilla: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	HF_HUB_OFFLINE=1 $(PY) bench/argilla.py

# Review push throughput against the raw SDK logging rate, on the embedded stack.
bench-review: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/review.py

clean:
	rm -rf $(VENV) build .hypothesis
