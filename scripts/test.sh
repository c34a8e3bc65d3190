#!/usr/bin/env bash
# Sets up the environment and runs lint, the test suite and the notebooks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

# Headless Chromium and CJK fonts for the browser tests and Chinese charts (Debian packages).
# Each is checked on its own: a machine with Chromium but no CJK font draws Chinese labels as boxes.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "${missing[*]} could not be installed: browser tests are skipped, charts use English labels"
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The layers, the pure core and flows that only compose (pyproject.toml, docs/ARCHITECTURE.md).
.venv/bin/lint-imports --no-cache
# Whole files per worker (module fixtures built once). Three workers on the two-core machine,
# where the suite also waits on servers, flow-run processes and kernels: on an idle fresh clone
# of 9dbeb8a pytest took 1,057 s on three workers and 1,073 s on two (README).
# The test parks train a light copy of models/industries.yaml (tests/conftest.py).
.venv/bin/pytest -q -p no:cacheprovider -n "${EWS_TEST_WORKERS:-3}" --dist loadfile "$@"
