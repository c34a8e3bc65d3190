#!/usr/bin/env bash
# Sets up the environment and runs the whole demo on the simulated park.
# Usage: bash scripts/demo.sh [WORKDIR] [--live | --end-date YYYY-MM-DD]   (default: ews_demo)
# The park ends on 2026-11-29 unless --live (today) or --end-date says otherwise, so the default
# run gives the README's figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workdir=ews_demo
if [[ $# -gt 0 && $1 != -* ]]; then
  workdir=$1
  shift
fi
bash scripts/setup.sh
.venv/bin/ews demo --workdir "$workdir" "$@"
