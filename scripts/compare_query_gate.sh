#!/bin/bash
# #14's query-gate comparison: every arm warm-starts from the shipped SmolLM2 checkpoint and trains the same 80 steps
# on the same episodes (lr 1e-3): A without the gate, B with the learned per-position read gate at lr 1e-3, C with it
# at its own lr 1e-2 (--query-gate-lr's default), D as C plus the gate-closing term on general questions
# (--gate-close-weight 1). Then the benchmark's quick subset on the test split for the shipped
# checkpoint and each arm, and the full no-harm rows for A, C and D.
# Results: runs/qg{0,A,B,C,D}/quick, runs/qg{A,C,D}/noharm; the tables in results/design/query_gate.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs}
SHIPPED=seam/pretrained/smollm2-135m.safetensors
train() {  # arm, flags
  .venv/bin/python train.py --no-token-keys --init-from $SHIPPED --lr 1e-3 --max-steps 80 --eval-every 1000 --save-every 80 \
     --checkpoint-dir $OUT/qg$1/ck --log-dir $OUT/qg$1/logs "${@:2}"
}
train A --no-query-gate
train B --query-gate --query-gate-lr 1e-3
train C --query-gate
train D --query-gate --gate-close-weight 1
.venv/bin/python eval.py --quick --checkpoint $SHIPPED --output-dir $OUT/qg0/quick
for v in A B C D; do
  .venv/bin/python eval.py --quick --checkpoint $OUT/qg$v/ck/final_step80.safetensors --output-dir $OUT/qg$v/quick
done
for v in A C D; do
  .venv/bin/python eval.py --checkpoint $OUT/qg$v/ck/final_step80.safetensors --categories no_harm --systems seam,no-memory \
     --output-dir $OUT/qg$v/noharm
done
