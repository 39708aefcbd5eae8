# The two commands of the README: `make demo` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/.state/dagster_home

.PHONY: demo test dev bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

## Generate demo data (once), run every monitor for every demo day, send alerts, print the report path.
demo: $(STAMP)
	$(BIN)/monitoring-jobs demo

## Install with test extras and run the whole test suite.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest

## Open the Dagster UI on http://127.0.0.1:3000 with the project's persistent DAGSTER_HOME.
dev: $(STAMP)
	$(BIN)/monitoring-jobs dagster-home
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## Benchmarks against the scan floor, Evidently and NannyML (about an hour; see bench/README.md).
bench: $(STAMP)
	$(BIN)/python -m bench pipeline

clean:
	rm -rf .state reports/*/ reports/index.html data
