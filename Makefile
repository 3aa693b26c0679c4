# Sipanah: `make run` sets up a fresh machine and serves on the embedded database (SpatiaLite);
# `make test` sets up and runs the whole suite. HOST and PORT override the address.
HOST ?= 127.0.0.1
PORT ?= 8000
PY := .venv/bin/python
DEMO_COUNT ?= 2000
export SIPANAH_DEBUG ?= 1

.PHONY: setup run demo test lint format lock messages

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py load_reference_data
	SIPANAH_DEMO=1 $(PY) manage.py create_demo_users
	SIPANAH_DEMO=1 $(PY) manage.py generate_demo_assets --count $(DEMO_COUNT) --seed 1 --if-empty
	$(PY) manage.py ledger_sample var/demo-official-kib-a.csv  # an official export to try a reconciliation (/ledger/)
	SIPANAH_DEMO=1 $(PY) manage.py create_demo_campaign

run: demo
	@echo "Sipanah on http://$(HOST):$(PORT)/  (demo users: officer, bpkad, auditor, planner, admin; password sipanah-demo)"
	@# The import worker (web uploads) runs in the background and stops when runserver does.
	@$(PY) manage.py run_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (lint and format), the rooms' one-way imports (import-linter, pyproject [tool.importlinter]) and the type check
# of the register core and the shared lib (mypy, pyproject [tool.mypy]).
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PYTHONPATH=. .venv/bin/lint-imports --no-cache
	$(PY) -m mypy

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

messages: setup
	$(PY) manage.py makemessages -l id -l en --ignore=.venv --ignore=var --ignore=bench --ignore=tests

lock: setup
	$(PY) -m pip freeze --local --exclude-editable | grep -v '^-e' > requirements.lock.new && mv requirements.lock.new requirements.lock
