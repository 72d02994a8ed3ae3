# The README's two commands: `make run` serves the portal, `make test` runs every check.
# Both set up what they need themselves: a virtual environment in .venv and, for the tests,
# Debian's Chromium and PostgreSQL when they are missing and the machine allows installing them.

VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
APP := rfp_portal

.PHONY: run test lint format system-deps clean

$(BIN)/python:
	python3 -m venv $(VENV)

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.run-deps

# The web server and the outbox sender, side by side (Procfile); with no MAIL_URL every e-mail
# lands as a file in instance/mail.
run: $(VENV)/.run-deps
	$(BIN)/flask --app $(APP) db upgrade
	$(BIN)/flask --app $(APP) db rerender
	$(BIN)/flask --app $(APP) demo-data --if-empty
	@echo "Serving the RFP Portal on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	@echo "E-mail: $${MAIL_URL:-written as .eml files into instance/mail/}"
	PATH="$(abspath $(BIN)):$$PATH" PORT=$(PORT) WORKERS=$(WORKERS) \
		PUBLIC_URL="$${PUBLIC_URL:-http://127.0.0.1:$(PORT)}" \
		exec $(BIN)/honcho start --no-colour -p $(PORT) -f Procfile

system-deps:
	@scripts/install-system-deps

test: $(VENV)/.test-deps system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
