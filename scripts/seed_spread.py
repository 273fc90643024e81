"""Memory benchmark reports side by side (eval.py JSONs) -> a Markdown table: the spread over training seeds, or
checkpoints compared on the same items.

    python scripts/seed_spread.py runs/seed0/quick/memory_eval_results_*.json runs/seed1/quick/memory_eval_results_*.json \
        --output results/design/seed_spread.md
    python scripts/seed_spread.py a.json b.json --labels "step 750,step 1050" --title "Two checkpoints" --output cmp.md

Per row: SEAM's accuracy with each seed, the mean and the range (max - min); then the general answers lost and
the KL to the bare model. Every figure comes from the JSONs given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", type=Path, help="memory benchmark JSONs, one per seed")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--labels", help="comma-separated column names, one per report (default: 'seed N' from each checkpoint)")
    p.add_argument("--title", default="Spread over training seeds (benchmark's quick subset, SEAM)")
    args = p.parse_args()
    runs = [json.loads(path.read_text()) for path in args.reports]
    seeds = [f"seed {r.get('checkpoint', {}).get('training_config', {}).get('seed', '?')}" for r in runs]
    if args.labels:
        seeds = [label.strip() for label in args.labels.split(",")]
        if len(seeds) != len(runs):
            p.error(f"--labels names {len(seeds)} columns for {len(runs)} reports.")
    lines = [f"# {args.title}", "",
             "Reports: " + ", ".join(f"`{p}`" for p in args.reports), "",
             "| row | n | " + " | ".join(seeds) + " | mean | range |",
             "|---|---|" + "---|" * (len(runs) + 2)]
    for row in runs[0]["rows"]:
        values = []
        for r in runs:
            match = next((x for x in r["rows"] if x["key"] == row["key"]), None)
            acc = match["systems"].get("seam", {}).get("accuracy") if match else None
            values.append(acc if acc == acc else None)  # nan (no items) -> None
        if any(v is None for v in values):
            continue
        cells = " | ".join(f"{100 * v:.0f}%" for v in values)
        lines.append(f"| {row['label']} | {row['n']} | {cells} | {100 * sum(values) / len(values):.0f}% | "
                     f"{100 * (max(values) - min(values)):.0f} pts |")
    lines.append("")
    for name, get in (("general answers lost", lambda r: r.get("no_harm", {}).get("lost", {}).get("seam", {}).get("share")),
                      ("KL to the bare model (nats/token)", lambda r: r.get("kl_to_bare", {}).get("mean_kl_per_token")),
                      ("told facts answered \"not told\"", lambda r: r.get("told_answered_not_told", {}).get("seam", {}).get("share"))):
        values = [get(r) for r in runs]
        if all(v is not None for v in values):
            lines.append(f"- {name}: " + ", ".join(f"{s} {v:.3f}" for s, v in zip(seeds, values))
                         + f" (range {max(values) - min(values):.3f}).")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
