#!/usr/bin/env python
"""Two runs of the memory benchmark on the same items, compared item by item: which items each row gained and lost,
an exact McNemar p-value for each row (two checkpoints' 30-item rows differ by 2-5 items from noise alone, and a
paired count says more than two confidence intervals), and the told facts each answered "not told".

    .venv/bin/python scripts/compare_runs.py results/design/phrasings_and_unlikelihood/test_split runs/fit33/test_shift-3 \\
        --labels shipped,floor --output comparison.md

Each run is an `eval.py` results JSON (memory_eval_results_*.json) or a folder holding them (the newest is taken).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seam.evaluation.report import paired_comparison, paired_markdown


def results_file(path: Path) -> Path:
    """The results JSON itself, or the newest memory_eval_results_*.json in a folder."""
    if path.is_dir():
        found = sorted(path.glob("memory_eval_results_*.json"))
        if not found:
            raise SystemExit(f"{path} holds no memory_eval_results_*.json (a folder eval.py --output-dir wrote).")
        return found[-1]
    if not path.is_file():
        raise SystemExit(f"{path}: no such file or folder.")
    return path


def load(path: Path) -> dict:
    file = results_file(path)
    try:
        results = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SystemExit(f"{file} is not a results JSON: {e}.") from None
    if not isinstance(results, dict) or "records" not in results:
        raise SystemExit(f"{file} has no per-item records: compare runs of the memory suite (eval.py --suite memory).")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", type=Path, help="the first run: a results JSON or the folder eval.py wrote")
    p.add_argument("after", type=Path, help="the second run, on the same split, seed and sizes")
    p.add_argument("--system", default="seam", help="which system's replies are compared (default seam)")
    p.add_argument("--labels", default="before,after", help="names of the two runs in the table (default before,after)")
    p.add_argument("--examples", type=int, default=3, help="items gained and lost listed per row (default 3; 0: none)")
    p.add_argument("--output", type=Path, default=None, help="also write the Markdown here")
    args = p.parse_args(argv)
    labels = tuple(args.labels.split(","))
    if len(labels) != 2:
        raise SystemExit(f"--labels takes two names, got {args.labels!r}.")
    before, after = load(args.before), load(args.after)
    for results, path in ((before, args.before), (after, args.after)):
        if args.system not in results["records"]:
            raise SystemExit(f"{path} has no {args.system!r} replies (it ran {', '.join(results['records'])}).")
    try:
        rows = paired_comparison(before, after, args.system)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    text = paired_markdown(rows, labels, args.examples)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
