#!/bin/bash
# #14's query-gate comparison: both arms warm-start from the shipped SmolLM2 checkpoint and train the same 80 steps
# on the same episodes (lr 1e-3): A without, B with the learned per-position read gate (--query-gate). Then the
# benchmark's quick subset on the test split for A, B and the shipped checkpoint itself.
# Results: runs/qg{A,B}/quick, runs/qg0/quick; the table in results/design/query_gate.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs}
SHIPPED=seam/pretrained/smollm2-135m.safetensors
for v in A B; do
  flag=--no-query-gate; [ $v = B ] && flag=--query-gate
  .venv/bin/python train.py --no-token-keys $flag --init-from $SHIPPED --lr 1e-3 --max-steps 80 --eval-every 1000 \
     --save-every 80 --checkpoint-dir $OUT/qg$v/ck --log-dir $OUT/qg$v/logs
done
.venv/bin/python eval.py --quick --checkpoint $SHIPPED --output-dir $OUT/qg0/quick
for v in A B; do
  .venv/bin/python eval.py --quick --checkpoint "$(ls $OUT/qg$v/ck/final_step*.safetensors)" --output-dir $OUT/qg$v/quick
done
