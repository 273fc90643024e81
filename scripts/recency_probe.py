#!/usr/bin/env python
"""Would a learned preference for newer slots fix knowledge updates? A probe without training.

    .venv/bin/python scripts/recency_probe.py --weights 0,3,8          # SmolLM2's shipped checkpoint, about 1.2 min a weight

Loads a shipped (or given) checkpoint with `MemoryConfig.recency_bias` switched on and its weight w set by hand
in every memory layer (each slot's read logit gets -w * log(1 + age), age in written turns; w = 0 is the
checkpoint as shipped), and runs the benchmark's retention and update rows on the validation split (the rows and
sizes that choose checkpoints, `SELECTION_SIZES`). If the later statement lost only because the older one was read
as strongly, some w > 0 would raise the update rows without costing retention; the table says whether it does.
Prints a Markdown table; `--output` also writes it.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from seam.evaluation.memory_bench import MemoryBenchConfig, run_memory_benchmark
from seam.lm import MemoryAugmentedModel
from seam.lm.checkpoint import config_for_checkpoint, read_metadata
from seam.lm.config import ExperimentConfig
from seam.training.trainer import SELECTION_SIZES

CATEGORIES = ("retention", "update")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (default smollm2-135m)")
    p.add_argument("--checkpoint", default=None, help="SEAM checkpoint (default: the shipped one of --model)")
    p.add_argument("--weights", default="0,3,8", help="recency weights w to try, comma-separated (default 0,3,8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the validation items (default 0)")
    p.add_argument("--misses", type=int, default=6, help="update misses listed per row at the first weight (default 6)")
    p.add_argument("--output", default=None, help="also write the Markdown table here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    weights = [float(w) for w in args.weights.split(",")]
    path = Path(args.checkpoint) if args.checkpoint else MemoryAugmentedModel.pretrained_checkpoint(args.model)
    config = config_for_checkpoint(replace(ExperimentConfig(model_name=args.model), memory_layer_positions=None), read_metadata(path))
    config.memory.recency_bias = True
    model = MemoryAugmentedModel(config)
    model.load_checkpoint(path, new_options=True)
    bench = MemoryBenchConfig(systems=("seam",), categories=CATEGORIES, sizes=SELECTION_SIZES, kl_prompts=0, seed=args.seed,
                              split="val", misses_shown=args.misses)
    table: dict[float, dict[str, tuple[float, int]]] = {}
    misses: dict[str, list[dict]] = {}
    for w in weights:
        for layer in model.memory_layers.values():
            layer.recency.data.fill_(w)
        results = run_memory_benchmark(model, bench)
        if not misses:
            misses = {row: listed for row, listed in results["worst_misses"]["rows"].items() if row.startswith("update")}
        table[w] = {r["key"]: (r["systems"]["seam"]["accuracy"], r["n"]) for r in results["rows"] if r["n"] and "seam" in r["systems"]}
    rows = list(next(iter(table.values())))
    shown = path.resolve().relative_to(Path.cwd().resolve()) if path.resolve().is_relative_to(Path.cwd().resolve()) else path
    lines = [f"Recency weight w set by hand on `{shown}` ({args.model}), validation split, seed {args.seed}; SEAM's accuracy per row.", "",
             "| row | n | " + " | ".join(f"w = {w:g}" for w in weights) + " |", "|---|---|" + "---|" * len(weights)]
    for row in rows:
        lines.append(f"| {row} | {table[weights[0]][row][1]} | " + " | ".join(f"{table[w][row][0]:.0%}" for w in weights) + " |")
    if misses:
        lines += ["", f"Update misses at w = {weights[0]:g} (what was said, the question, the reply):", ""]
        for row, items in misses.items():
            lines += [f"- {row}: " + "; ".join(f"{' / '.join(m['past'])} -> {m['question']} -> {m['reply']!r} (expected {m['expected']!r})"
                                              for m in items)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
