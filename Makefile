# Quickstart: `make demo` runs the end-to-end demo on the in-process chain,
# `make test` runs the whole test suite. Each sets up what it needs on first
# use (a project venv from pyproject.toml, `npm ci` from package-lock.json)
# and skips that when it is already up to date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# two workers (pytest-xdist), whole files each: module fixtures (a deployed stack, a node) stay in one process
PYTEST_WORKERS ?= -n 2 --dist loadfile

.PHONY: setup demo serve test bench gas bench-service artifacts slither clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/python scripts/demo.py

serve: setup
	$(BIN)/rwa serve --demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

# After editing contracts/: regenerate the compiled stack shipped in the package (tests/test_shipped.py checks it).
artifacts: setup
	$(BIN)/python -m rwaledger.shipped

# Static analysis: slither over contracts/, in its own venv (slither-analyzer pins web3 < 8; the project needs 8);
# fails on a high or medium finding not accepted in contracts/slither-triage.toml (.ci/run runs it).
SLITHER_VENV := build/venv-slither
SLITHER_PINS := slither-analyzer==0.11.6 crytic-compile==0.4.2 solc-select==1.2.0

$(SLITHER_VENV)/.installed: Makefile
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(SLITHER_PINS)
	touch $@

slither: setup $(SLITHER_VENV)/.installed
	$(BIN)/python scripts/slither_check.py

bench: setup
	$(BIN)/python scripts/bench_compile.py

gas: setup
	$(BIN)/python scripts/gas_report.py

bench-service: setup
	$(BIN)/python scripts/bench_service.py

clean:
	rm -rf build .pytest_cache
