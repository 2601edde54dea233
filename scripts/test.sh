#!/usr/bin/env bash
# The project's test command: every Rust test of the workspace (unit,
# router, client-server, crash safety, compile-fail, doc tests), plus the
# interop checks against the real Logfire Python SDK and pydantic-evals,
# installed from PyPI on first run; then the server and client suites again
# on PostgreSQL. Every test binary runs even when one fails (--no-fail-fast),
# so one failure never hides the others' results.
#
# Browser tests: Chromium and ChromeDriver from Debian, installed here under
# CI=true when absent.
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

# The browser tests drive Debian's Chromium through ChromeDriver. Under CI
# they must run, so they are installed when absent; elsewhere, without
# them, those tests say they were skipped.
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    if [[ "${CI:-}" == "true" ]]; then
        echo "==> installing chromium and chromium-driver for the browser tests" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
    else
        echo "==> chromium and chromium-driver are not installed: the browser tests will be skipped (apt-get install -y chromium chromium-driver)" >&2
    fi
fi

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
