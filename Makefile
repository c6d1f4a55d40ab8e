# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-true}

.PHONY: run test bench lint format migrate demo clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.runtime-installed

var:
	mkdir -p var

migrate: $(VENV)/.runtime-installed | var
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

demo: migrate
	$(DEV_ENV) $(BIN)/python manage.py load_demo

## Install, migrate, load the demo data; serve the portal at http://127.0.0.1:8000 with the sandbox and a worker
run: demo
	$(DEV_ENV) $(BIN)/python manage.py devserver

## Install what the tests need and run the whole suite
test: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Run every benchmark; each ends with a RESULT line
bench: $(VENV)/.test-installed
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## Update the Dutch and French catalogs (locale/) from the code and compile them (needs GNU gettext)
messages: $(VENV)/.test-installed
	$(DEV_ENV) $(BIN)/python manage.py makemessages -l nl -l fr --no-obsolete --add-location=file \
		-i ".venv/*" -i "var/*" -i "tests/*" -i "benchmarks/*" -i "docs/*"
	$(DEV_ENV) $(BIN)/python manage.py compilemessages -l nl -l fr --ignore ".venv/*"

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/*.sqlite3* var/sandbox .pytest_cache
