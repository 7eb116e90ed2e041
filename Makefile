# Two commands matter: `make run` serves Amparo, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export AMPARO_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test demo lint typecheck pytest pytest-postgres install install-dev system-deps messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip itself and the build backend, from their own lock: Python 3.11's pip mis-reads the lock
# files below. A stamp of its own, so that an existing .venv is brought up to date too.
$(VENV)/.installed-build: requirements/build.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/build.lock
	touch $@

$(VENV)/.installed-run: requirements/run.lock pyproject.toml $(VENV)/.installed-build
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/run.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: requirements/dev.lock pyproject.toml $(VENV)/.installed-build
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

# Debian packages the tests drive for real: Chromium for browser tests, age for
# the recovery path, gettext to compile translations.
system-deps:
	@sh scripts/install-system-deps.sh

run: install
	cd amparo && ../$(BIN)/amparo compilemessages --verbosity 0
	$(BIN)/amparo migrate --no-input
	$(BIN)/amparo loadstartercourse
	$(BIN)/amparo firstrun
	AMPARO_HTTPS=0 $(BIN)/amparo serve

demo: install
	$(BIN)/amparo migrate --no-input
	$(BIN)/amparo loaddemo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy amparo tests bench

pytest: install-dev system-deps
	cd amparo && ../$(BIN)/amparo compilemessages --verbosity 0
	$(BIN)/pytest

# The whole suite again on PostgreSQL, in a throwaway cluster the script starts and stops.
pytest-postgres: install-dev system-deps
	cd amparo && ../$(BIN)/amparo compilemessages --verbosity 0
	sh scripts/with-postgres.sh $(BIN)/pytest -p no:cacheprovider

test: install-dev system-deps lint typecheck pytest pytest-postgres

messages: install-dev
	cd amparo && ../$(BIN)/amparo makemessages --no-location -l es -l ar

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
