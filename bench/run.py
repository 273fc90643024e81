"""SEAM performance benchmark: what memory costs per token, per turn and per user, against the alternatives.

    python bench/run.py                      # default base model, < 10 minutes on 2 CPU cores
    python bench/run.py --repeats 9 --threads 2

Writes bench/results/benchmark.json, benchmark.md, profile_generate.txt and benchmark.log, and prints
the Markdown tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seam.cli import setup_logging  # noqa: E402


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def main(argv: list[str] | None = None) -> int:
    from seam.benchmark import BenchmarkConfig, main_from_config, markdown_report

    d = BenchmarkConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=d.model_name, help="bundled base model, HF folder or .gguf file")
    p.add_argument("--untrained", action="store_true", help="don't load the shipped trained memory weights")
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads (default: torch's choice, recorded)")
    p.add_argument("--repeats", type=int, default=d.repeats, help="timed rounds per comparison")
    p.add_argument("--warmup", type=int, default=d.warmup, help="untimed rounds before each comparison")
    p.add_argument("--new-tokens", type=int, default=d.new_tokens, help="greedy tokens per generation")
    p.add_argument("--reply-tokens", type=int, default=d.reply_tokens, help="reply length for write and history costs")
    p.add_argument("--write-tokens", type=_ints, default=d.write_tokens, help="user-turn lengths to write, e.g. 32,256")
    p.add_argument("--history-tokens", type=_ints, default=d.history_tokens, help="earlier-conversation sizes, e.g. 1024,4096,16384")
    p.add_argument("--history-repeats", type=int, default=d.history_repeats, help="most rounds per history size")
    p.add_argument("--history-seconds", type=float, default=d.history_seconds, help="no new round after this long at one size")
    p.add_argument("--read-slots", type=_ints, default=d.read_slots, help="slot counts for the read-cost scaling")
    p.add_argument("--train-steps", type=int, default=d.train_steps, help="timed training steps")
    p.add_argument("--train-batch-size", type=int, default=d.train_batch_size)
    p.add_argument("--output-dir", default=d.output_dir)
    args = p.parse_args(argv)
    try:
        cfg = BenchmarkConfig(
            model_name=args.model, pretrained=not args.untrained, threads=args.threads, repeats=args.repeats,
            warmup=args.warmup, new_tokens=args.new_tokens, reply_tokens=args.reply_tokens, write_tokens=args.write_tokens,
            history_tokens=args.history_tokens, history_repeats=args.history_repeats, history_seconds=args.history_seconds,
            read_slots=args.read_slots, train_steps=args.train_steps, train_batch_size=args.train_batch_size,
            output_dir=args.output_dir,
        )
    except ValueError as err:
        p.error(str(err))
    setup_logging(cfg.output_dir, "benchmark.log")
    results, paths = main_from_config(cfg)
    print(markdown_report(results))
    print("\n".join(f"wrote {path}" for path in paths.values()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
