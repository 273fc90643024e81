#!/usr/bin/env bash
# First call on a lent GPU (see payload.sh): install the carried wheels, keep the GGUF's first half for call B,
# and time training steps and a validation on a random-weight base of SmolLM2's exact architecture and
# tokenizer (the CUDA path's smoke test; a step's cost does not depend on the weights). Args go to train.py.
set -euo pipefail
DEVICE=${DEVICE:-cuda}
mkdir -p /tmp/p && cp .gpu/a/gguf.aa /tmp/p/
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/a/*.whl
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 SEAM_CACHE=/tmp/seamcache TQDM_MININTERVAL=5
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
python3 scripts/device/random_base.py .gpu/a/hf /tmp/rand
rm -rf /tmp/a; date +"start %T"
python3 train.py --model /tmp/rand --device "$DEVICE" --checkpoint-dir /tmp/a/ck --log-dir /tmp/a/logs "$@" > "$OUT/a_stdout.log" 2>&1 \
    || { tail -c 6000 "$OUT/a_stdout.log"; exit 1; }
grep -E "validation score|done:" /tmp/a/logs/training_*.log | cut -c1-200
python3 -c "
import json; h = json.load(open('/tmp/a/logs/training_history.json')); m = h['elapsed_minutes']
print('minutes at each step:', ' '.join(f'{x:.3f}' for x in m))"
