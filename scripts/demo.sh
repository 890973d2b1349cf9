#!/usr/bin/env bash
# Set up everything, then run the demo on the embedded default (no servers needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/s2m demo "$@"
