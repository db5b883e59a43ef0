# Two entry points: `make run` (set up and open the chat page) and `make test` (set up and run
# lint + the whole test suite). Both create .venv from nothing; re-running is cheap.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench clean setup setup-dev setup-spark browser java redis

run: setup
	$(BIN)/assistant serve

# The Spark engine's tests run too: pyspark (the [spark] extra) and Java are installed, and
# ASSISTANT_REQUIRE_SPARK makes a missing pyspark fail the run instead of skipping its tests.
test: setup-dev setup-spark browser redis
	$(BIN)/ruff check .
	ASSISTANT_REQUIRE_SPARK=1 $(BIN)/pytest

lint: setup-dev
	$(BIN)/ruff check .

bench: setup-dev
	$(BIN)/python bench/generate_bench.py

# Spark needs a Java runtime (17 or 21); Debian's headless JRE is enough.
java:
	@command -v java >/dev/null || { echo "Installing Java for the Spark engine"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }

setup-spark: $(VENV)/.stamp-spark java

$(VENV)/.stamp-spark: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e ".[dev,spark]"
	touch $@

# The browser tests drive Debian's chromium (playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-noto-color-emoji; }

# The broker tests start Debian's redis-server on a free 127.0.0.1 port (and stop it).
redis:
	@command -v redis-server >/dev/null || { echo "Installing Debian's redis-server for the broker tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends redis-server; }

setup: $(VENV)/.stamp-run
setup-dev: $(VENV)/.stamp-dev

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (apt-get install python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { \
	  echo "venv is missing: installing python3-venv with apt-get"; rm -rf $(VENV); \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv && \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.stamp-run: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.stamp-run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
