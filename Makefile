# The two commands: `make demo` runs the whole product on the embedded default,
# `make test` runs the test suite. Both create the virtual environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast test-spark ui validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/connect-pipeline demo

# One worker per core; a test file stays on one worker, so its module fixtures are built once.
# A test run starts dozens of Python processes (workers, CLI, Dagster webserver, daemon and run
# workers); each recompiled the project's modules where the environment forbids bytecode caches
# (PYTHONDONTWRITEBYTECODE), about 9 s of the fast loop. Caches go to __pycache__ (ignored).
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n auto --dist loadfile

test: $(STAMP)
	$(PYTEST)

# Everything but the whole-Dagster-run tests (marked slow): the edit-test loop.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow and not spark"

# The Spark backend's agreement tests (local mode, Java 17): slow, so not part of `make test`.
test-spark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	$(BIN)/python -m pytest -q -m spark

ui: $(STAMP)
	$(BIN)/connect-pipeline demo --ui

validate: $(STAMP)
	$(BIN)/dagster definitions validate -w workspace.yaml

clean:
	rm -rf .data
