#!/usr/bin/env bash
# `make test`: static checks, then pytest against throwaway PostgreSQL + Redis.
# Arguments are passed to pytest (make test PYTEST_ARGS="-k billing").
# Stops at the first failing step; the services are always stopped (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

export REFLEX_USE_SYSTEM_BUN=1
export REFLEX_TELEMETRY_ENABLED=false
export REFLEX_CHECK_LATEST_VERSION=false

V=.venv/bin
step() { echo "==> $*"; "$@"; }

lint_paths=()
for p in app tests scripts bench; do [ -e "$p" ] && lint_paths+=("$p"); done

# Static checks need no services: run them first so a lint error fails fast.
step "$V/ruff" check "${lint_paths[@]}"
step "$V/ruff" format --check app tests
step "$V/mypy" app
step "$V/lint-imports"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/guildhall-test.XXXXXX")"
cleanup() {
    trap - EXIT INT TERM
    echo "==> stopping test services"
    bash scripts/testenv.sh stop "$tmp" || echo "warning: could not stop services in $tmp" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> starting PostgreSQL + Redis"
bash scripts/testenv.sh start "$tmp"
# shellcheck disable=SC1091
. "$tmp/env"

echo "==> pytest -q -x --durations=15 $*"
rc=0
"$V/pytest" -q -x --durations=15 "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests (exit 5): treating as failure" >&2
fi
exit "$rc"
