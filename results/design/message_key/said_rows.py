"""The fact, binding and update rows on one split for a checkpoint, each split by where its message says the value
(first, or after its frame). The training split is allowed: a diagnostic of what training saw, not a benchmark figure.

    .venv/bin/python results/design/message_key/said_rows.py SPLIT CHECKPOINT        # about 1 minute
"""

import sys

import torch

from seam.evaluation.harness import build_systems, play, results_of
from seam.evaluation.memory_bench import MemoryBenchConfig
from seam.lm import ExperimentConfig
from seam.lm.checkpoint import load_trained_model
from seam.tasks.suite import SuiteBuilder, SuiteSizes

SIZES = SuiteSizes(names_per_style=4, per_kind=6, held_out_per_kind=6, binding=20, confusable=40, corrections=60,
                   corrections_reinforced=1, changes=30)


def main(split: str, checkpoint: str) -> None:
    torch.set_num_threads(2)
    model, _ = load_trained_model(ExperimentConfig(), checkpoint)
    runs = SuiteBuilder(split, SIZES, 0).runs(("fact", "binding", "update"))
    systems = build_systems(MemoryBenchConfig(systems=("seam",), categories=("update",), kl_prompts=0), model, None)
    results = results_of(runs, systems, play(runs, systems, 50, 16), cost_rows=(), reply_tokens=12)
    for row, items in results["records"]["seam"].items():
        groups: dict[str, list[bool]] = {}
        for item in items:
            groups.setdefault(item["meta"].get("said", "-"), []).append(item["hit"])
        print(f"{row:32s} " + "  ".join(f"{k}: {sum(v)}/{len(v)} ({100 * sum(v) / len(v):.0f}%)" for k, v in sorted(groups.items())))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
