# Tend: `make run` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HELM_VENV ?= .venv-helm
HELM_PYTHON ?= PYENV_VERSION=3.12.1 python3.12
LOCK_VENV ?= .venv-lock
UV_VERSION ?= 0.13.9
UV := $(LOCK_VENV)/bin/uv
UV_COMPILE := $(UV) pip compile --quiet --python-platform linux --generate-hashes --custom-compile-command "make lock"
IMAGE ?= tend:$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

.PHONY: install lock run test pytest lint services helm-venv helm-lint helm-check bench image image-test clean

# Exactly what was tested: the pinned, hashed lock, then Tend itself without dependencies.
install: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Re-pin after editing pyproject.toml's dependencies or scripts/helm-tools.in. Pins already in
# a lock are kept unless they must move; `make lock UPGRADE=--upgrade` moves everything.
lock: $(LOCK_VENV)/.installed
	$(UV_COMPILE) $(UPGRADE) --python-version 3.11 pyproject.toml --extra dev -o requirements-dev.lock
	$(UV_COMPILE) --python-version 3.11 pyproject.toml -c requirements-dev.lock -o requirements.lock
	$(UV_COMPILE) $(UPGRADE) --python-version 3.12 scripts/helm-tools.in -o requirements-helm.lock

$(LOCK_VENV)/.installed:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q uv==$(UV_VERSION)
	touch $@

# The chart checks need Python >= 3.12 (Helm's Go library); without it they are skipped, but not in CI.
$(HELM_VENV)/.installed: requirements-helm.lock
	$(HELM_PYTHON) -m venv $(HELM_VENV)
	$(HELM_VENV)/bin/pip install -q --require-hashes -r requirements-helm.lock
	touch $@

helm-venv:
	@if $(HELM_PYTHON) --version >/dev/null 2>&1; then $(MAKE) --no-print-directory $(HELM_VENV)/.installed; \
	elif [ "$$CI" = true ]; then echo "helm-venv: Python 3.12 is required in CI ($(HELM_PYTHON) not found)" >&2; exit 1; \
	else echo "SKIPPED chart checks (helm lint/render/validate/policy): no Python 3.12; install it (e.g. 'pyenv install 3.12.1') and rerun"; fi

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

test: pytest image-test

pytest: install services helm-venv
	$(PY) -m pytest $(PYTEST_ARGS)

helm-lint: $(HELM_VENV)/.installed
	$(HELM_VENV)/bin/python scripts/helm_lint.py

# Render every ci/ scenario, validate it for each Kubernetes version the chart claims, check policy.
helm-check: $(HELM_VENV)/.installed
	$(HELM_VENV)/bin/python scripts/helm_render.py

bench: install services
	$(PY) -m bench

# The production image, with whichever builder is here (buildah, podman or docker). Where no
# registry is reachable, build on the base `make image-test` made: make image BASE=localhost/tend-base:bookworm
image:
	bash scripts/image.sh build $(IMAGE)

# Builds the image on a base made here (debootstrap) and runs a journey through real containers.
image-test: install services
	bash scripts/image.sh test $(IMAGE)-test

clean:
	rm -rf $(VENV) $(HELM_VENV) $(LOCK_VENV) var .pytest_cache
