#!/usr/bin/env python
"""Evaluate SEAM against no memory, in-context history and MiniLM retrieval on held-out names and facts.

    python eval.py                                  # shipped checkpoint, every task, 100 episodes each
    python eval.py --checkpoint 'runs/smollm2/checkpoints/best_step*.safetensors'
    python eval.py --items 20 --tasks recall,correction --systems seam,in-context

Results (JSON, Markdown table, PNG plots, log) go to --output-dir (default ./eval_results); the table is
also printed. The logic lives in seam/evaluation/.
"""

from seam.evaluation.cli import main

if __name__ == "__main__":
    main()
