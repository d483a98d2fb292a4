# Two commands on a fresh machine: `make run` (the demo) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Embedded default for the demo: SQLite, in-process tasks, emails in var/mail/.
# The demo's downstream systems live on this machine: its CRM on 127.0.0.1, its shop in var/.
# With a broker (REDIS_URL in .env) it starts the workers too: the default queue's and the
# outbox's own (`messages`), as in production.
RUN_ENV = DEBUG=1 DJANGO_SETTINGS_MODULE=config.settings DSAR_PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) \
	DSAR_DOWNSTREAM_ALLOWED_HOSTS=127.0.0.1 DSAR_DOWNSTREAM_ALLOWED_PATHS=var
DEMO_CRM_PORT = $(shell echo $$(( $(PORT) + 1 )))
TEST_ENV := DJANGO_SETTINGS_MODULE=config.test_settings
# pytest-xdist processes; each has its own test database, Redis database and shop database.
TEST_WORKERS ?= 2

.PHONY: run test install install-dev messages services lint fmt bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Secrets of this checkout, generated once; never committed (see .gitignore).
.env: | $(BIN)/python
	$(BIN)/python .ci/make_env.py > $@

install: $(VENV)/.runtime .env messages
install-dev: $(VENV)/.dev .env messages

# Compiled translations are build output (see .gitignore); msgfmt comes from GNU gettext.
messages: .env | $(BIN)/python
	@command -v msgfmt >/dev/null || bash .ci/ensure-gettext
	DJANGO_SETTINGS_MODULE=config.settings $(BIN)/python manage.py compilemessages --ignore=.venv -v 0

run: install
	mkdir -p var/mail
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py createcachetable
	$(RUN_ENV) $(BIN)/python manage.py seed_demo --downstream-port $(DEMO_CRM_PORT)
	@echo
	@echo "  Subject portal:  http://127.0.0.1:$(PORT)/"
	@echo "  Staff queue:     http://127.0.0.1:$(PORT)/staff/   (logins above)"
	@echo "  API docs:        http://127.0.0.1:$(PORT)/api/v1/docs/"
	@echo "  Admin:           http://127.0.0.1:$(PORT)/admin/"
	@echo "  Health:          http://127.0.0.1:$(PORT)/healthz"
	@echo "  Emails:          var/mail/   (text messages: var/sms/)"
	@echo "  Demo downstream: demo-shop (var/demo_shop.sqlite3), demo-crm (127.0.0.1:$(DEMO_CRM_PORT)),"
	@echo "                   demo-partner (its emails in var/mail/), demo-backups (deletion ledger)"
	@echo
	trap 'kill 0' EXIT INT TERM; \
	if [ "$$($(RUN_ENV) $(BIN)/python manage.py shell -v 0 -c 'from django.conf import settings; print(int(settings.CELERY_TASK_ALWAYS_EAGER))')" = 0 ]; then \
		$(RUN_ENV) $(BIN)/celery -A config worker -Q celery -n default@%h --loglevel=INFO & \
		$(RUN_ENV) $(BIN)/celery -A config worker -Q messages -n messages@%h --concurrency=2 --loglevel=INFO & \
	fi; \
	$(RUN_ENV) $(BIN)/celery -A config beat --loglevel=INFO & \
	$(RUN_ENV) $(BIN)/python manage.py demo_downstream --port $(DEMO_CRM_PORT) & \
	$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT) --noreload & \
	wait

services:
	bash .ci/ensure-services

test: install-dev services
	bash .ci/ensure-browser
	$(TEST_ENV) $(BIN)/pytest -n $(TEST_WORKERS)

# Benchmarks: every bench/*.py against real PostgreSQL and Redis; each prints its own ratios.
bench: install-dev services
	@for script in bench/[!_]*.py; do echo "== $$script"; $(TEST_ENV) $(BIN)/python $$script || exit 1; done

# ruff, then the layer contracts of pyproject.toml (import-linter): an upward import or a
# circle between parts fails the build.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
