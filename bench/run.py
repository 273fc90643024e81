"""SEAM performance benchmark: what memory costs per token, per turn and per user, against the alternatives.

    python bench/run.py                      # default base model, < 10 minutes on 2 CPU cores
    python bench/run.py --repeats 9 --threads 2
    python bench/run.py --checkpoint runs/fit32/fit_broad.safetensors   # another checkpoint: what its design options cost

Writes bench/results/benchmark.json, benchmark.md, profile_generate.txt and benchmark.log, and prints
the Markdown tables.
"""

from __future__ import annotations

import argparse
import sys

from seam.benchmark import BenchmarkConfig, main_from_config, markdown_report
from seam.cli import add_config_args, config_from_args, setup_logging

FLAGS = [
    "model_name", "checkpoint", "threads", "repeats", "warmup", "new_tokens", "reply_tokens", "write_tokens", "history_tokens",
    "history_at_context_limit", "history_repeats", "history_seconds", "read_slots", "reads_per_timing", "train_steps",
    "train_batch_size", "profile_tokens", "profile_rows", "seed", "output_dir",
]
"""The BenchmarkConfig fields with a flag (--field-name; model_name is --model); `pretrained` is --untrained."""


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per field in FLAGS, help and default from BenchmarkConfig."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p, BenchmarkConfig, FLAGS, flags={"model_name": "--model"})
    p.add_argument("--untrained", action="store_true",
                   help="don't load the shipped trained memory weights (default: load them when they exist)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    cfg = config_from_args(p, BenchmarkConfig, args, pretrained=not args.untrained)
    setup_logging(cfg.output_dir, "benchmark.log")
    results, paths = main_from_config(cfg)
    print(markdown_report(results))
    print("\n".join(f"wrote {path}" for path in paths.values()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
