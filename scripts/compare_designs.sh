#!/bin/bash
# #14's design comparison: memory items keyed by hidden states only (A, --no-token-keys) or also by the previous
# token's identity (B, --token-keys); the same data and schedule (at most 1000 steps), 10 minutes of training each
# on this CPU, then the benchmark's quick subset on the test split. Results: runs/cmp{A,B}/quick.
set -euo pipefail
cd "$(dirname "$0")/.."
for v in A B; do
  flag=--no-token-keys; [ $v = B ] && flag=--token-keys
  .venv/bin/python train.py $flag --max-steps 1000 --max-minutes 10 --eval-every 100 --save-every 100 \
     --checkpoint-dir runs/cmp$v/ck --log-dir runs/cmp$v/logs
done
for v in A B; do
  .venv/bin/python eval.py --quick --checkpoint "$(ls runs/cmp$v/ck/final_step*.safetensors)" --output-dir runs/cmp$v/quick
done
