# One command sets up from nothing and runs the main job; one sets up and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-heavy
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(BIN)/flickr-mammal demo

test: setup
	$(BIN)/pytest -q

test-heavy: setup
	$(BIN)/pytest -q -m heavy
