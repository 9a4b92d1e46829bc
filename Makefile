# Tend: `make run` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HELM_VENV ?= .venv-helm
HELM_PYTHON ?= PYENV_VERSION=3.12.1 python3.12

.PHONY: install run test lint services helm-lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(HELM_VENV)/.installed:
	$(HELM_PYTHON) -m venv $(HELM_VENV)
	$(HELM_VENV)/bin/pip install -q helm-sdkpy==0.1.32
	touch $@

run: install
	$(VENV)/bin/tend db upgrade
	$(VENV)/bin/tend up

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

services:
	bash scripts/services.sh

test: install services $(HELM_VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

helm-lint: $(HELM_VENV)/.installed
	$(HELM_VENV)/bin/python scripts/helm_lint.py

bench: install services
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(HELM_VENV) var .pytest_cache
