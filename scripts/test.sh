#!/usr/bin/env bash
# The project's test command: every Rust test of the workspace (unit,
# router, client-server, crash safety, doc tests), plus the interop checks
# against the real Logfire Python SDK, installed from PyPI on first run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
DATASETS_INTEROP_PYTHON="$(bash scripts/interop-venv.sh)"
export DATASETS_INTEROP_PYTHON
cargo test --workspace --no-fail-fast
