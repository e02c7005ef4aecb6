# One command sets up from nothing and runs the main job; one sets up and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-all test-heavy lint
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(BIN)/flickr-mammal demo

# fast tier: under 3 minutes on 2 cores
test: setup
	$(BIN)/pytest -q -m 'not slow and not heavy'

# everything: the fast tier, the slow tests and the ones that start a Prefect server or a Dask cluster
test-all: setup lint
	$(BIN)/pytest -q

test-heavy: setup
	$(BIN)/pytest -q -m heavy

lint: setup
	$(BIN)/ruff check .
