# bouncer — `make help` lists the targets.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
# The console's browser tests drive Debian's Chromium (apt-get install chromium); they skip
# without it unless REQUIRE_BROWSER is set. Playwright never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# Use uv from PATH when there is one, else bootstrap it into the virtualenv with pip.
UV := $(or $(shell command -v uv 2>/dev/null),$(BIN)/uv)
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# `make test` draws the same Hypothesis examples on every run and machine, so what fails
# in CI fails the same way here. Fresh random examples: `make test HYPOTHESIS_SEED=` (or
# plain `.venv/bin/pytest`); another fixed draw: `make test HYPOTHESIS_SEED=7`.
HYPOTHESIS_SEED ?= 0
SEEDED = $(if $(HYPOTHESIS_SEED),--hypothesis-seed=$(HYPOTHESIS_SEED))
# The suite runs in PYTEST_WORKERS processes (pytest-xdist), one per core of CI's 2: each
# test makes its own database and takes free ports, so the workers share nothing; the
# idle worker takes over a busy one's queue (worksteal). One process: PYTEST_WORKERS=0.
PYTEST_WORKERS ?= 2
PARALLEL = $(if $(PYTEST_WORKERS),-n $(PYTEST_WORKERS) --dist worksteal)
# Python keeps compiled modules for the test runs: with PYTHONDONTWRITEBYTECODE set (as on
# some machines) each worker and each `bouncer` child would compile every import afresh.
TEST_ENV = env -u PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help install run serve test test-sqlite test-pg test-browser screenshot lint fmt typecheck check migrate revision reliability bench bench-full mutation clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/uv:
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --inexact
	@touch $@

install: $(VENV)/.installed ## Create .venv and install bouncer with its dev tools (uv.lock)

# Serving needs the runtime dependencies only (~50 packages), not the dev tools (~130).
# --inexact keeps the dev tools when `make install` put them there first.
$(VENV)/.installed-run: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --inexact
	@touch $@

run: $(VENV)/.installed-run ## Run the service on the embedded default (SQLite under ./data), by default at http://127.0.0.1:8000 (HOST, PORT)
	$(BIN)/bouncer serve --host $(HOST) --port $(PORT)

serve: run

test: install ## Run the suite on SQLite, then on PostgreSQL (TEST_DATABASE_URL, or a local server if one answers)
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ] || $(BIN)/python -m tests.pg_probe "$(PG_URL)"; then \
		$(MAKE) --no-print-directory test-pg; \
	else \
		echo "PostgreSQL: no server at $(PG_URL) and TEST_DATABASE_URL unset: skipped the PostgreSQL run"; \
		if [ -n "$$REQUIRE_POSTGRES" ]; then exit 1; fi; \
	fi

test-sqlite: install ## Run the suite on SQLite only
	@echo "== tests on SQLite"
	$(TEST_ENV) -u TEST_DATABASE_URL $(BIN)/pytest $(SEEDED) $(PARALLEL) --cov=app --cov-report=term:skip-covered --cov-fail-under=85 $(PYTEST_ARGS)

test-pg: install ## Run the suite on PostgreSQL only (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
	@echo "== tests on PostgreSQL"
	$(TEST_ENV) TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(PG_URL)}" $(BIN)/pytest $(SEEDED) $(PARALLEL) $(PYTEST_ARGS)

test-browser: install ## Only the console's tests in Chromium (tests/browser; TEST_DATABASE_URL for PostgreSQL); screenshots to BOUNCER_ARTEFACTS
	$(TEST_ENV) $(BIN)/pytest $(PARALLEL) tests/browser $(PYTEST_ARGS)

screenshot: install ## Regenerate docs/console-overview.png (the README's) from a live bouncer seeded with a month of mail
	$(BIN)/python -m tests.browser.screenshot docs/console-overview.png

lint: install ## ruff check, ruff format --check, and the layer contracts (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m tests.module_sizes app 300

fmt: install ## Format and autofix with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy --strict
	$(BIN)/mypy

check: lint typecheck test ## Everything CI runs

migrate: install ## Upgrade the configured database to the newest migration
	$(BIN)/bouncer db upgrade

revision: install ## New migration: make revision m="add thing"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

RELIABILITY_REPORT ?= reliability-report.jsonl
reliability: install ## Reliability suites on PostgreSQL (~20-45 min): forgery corpus, 100,000 fuzzed /sns bodies, schema fuzz, outages, 10,000-notification replicas, two SQS consumers (one killed, the database cut), 10-min soak; prints the figures
	@rm -f $(RELIABILITY_REPORT)
	RELIABILITY_REPORT="$(abspath $(RELIABILITY_REPORT))" \
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(PG_URL)}" \
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-33334} REPLICA_NOTIFICATIONS=$${REPLICA_NOTIFICATIONS:-10000} \
	SOAK_SECONDS=$${SOAK_SECONDS:-600} SCHEMA_EXAMPLES=$${SCHEMA_EXAMPLES:-200} \
	$(BIN)/pytest -m "reliability or slow" $(PYTEST_ARGS)
	@$(BIN)/python -m tests.figures $(RELIABILITY_REPORT)

bench: install ## Quick benchmark (~10 min): ingest vs two floors, the batch API, send path, bulk check, list import/export at 1,000,000 rows, each by its target
	$(BIN)/python -m bench.run --quick

bench-full: install ## Full benchmark: 5 runs, 20 s fixed-rate runs, 1,000,000 suppression rows, 1,000,000-row import/export, lookups at 10,000,000 rows
	$(BIN)/python -m bench.run --full

mutation: install ## Mutation-test the suppression policy with mutmut (~2 min): the score, then any survivor (`mutmut show NAME`)
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json && echo
	$(BIN)/mutmut results

clean: ## Remove the virtualenv and caches (not ./data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
