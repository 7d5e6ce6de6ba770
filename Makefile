# SkillCert — two commands on a fresh machine: `make run` and `make test`.
PY      ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
DATA    ?= instance
HOST    ?= 127.0.0.1
PORT    ?= 5000
export SKILLCERT_DATA_DIR ?= $(abspath $(DATA))

.PHONY: run test test-fast test-scaled install install-test services bench clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	touch $@ $(VENV)/.installed

client/static/vendor/.installed: client/package.json client/vendor.sh
	bash client/vendor.sh

install: $(VENV)/.installed client/static/vendor/.installed
install-test: $(VENV)/.installed-test client/static/vendor/.installed

## make run: install, create/upgrade the database, load the demo if empty, serve at http://$(HOST):$(PORT)
run: install
	$(BIN)/skillcert init
	$(BIN)/skillcert demo --if-empty
	$(BIN)/skillcert serve --host $(HOST) --port $(PORT)

## make test: the whole suite. On SQLite always; again on PostgreSQL + Redis + a Celery worker
## when SKILLCERT_TEST_DATABASE_URL and SKILLCERT_TEST_REDIS_URL are set (as .ci/run does).
test: install-test
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -n "$$SKILLCERT_TEST_DATABASE_URL" ]; then \
	  echo "== scaled pass: PostgreSQL + Redis + Celery worker =="; \
	  SKILLCERT_TEST_PROFILE=scaled $(BIN)/python -m pytest -q -p no:cacheprovider -m "db or scaled" ; \
	else echo "(scaled pass skipped: SKILLCERT_TEST_DATABASE_URL not set; .ci/run sets it)"; fi

test-fast: install-test
	$(BIN)/python -m pytest -q -m "not slow and not browser"

## make services: start PostgreSQL and Redis on loopback for the scaled profile (Debian; root)
services:
	bash .ci/services.sh

bench: install-test
	$(BIN)/python -m bench.audit

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
