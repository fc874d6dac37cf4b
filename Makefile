# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
# honcho gives each Procfile entry its own PORT; the demo traffic needs web's.
export WEB_PORT ?= $(PORT)

.PHONY: run test lint typecheck pytest demo-user clean browser

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(BIN)/.dev-installed: requirements-dev.txt $(BIN)/.installed
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

## run: install, migrate, create the demo user, start web + worker + beat.
run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py create_demo_user
	$(BIN)/honcho -f Procfile start

## test: ruff, mypy, then pytest (on PostgreSQL and Redis when DATABASE_URL
## and REDIS_URL are set, and always on the embedded SQLite default).
test: lint typecheck pytest

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check .

typecheck: $(BIN)/.dev-installed
	$(BIN)/mypy .

pytest: $(BIN)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$DATABASE_URL$$REDIS_URL" ]; then \
		echo "--- again on the embedded default (SQLite, local cache)"; \
		env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL \
			$(BIN)/python -m pytest -m "sqlite" $(PYTEST_ARGS); \
	fi

## browser: install headless Chromium and its driver from the system's packages
## when missing (the dashboard's browser test drives them; needs root).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "chromium and chromedriver present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q chromium chromium-driver; \
	else \
		echo "install chromium and chromium-driver (the browser test skips without them)"; \
	fi

clean:
	rm -rf $(VENV) var build .pytest_cache .mypy_cache .ruff_cache
