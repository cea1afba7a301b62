# Campaign Review Workbook — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,spark]'
	@touch $(STAMP)

setup: $(STAMP) sysdeps ## create .venv and install the package with its dependencies
	@true

sysdeps: ## install system packages when missing and root: CJK font (charts), Chromium (browser tests), Java (Spark)
	@bash .ci/sysdeps.sh

demo: setup ## build the demo store and render the demo reports into outputs/
	$(VENV)/bin/review demo

test: setup ## run the whole test suite (unit, notebooks, browser, Spark)
	$(PY) -m pytest

lint: setup ## ruff over src, tests and benchmarks
	$(VENV)/bin/ruff check src tests benchmarks

lab: setup ## open JupyterLab on notebooks/ with the project's environment as kernel
	$(VENV)/bin/jupyter lab notebooks/

bench: setup ## run every benchmark (slow; prints figures)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: ## remove generated data and outputs (keeps .venv)
	rm -rf data outputs/* .pytest_cache

.PHONY: help setup sysdeps demo test lint lab bench clean
