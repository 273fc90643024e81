#!/bin/bash
# #14's spread over seeds: the shipped recipe (the memory task, hidden-state keys) trained with seeds 0 and 1 for
# 10 minutes each on this CPU, then the benchmark's quick subset on the test split. Results: runs/seed{0,1}/quick,
# the table in results/design/seed_spread.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for s in 0 1; do
  .venv/bin/python train.py --no-token-keys --seed $s --max-steps 1000 --max-minutes 10 --eval-every 1000 --save-every 100 \
     --checkpoint-dir runs/seed$s/ck --log-dir runs/seed$s/logs
done
for s in 0 1; do
  .venv/bin/python eval.py --quick --checkpoint "$(ls runs/seed$s/ck/final_step*.safetensors)" --output-dir runs/seed$s/quick
done
.venv/bin/python scripts/seed_spread.py runs/seed0/quick/memory_eval_results_*.json runs/seed1/quick/memory_eval_results_*.json \
    --output results/design/seed_spread.md
