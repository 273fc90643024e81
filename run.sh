#!/usr/bin/env bash
# Set everything up (first run: a few minutes) and run SEAM's main job: the Alice-to-Sarah memory
# experiment on the default base model with the shipped trained memory. Extra arguments go to it.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python experiment_llm.py "$@"
