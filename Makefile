# One command sets up from nothing and runs the main job; one sets up and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-all test-heavy lint
setup: $(VENV)/.installed
# uv installs the same versions as pip, faster (README: set-up times). It is told pip's own config, so
# torch's CUDA wheels come from this machine's disk (pip's extra indexes, which take priority for a release both
# have) and the cap in pip's constraint file holds (torch<=2.14.1); where uv cannot be had or fails, pip installs.
PIP_CONFIG = $(PY) -m pip config list 2>/dev/null | sed -n "s/^[^.]*\.$(1)='\(.*\)'$$/\1/p"
UV_ARGS = --index-strategy unsafe-best-match --compile-bytecode \
	$(foreach i,$(shell $(call PIP_CONFIG,extra-index-url)),--index $(i)) \
	$(foreach c,$(shell $(call PIP_CONFIG,constraint)),--constraint $(c))
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv && \
	  $(BIN)/uv pip install -q --python $(BIN)/python $(UV_ARGS) -e '.[test]' || { \
	  echo "uv could not be installed or failed; installing with pip"; \
	  $(BIN)/pip install -q --disable-pip-version-check -e '.[test]'; }
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
