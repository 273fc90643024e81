#!/usr/bin/env python
"""Score checkpoints on training's validation (the benchmark's rows on the validation split, as `train.py
--eval-every` scores them), so checkpoints of different runs, or a run whose validation rows changed, compare
on one scale.

    .venv/bin/python scripts/validate_checkpoint.py runs/x/ck/checkpoint_step1150.safetensors ...   # about 2.5 min each here
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from seam.lm import ExperimentConfig
from seam.lm.checkpoint import load_trained_model
from seam.training.trainer import validation_results, validation_score


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--seed", type=int, default=0, help="the training run's seed (default 0), which picks the validation items")
    p.add_argument("--output", type=Path, help="also write the scores and rows as JSON here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    missing = [str(c) for c in args.checkpoints if not c.is_file()]
    if missing:
        p.error(f"no such checkpoint: {', '.join(missing)}")
    scores = {}
    for path in args.checkpoints:
        model, _ = load_trained_model(ExperimentConfig(memory_layer_positions=None), path)
        score, rows = validation_score(validation_results(model, args.seed))
        scores[str(path)] = {"score": score, "rows": rows}
        print(f"{path}: validation score {score:.3f}")
        for key, acc in rows.items():
            print(f"    {key:34s} {acc:.3f}")
    if args.output:
        args.output.write_text(json.dumps(scores, indent=1))


if __name__ == "__main__":
    main()
