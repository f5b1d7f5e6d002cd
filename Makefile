# Guildhall — developer and CI entry points.
#
#   make install    venv + Python deps (pyproject.toml, extra "test") + bun
#   make run        migrate, seed demo data, serve the app on :3000 (prod mode)
#   make test       lint + type-check + import contracts + pytest against throwaway
#                   PostgreSQL/Redis (PYTEST_ARGS="-k foo" to narrow)
#   make lint | fmt | bench | clean
#
# Works on a fresh Debian machine (CI runs `bash .ci/run` as root); only PyPI, Debian apt
# and the npm registry are reachable.

SHELL := /bin/bash
# Each recipe runs as one bash script with -euo pipefail.
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := install
MAKEFLAGS += --no-print-directory

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
LOGDIR      := $(VENV)/logs
PYTHON      ?= $(shell command -v python3.11 || command -v python3)
BUN_VERSION := 1.4.4
PYTEST_ARGS ?=

# Paths that exist (bench/ may be empty and hence absent in a fresh clone).
LINT_PATHS  := $(wildcard app tests scripts bench)
FMT_PATHS   := $(wildcard app tests)

# Reflex: use bun from npm (its own installer needs the internet), make no outside calls.
export REFLEX_USE_SYSTEM_BUN       := 1
export REFLEX_TELEMETRY_ENABLED    := false
export REFLEX_CHECK_LATEST_VERSION := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install bun test-deps run test lint fmt bench clean

install: $(STAMP) bun

$(STAMP): pyproject.toml
	@if [ ! -x "$(PY)" ]; then
		echo "==> creating $(VENV) with $(PYTHON)"
		"$(PYTHON)" -m venv "$(VENV)"
	fi
	mkdir -p "$(LOGDIR)"
	echo "==> pip install -e '.[test]' (log: $(LOGDIR)/pip.log)"
	if ! "$(PY)" -m pip install -q -e '.[test]' >"$(LOGDIR)/pip.log" 2>&1; then
		tail -n 40 "$(LOGDIR)/pip.log" >&2
		echo "pip install failed; full log in $(LOGDIR)/pip.log" >&2
		exit 1
	fi
	touch "$@"

bun:
	@if ! command -v bun >/dev/null 2>&1; then
		echo "==> npm install -g bun@$(BUN_VERSION)"
		mkdir -p "$(LOGDIR)"
		if ! npm install -g --no-fund --no-audit "bun@$(BUN_VERSION)" >"$(LOGDIR)/npm-bun.log" 2>&1; then
			tail -n 30 "$(LOGDIR)/npm-bun.log" >&2; exit 1
		fi
		command -v bun >/dev/null 2>&1 || {
			echo "bun installed but not on PATH; add $$(npm prefix -g)/bin to PATH" >&2; exit 1; }
	fi
	v="$$(bun --version 2>/dev/null || true)"
	if [ "$$v" != "$(BUN_VERSION)" ]; then
		echo "warning: bun $$v on PATH, expected $(BUN_VERSION) (npm install -g bun@$(BUN_VERSION))" >&2
	fi

# System packages the tests need: Chromium (Playwright drives /usr/bin/chromium) and Redis.
# PostgreSQL 15 is part of the machine image; installed here too if it is missing.
test-deps: install
	@pkgs=()
	[ -x /usr/bin/chromium ] || pkgs+=(chromium)
	command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-server)
	[ -x /usr/lib/postgresql/15/bin/initdb ] || pkgs+=(postgresql-15)
	if [ $${#pkgs[@]} -gt 0 ]; then
		sudo=""
		if [ "$$(id -u)" -ne 0 ]; then sudo="sudo"; fi
		mkdir -p "$(LOGDIR)"
		echo "==> apt-get install $${pkgs[*]} (log: $(LOGDIR)/apt.log)"
		if ! { $$sudo apt-get update -q && \
		       $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$${pkgs[@]}"; \
		     } >"$(LOGDIR)/apt.log" 2>&1; then
			tail -n 30 "$(LOGDIR)/apt.log" >&2
			echo "apt-get failed; full log in $(LOGDIR)/apt.log" >&2
			exit 1
		fi
	fi

run: install
	@export GUILDHALL_DATABASE_URL="$${GUILDHALL_DATABASE_URL:-sqlite:///data/guildhall.db}"
	mkdir -p data
	echo "==> alembic upgrade head"
	$(VENV)/bin/alembic upgrade head
	echo "==> seeding demo data"
	$(PY) -m app.seed
	echo "==> reflex run --env prod (http://localhost:$${GUILDHALL_PORT:-3000})"
	exec $(VENV)/bin/reflex run --env prod

test: test-deps
	@bash scripts/run-tests.sh $(PYTEST_ARGS)

lint: install
	@echo "==> ruff check"; $(VENV)/bin/ruff check $(LINT_PATHS)
	echo "==> ruff format --check"; $(VENV)/bin/ruff format --check $(FMT_PATHS)
	echo "==> mypy app"; $(VENV)/bin/mypy app
	echo "==> lint-imports"; $(VENV)/bin/lint-imports

fmt: install
	@$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)

bench: install
	@if [ -f bench/__main__.py ]; then
		exec $(PY) -m bench
	else
		echo "bench: nothing to run (no bench/__main__.py)"
	fi

clean:
	rm -rf .web data .states .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
	find . -path ./.venv -prune -o -path ./.git -prune -o -type d -name __pycache__ -print0 \
		| xargs -0 rm -rf
