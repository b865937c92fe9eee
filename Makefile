# Casework: two commands for a newcomer. `make run` serves the app with demo
# data; `make test` runs the suite. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PASSWORD ?= casework-demo-2026
export DEBUG ?= 1

.PHONY: run test install migrate seed serve worker build static lint check clean system-deps messages bench restore-drill deploy-rehearsal

# Browser tests drive Debian's Chromium (Playwright cannot download browsers
# here). Installed once, when missing, if we may use apt-get.
CHROMIUM := /usr/bin/chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo --if-empty --password "$(DEMO_PASSWORD)"

run: seed
	@echo ""
	@echo "Casework is starting on http://127.0.0.1:8000/"
	@echo "Demo logins (password: $(DEMO_PASSWORD)):"
	@echo "  demo-admin, demo-coordinator, demo-caseworker, demo-caseworker2"
	@echo "Background jobs (imports, big exports, PDF reports) run on a worker started beside it."
	@echo ""
	@$(BIN)/python manage.py jobs_worker --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# Production static files: hashed, compressed copies in STATIC_ROOT for whitenoise.
# Collected when the code or the requirements change (`make build`, or the first
# `make serve` after a `git pull`), not at every start. Needs no SECRET_KEY.
STATIC_ROOT ?= staticfiles
STATIC_MANIFEST := $(STATIC_ROOT)/staticfiles.json
STATIC_SOURCES := $(shell find static -type f)

$(STATIC_MANIFEST): $(STAMP) $(STATIC_SOURCES)
	DEBUG=0 $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	touch $@

static: $(STATIC_MANIFEST)

# What an install or an upgrade builds before (re)starting (docs/deploy.md).
build: install static

# Production: gunicorn on PostgreSQL, behind the TLS proxy of docs/deploy.md.
# Needs SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL (the app's role) in the
# environment. Migrations are not run here: the app's role may not change the
# tables; the owner runs them first (docs/deploy.md, "Migrate").
serve: export DEBUG = 0
serve: export DATABASE_POOL ?= 1
serve: build
	@case "$$DATABASE_URL" in postgres*) ;; *) \
		echo "make serve runs on PostgreSQL: set DATABASE_URL=postgres://... (docs/deploy.md)"; exit 1;; esac
	$(BIN)/python manage.py check --deploy
	@$(BIN)/python manage.py migrate --check >/dev/null || { \
		echo "make serve: migrations are waiting; run them as the tables' owner first (docs/deploy.md, 'Migrate')"; exit 1; }
	exec $(BIN)/gunicorn --config config/gunicorn.conf.py config.wsgi

# Production background jobs: run as their own service beside `make serve`, one or
# more per machine, on as many machines as wanted (docs/jobs.md). Same environment.
worker: export DEBUG = 0
worker: install
	exec $(BIN)/python manage.py jobs_worker

# Backups: dump, restore into a scratch database, check it (docs/backup.md).
restore-drill: install
	scripts/restore_drill.sh

# docs/deploy.md and docs/backup.md followed step by step on a scratch PostgreSQL
# (scripts/deploy_rehearsal.sh; CI runs it).
deploy-rehearsal: install
	scripts/deploy_rehearsal.sh

$(CHROMIUM):
	@if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Browser tests need Chromium: run 'sudo apt-get install -y chromium' once."; exit 1; \
	fi

# The PDF tests read the reports back as text (pdftotext, from poppler-utils).
PDFTOTEXT := /usr/bin/pdftotext

$(PDFTOTEXT):
	@if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	else \
		echo "The PDF tests read PDFs with pdftotext: run 'sudo apt-get install -y poppler-utils' once."; exit 1; \
	fi

system-deps: $(CHROMIUM) $(PDFTOTEXT)

test: install system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Recompile the Khmer catalogue after editing locale/km/LC_MESSAGES/django.po
# (needs GNU gettext). The compiled .mo is committed, so a run needs nothing.
messages: install
	$(BIN)/python manage.py makemessages -l km --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages -l km --ignore=.venv

lint: install
	$(BIN)/ruff check .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache db.sqlite3

# Benchmark at scale on PostgreSQL (bench/README.md): BENCH_SIZE=S|M|L,
# DATABASE_URL must point at PostgreSQL.
# wrk (Debian's package) loads the case list over HTTP; installed when missing.
BENCH_SIZE ?= S
WRK := /usr/bin/wrk

$(WRK):
	@if [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else \
		echo "make bench loads the case list with wrk: run 'sudo apt-get install -y wrk' once."; exit 1; \
	fi

bench: install $(WRK)
	BENCH_SIZE=$(BENCH_SIZE) $(BIN)/python -m bench
