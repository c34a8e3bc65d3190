#!/usr/bin/env bash
# Creates the project environment from the lock file. Needs only Python 3.11 and the registries.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
  # uv resolves and installs the locked stack in seconds; pip alone takes minutes and backtracks.
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
UV="$(command -v uv || echo "python3 -m uv")"
# Compiled bytecode up front: imports of mlflow, prefect and GX are several seconds faster
# in every process, even where PYTHONDONTWRITEBYTECODE is set.
$UV sync --frozen --quiet --compile-bytecode
