#!/usr/bin/env bash
# The project's test command: every Rust test of the workspace (unit,
# router, client-server, crash safety, compile-fail, doc tests), plus the
# interop checks against the real Logfire Python SDK and pydantic-evals,
# installed from PyPI on first run; then the server and client suites again
# on PostgreSQL. Every test binary runs even when one fails (--no-fail-fast),
# so one failure never hides the others' results.
#
# PostgreSQL: DATASETS_TEST_POSTGRES_URL names a database to test on (each
# test takes a fresh schema of it). Unset, postgres://postgres@127.0.0.1:5432/postgres
# is used when it answers; when nothing answers the PostgreSQL leg is
# skipped with a notice, except under CI=true, where it must run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
DATASETS_INTEROP_PYTHON="$(bash scripts/interop-venv.sh)"
export DATASETS_INTEROP_PYTHON

default_pg="postgres://postgres@127.0.0.1:5432/postgres"
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if [[ -z "${DATASETS_TEST_POSTGRES_URL:-}" ]]; then
    if [[ "${CI:-}" == "true" ]] || pg_answers; then
        DATASETS_TEST_POSTGRES_URL="$default_pg"
    fi
fi
if [[ -n "${DATASETS_TEST_POSTGRES_URL:-}" ]]; then
    export DATASETS_TEST_POSTGRES_URL
fi

status=0
echo "==> cargo test --workspace --no-fail-fast (a first build compiles the workspace and its dependencies: a few minutes)" >&2
cargo test --workspace --no-fail-fast || status=$?

if [[ -n "${DATASETS_TEST_POSTGRES_URL:-}" ]]; then
    echo "==> the server and client suites again, on PostgreSQL (DATASETS_TEST_POSTGRES_URL)" >&2
    DATASETS_EMBEDDED_POSTGRES_URL="$DATASETS_TEST_POSTGRES_URL" \
        cargo test -p datasets -p datasets-server --tests --no-fail-fast || status=$?
else
    echo "==> SKIPPED the PostgreSQL leg: nothing answers at 127.0.0.1:5432 and DATASETS_TEST_POSTGRES_URL is unset" >&2
fi
exit "$status"
