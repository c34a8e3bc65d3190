#!/usr/bin/env bash
# Sets up the environment and runs the whole demo on the simulated park.
# Usage: bash scripts/demo.sh [WORKDIR]   (default: ews_demo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
.venv/bin/ews demo --workdir "${1:-ews_demo}"
