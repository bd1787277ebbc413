#!/usr/bin/env bash
# Set everything up (scripts/setup.sh --test) and run the test suite on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
