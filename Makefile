# Development environment: a local virtual environment pinned by requirements/constraints.txt
# (torch==2.13.0 is the CPU build; an unpinned torch would pull a multi-GB CUDA build).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
PYTEST_ARGS ?=

.PHONY: venv demo test test-all lint bench wheel-check clean docs

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c $(CONSTRAINTS) torch
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[test,demo,trees]"
	touch $(STAMP)

demo: venv
	$(PY) -m xplain.demo

test: venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check xplain tests benchmarks scripts examples

# Builds the sdist and wheel into a temporary folder, checks their metadata and contents,
# installs the wheel (torch first, then the wheel with its demo extra, both under
# $(CONSTRAINTS)) into a fresh venv, and runs `xplain --version` and `xplain demo` there
# from outside the repository. Takes about 2.5 minutes here (2 cores, local package index).
wheel-check: venv
	$(PY) scripts/wheel_check.py

bench: venv
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[bench]"
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info out

docs: venv
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site
