# Every target bootstraps .venv by itself: a fresh clone needs only python3 and make.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3
# Test processes for `make test` (pytest-xdist; each has its own PostgreSQL and Redis database).
TEST_WORKERS ?= 2

.PHONY: install run test test-fast lint format bench bench-peer docs clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[postgres,redis,documents,dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: the embedded default (SQLite, in-process cache and jobs, offline answerer) with a demo
run: install
	$(VENV)/bin/porch serve --demo --host 127.0.0.1 --port 8000

## make test: the whole suite, on SQLite and on the real PostgreSQL and Redis, browsers included
test: install
	@bash scripts/ensure-services.sh
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

## make test-fast: everything but the slow suites (real processes and browsers)
test-fast: install
	$(VENV)/bin/pytest -m "not slow"

lint: install
	$(VENV)/bin/ruff check src tests bench migrations
	$(VENV)/bin/ruff format --check src tests bench migrations
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix src tests bench migrations
	$(VENV)/bin/ruff format src tests bench migrations

bench: install
	@bash scripts/ensure-services.sh --bench
	$(PY) -m bench.chat

## make bench-peer: porch beside Spur on the same work (needs SPUR_DIR; see bench/peer.py)
bench-peer: install
	@bash scripts/ensure-services.sh --bench
	$(PY) -m bench.peer $(PEER_ARGS)

## docs/configuration.md is generated from the settings class; a test fails when it is stale
docs: install
	$(PY) -m porch.settings_doc > docs/configuration.md

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
