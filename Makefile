# The two commands for a fresh machine are `make demo` and `make test`.
# `make demo` installs only the server extra; `make install` (used by `make test`) installs the
# development set. Each has its own stamp file, so both stay idempotent. `.venv` is the
# environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# LangGraph's JS SDK for tests/test_server_js_sdk.py, from tests/js/package-lock.json
JS_STAMP := tests/js/node_modules/.installed

.PHONY: install browser services test lint typecheck unit docs demo bench bench-server bench-scale \
	soak langgraph-suite store-suite clean

install: $(STAMP) $(JS_STAMP)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python >= 3.11 is required (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The development set: the server, PostgreSQL and Redis clients, LangGraph (benchmarks and
# compatibility tests), ruff, mypy, pytest, schemathesis, Playwright, MkDocs.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `npm ci` again only when the lock file changes (the stamp is newer than it otherwise).
$(JS_STAMP): tests/js/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 20 (for the JS SDK tests)"; exit 1; }
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

# What the demo needs: scopegraph with its server extra, and langchain-core so that the chat
# demo streams its tokens; nothing else (the venv's own pip installs it; upgrading pip first
# would add seconds to the first start).
$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[server,langchain]'
	touch $(DEMO_STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=src $(BIN)/lint-imports --no-logo

typecheck: install
	$(BIN)/mypy

# The playground test drives Debian's Chromium headless (Playwright never downloads one).
browser:
	@if [ -x /usr/bin/chromium ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium (for the playground test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "Chromium is missing: install the Debian package 'chromium' (/usr/bin/chromium)"; \
	  exit 1; \
	fi

# The suite starts throwaway PostgreSQL and Redis servers from the installed binaries.
services:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
	  echo "PostgreSQL server binaries (initdb) are missing: install the Debian package 'postgresql'"; \
	  exit 1; \
	fi
	@if command -v redis-server >/dev/null 2>&1; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing the Redis server (Debian package redis-server)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	else \
	  echo "redis-server is missing: install the Debian package 'redis-server'"; \
	  exit 1; \
	fi

unit: install services browser
	$(BIN)/pytest

# The documentation site (MkDocs + Material + mkdocstrings) into site/; warnings are
# errors, so a broken link or reference fails the build. `$(BIN)/mkdocs serve` serves it.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs unit

# The run server with the example graphs and the playground page at http://127.0.0.1:8000
demo: $(DEMO_STAMP)
	$(BIN)/scopegraph serve --host 127.0.0.1 --port 8000 \
	  --graph agent=examples/server_graph.py:graph \
	  --graph approval=examples/server_graph.py:approval \
	  --graph chat=examples/server_graph.py:chat \
	  --graph pipeline=examples/server_graph.py:pipeline

bench: install
	$(BIN)/python -m benchmarks

# scopegraph serve against the LangGraph + FastAPI seed app: SSE clients on loopback
# (1000 at once), events/s, latency, RSS, and node cleanups after a disconnect storm.
bench-server: install
	$(BIN)/python -m benchmarks.server

# The scale-out server (API + 1 or 2 worker processes, PostgreSQL queue, Redis streams)
# against the single-process server: runs/s, events/s, added latency per event. Needs
# the PostgreSQL server on 127.0.0.1:5432 (or SCOPEGRAPH_BENCH_PG) and redis-server.
bench-scale: install services
	$(BIN)/python -m benchmarks.scale

# Memory soak of one server: 20,000 runs over 2,000 threads, RSS every 5,000 runs.
soak: install
	$(BIN)/python -m benchmarks.soak

# LangGraph's own test suite (the sdist of the pinned version, in .cache/) on LangGraph and,
# with the public-API imports rewritten, on scopegraph; writes docs/langgraph-suite.md.
# ARGS=--update adds the tests that now pass to tests/langgraph_suite_passing.txt.
langgraph-suite: install
	$(BIN)/python -m tools.langgraph_suite $(ARGS)

# LangGraph's store tests (langgraph-checkpoint, langgraph-checkpoint-sqlite sdists) on
# LangGraph's stores and on scopegraph's; prints the pass counts (docs/store.md).
store-suite: install
	$(BIN)/python -m tools.store_suite $(ARGS)

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache
