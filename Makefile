# The two commands for a fresh machine are `make demo` and `make test`.
# `make install` is the idempotent set-up they share; `.venv` is the environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser services test lint typecheck unit demo bench bench-server bench-scale clean

install: $(STAMP) browser

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python >= 3.11 is required (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Layer rules (.importlinter). Two contracts wait for the server rebuild: today's server
# code breaks them (server._cluster <-> server._app, and private core imports). At that
# merge, set IMPORT_CONTRACTS to empty so that every contract is checked.
IMPORT_CONTRACTS ?= --contract acyclic-core --contract layers --contract core-no-integrations

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo $(IMPORT_CONTRACTS)

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

unit: install services
	$(BIN)/pytest

test: lint typecheck unit

# The run server with the example graphs and the playground page at http://127.0.0.1:8000
demo: install
	$(BIN)/scopegraph serve --host 127.0.0.1 --port 8000 \
	  --graph agent=examples/server_graph.py:graph \
	  --graph approval=examples/server_graph.py:approval

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

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
