#!/usr/bin/env bash
# Set everything up and run the test suite (fast unit tests plus a few `slow` ones on the real bundled
# models). Extra arguments go to pytest, e.g. ./test.sh -m "not slow".
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
