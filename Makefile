# Two commands matter: `make demo` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
PORT ?= 8000
export PORT

.PHONY: demo test bench install assets lint format lock clean

## demo: install, migrate, load demo data, run web + worker + beat (embedded default)
demo: install var/secret_key
	DEBUG=$${DEBUG:-false} HTTPS=$${HTTPS:-false} SECRET_KEY_FILE=$${SECRET_KEY_FILE:-var/secret_key} \
	METRICS_ALLOWED_IPS=$${METRICS_ALLOWED_IPS:-127.0.0.1,::1} RUM_DEMO_PAGE=$${RUM_DEMO_PAGE:-true} \
	ALERTS_ALLOWED_NETWORKS=$${ALERTS_ALLOWED_NETWORKS:-127.0.0.1/32,::1/128} \
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} \
	$(BIN)/python manage.py demo

## test: install and run the whole suite (lint, migrations check, tests)
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

## bench: run every benchmark under tests/bench (prints BENCH lines)
bench: install
	$(BIN)/python -m tests.bench

install: $(VENV)/.installed assets

# The virtualenv, synced to the hashed lock whenever the lock changes.
$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: requirements-dev.txt | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements-dev.txt
	touch $@

# Front-end assets built from npm packages (added by the apps that need them).
assets: static/rum/rum.js

# npm packages, reinstalled from the lock whenever it changes.
node_modules/.installed: package.json package-lock.json
	npm ci --loglevel=error
	touch $@

# The RUM script: our loader bundled with web-vitals (esbuild).
static/rum/rum.js: node_modules/.installed rum/js/rum.js rum/js/build.mjs
	node rum/js/build.mjs

var/secret_key:
	mkdir -p var
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## lock: re-resolve requirements*.txt from pyproject.toml (pinned, with hashes)
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --no-header --quiet -o requirements.txt
	$(BIN)/uv pip compile pyproject.toml --group dev --universal --python-version 3.11 \
		--generate-hashes --no-header --quiet -o requirements-dev.txt

clean:
	rm -rf $(VENV) node_modules var
