#!/usr/bin/env python
"""Score checkpoints on training's validation (the benchmark's rows on the validation split, as `train.py
--eval-every` scores them), so checkpoints of different runs, or a run whose validation rows changed, compare
on one scale; with --sizes, on bigger rows than training's (8 retention items cannot see a 10-point change).

    .venv/bin/python scripts/validate_checkpoint.py runs/x/ck/checkpoint_step1150.safetensors ...   # about 2.5 min each here
    .venv/bin/python scripts/validate_checkpoint.py A.safetensors B.safetensors --labels a,b \\
        --sizes retention=100,binding=40,general=100 --output select.json --markdown select.md
    .venv/bin/python scripts/validate_checkpoint.py A.safetensors B.safetensors --selection   # the rows that choose what ships
    .venv/bin/python scripts/validate_checkpoint.py A.safetensors B.safetensors --selection --records runs/sel
    .venv/bin/python scripts/compare_runs.py runs/sel/A.json runs/sel/B.json --labels a,b     # item by item: rows beyond noise

The score is the mean of the rows (recall, binding, retention, updates, abstention, general answers kept,
leaks), as in training. Every checkpoint sees the same items, so `--records` (each checkpoint's replies, item by
item) lets `scripts/compare_runs.py` say which rows moved beyond noise: a mean can let small gains in many rows pay
for one row falling.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from seam.evaluation.cli import size_overrides
from seam.lm import ExperimentConfig
from seam.lm.base_models import DEFAULT_BASE_MODEL
from seam.lm.checkpoint import load_trained_model, read_metadata
from seam.training.trainer import SELECTION_SIZES, VALIDATION_SIZES, validation_results, validation_score


def markdown(scores: dict, labels: list[str], sizes: dict) -> str:
    first = next(iter(scores.values()))  # every checkpoint saw the same items: its rows and n are everyone's
    lines = ["| row | n | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    lines.append("| **validation score** (mean of the rows) | | " + " | ".join(f"**{s['score']:.3f}**" for s in scores.values()) + " |")
    for key in first["rows"]:
        n = first["n"].get(key, "")
        lines.append(f"| {key} | {n} | " + " | ".join(f"{s['rows'].get(key, float('nan')):.2f}" for s in scores.values()) + " |")
    return "\n".join([f"Validation split, sizes {sizes or 'as in training'}; checkpoints: "
                      + ", ".join(f"{label} = `{path}`" for label, path in zip(labels, scores)), "", *lines, ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--seed", type=int, default=0, help="the training run's seed (default 0), which picks the validation items")
    p.add_argument("--sizes", type=size_overrides, default={},
                   help="rows bigger than training's validation, e.g. retention=100,binding=40 (fields of SuiteSizes)")
    p.add_argument("--selection", action="store_true",
                   help="the rows that choose which checkpoint ships (seam.training.trainer.SELECTION_SIZES; --sizes changes them further)")
    p.add_argument("--labels", help="comma-separated names of the checkpoints for the table (default: their paths)")
    p.add_argument("--output", type=Path, help="also write the scores and rows as JSON here")
    p.add_argument("--markdown", type=Path, help="also write the checkpoints side by side as a Markdown table here")
    p.add_argument("--records", type=Path, help="also write each checkpoint's results with its replies item by item here, as "
                   "<checkpoint's file name>.json (what scripts/compare_runs.py compares)")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda): on a GPU a checkpoint takes seconds, not minutes")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    missing = [str(c) for c in args.checkpoints if not c.is_file()]
    if missing:
        p.error(f"no such checkpoint: {', '.join(missing)}")
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else [str(c) for c in args.checkpoints]
    if len(labels) != len(args.checkpoints):
        p.error(f"--labels names {len(labels)} checkpoints, {len(args.checkpoints)} given.")
    stems = [c.stem for c in args.checkpoints]
    if args.records and len(set(stems)) != len(stems):
        p.error("--records names each file after its checkpoint: give checkpoints with different file names.")
    sizes = dataclasses.replace(SELECTION_SIZES if args.selection else VALIDATION_SIZES, **args.sizes)
    scores = {}
    for path in args.checkpoints:
        config = ExperimentConfig(model_name=read_metadata(path).get("base_model", DEFAULT_BASE_MODEL), memory_layer_positions=None,
                                  device=args.device)
        model, _ = load_trained_model(config, path)
        results = validation_results(model, args.seed, sizes)
        score, rows = validation_score(results)
        scores[str(path)] = {"score": score, "rows": rows, "n": {r["key"]: r["n"] for r in results["rows"]}}
        print(f"{path}: validation score {score:.3f}")
        for key, acc in rows.items():
            print(f"    {key:34s} {acc:.3f}")
        if args.records:
            args.records.mkdir(parents=True, exist_ok=True)
            target = args.records / f"{path.stem}.json"
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(results, indent=1, default=str))
            tmp.replace(target)  # never a half-written file
        if args.output:  # after each checkpoint: a long run interrupted keeps what it measured
            args.output.write_text(json.dumps({"sizes": dataclasses.asdict(sizes), "scores": scores}, indent=1))
    if args.markdown:
        rows = ("the selection rows" + (f" changed by {args.sizes}" if args.sizes else "")) if args.selection else args.sizes
        args.markdown.write_text(markdown(scores, labels, rows))


if __name__ == "__main__":
    main()
