#!/usr/bin/env bash
# The project's test command: every Rust test of the workspace (unit,
# router, client-server, crash safety, compile-fail, doc tests), plus the
# interop checks against the real Logfire Python SDK and pydantic-evals,
# installed from PyPI on first run. Every test binary runs even when one
# fails (--no-fail-fast), so one failure never hides the others' results.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
DATASETS_INTEROP_PYTHON="$(bash scripts/interop-venv.sh)"
export DATASETS_INTEROP_PYTHON
echo "==> cargo test --workspace --no-fail-fast (a first build compiles the workspace and its dependencies: a few minutes)" >&2
cargo test --workspace --no-fail-fast
