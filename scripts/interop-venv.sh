#!/usr/bin/env bash
# Makes (once) a virtualenv in target/interop-venv with the real Logfire SDK
# (interop/requirements.txt) and prints the path of its python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/interop-venv"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$root/interop/requirements.txt" "$stamp"; then
    echo "==> installing the interop packages ($(grep -v '^#' "$root/interop/requirements.txt" | tr '\n' ' ')) into target/interop-venv: first run only, about a minute" >&2
    mkdir -p "$root/target"
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/interop/requirements.txt" >&2
    cp "$root/interop/requirements.txt" "$stamp"
fi
echo "$venv/bin/python"
