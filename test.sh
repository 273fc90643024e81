#!/usr/bin/env bash
# Set everything up, lint (ruff, configured in pyproject.toml) and run the test suite (fast unit tests
# plus a few `slow` ones on the real bundled models). Extra arguments go to pytest, e.g. ./test.sh -m "not slow".
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .   # lint first: a style error fails in a second, not after the suite
exec .venv/bin/python -m pytest "$@"
