# Campaign Review Workbook — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# system packages: installed once per machine (.ci/sysdeps.sh writes the same stamp)
SYSDEPS_STAMP := .sysdeps-stamp

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# the exact versions of requirements.lock, then the package itself without resolving again
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP) $(SYSDEPS_STAMP) ## create .venv from requirements.lock (and system packages, once)
	@true

$(SYSDEPS_STAMP): .ci/sysdeps.sh
	@bash .ci/sysdeps.sh

sysdeps: ## install system packages when missing and root: CJK font (charts), Chromium (browser tests), Java (Spark)
	@bash .ci/sysdeps.sh

lock: $(STAMP) ## refresh requirements.lock from pyproject.toml (newest versions within its bounds)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --extra test --extra spark --strip-extras --no-emit-index-url \
	  --no-emit-trusted-host --no-emit-find-links --quiet -o requirements.lock pyproject.toml

demo: setup ## build the demo store and render the demo reports into outputs/
	$(VENV)/bin/review demo

test: setup ## run the whole test suite (unit, notebooks, browser, Spark) in random order
	$(PY) -m pytest

test-fast: setup ## the edit loop: everything but Spark and the browser
	$(PY) -m pytest -m "not spark and not browser"

lint: setup ## ruff over src, tests and benchmarks
	$(VENV)/bin/ruff check src tests benchmarks

lab: setup ## open JupyterLab on notebooks/ with the project's environment as kernel
	$(VENV)/bin/jupyter lab notebooks/

bench: setup ## run every benchmark (slow; prints figures)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: ## remove what the demo generated: its store and the outputs (keeps .venv and your data)
	rm -f data/demo.duckdb data/demo.duckdb.wal data/demo.duckdb.args.json
	find outputs -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache

.PHONY: help setup sysdeps lock demo test test-fast lint lab bench clean
