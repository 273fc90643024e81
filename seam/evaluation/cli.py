"""Command line of eval.py: parse arguments into an EvalConfig, load the model, run, write the results."""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import datetime
from pathlib import Path

from ..cli import add_model_args, build_experiment_config, setup_logging
from .harness import SYSTEMS, TASKS, EvalConfig
from .tasks import FACT_KINDS

log = logging.getLogger("seam.eval")


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def _names(choices: tuple[str, ...]):
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(x.strip() for x in text.split(",") if x.strip())
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (comma-separated), got {text!r}")
        return names

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="eval.py",
        description="Evaluate SEAM against no memory, the whole history in the prompt, and MiniLM retrieval, "
        "on held-out names and phrasings. Writes JSON, a Markdown table and PNG plots.",
    )
    add_model_args(p)
    p.add_argument("--checkpoint", help="SEAM checkpoint (.safetensors; a glob picks the newest match; 'none' = untrained). "
                   "Default: the shipped checkpoint of --model")
    p.add_argument("--items", type=int, default=100, help="episodes of the decay and multi-user tasks (default: 100)")
    p.add_argument("--retention-items", type=int, default=100,
                   help="recall episodes asked again after the distractors (default: 100); the recall row holds both sets")
    p.add_argument("--correction-items", type=int, default=100, help="correction episodes (default: 100)")
    p.add_argument("--fact-items", type=int, default=25, help="episodes per fact kind (default: 25; 4 kinds)")
    p.add_argument("--unrelated-items", type=int, default=100, help="episodes of the unrelated-question check (default: 100)")
    p.add_argument("--reply-tokens", type=int, default=12, help="length cap of replayed replies (default: 12)")
    p.add_argument("--long-history-items", type=int, default=10,
                   help="episodes on which the in-context baseline replays the longest history; a history of k conversations "
                   "is replayed on about this x max(k) / k episodes (default: 10)")
    p.add_argument("--systems", type=_names(SYSTEMS), default=SYSTEMS, help=f"comma-separated subset of {','.join(SYSTEMS)}")
    p.add_argument("--tasks", type=_names(TASKS), default=TASKS, help=f"comma-separated subset of {','.join(TASKS)}")
    p.add_argument("--facts", type=_names(tuple(FACT_KINDS)), default=tuple(FACT_KINDS), help="fact kinds for the facts task")
    p.add_argument("--retention", type=_ints, default=(0, 1, 5, 20), help="distractor conversations (default: 0,1,5,20)")
    p.add_argument("--decay", type=_ints, default=(0, 10, 50), help="decay cycles (default: 0,10,50)")
    p.add_argument("--top-k", type=int, default=3, help="messages the retrieval baseline puts in the prompt (default: 3)")
    p.add_argument("--batch-size", type=int, default=50, help="users per batched call (default: 50)")
    p.add_argument("--max-new-tokens", type=int, default=12, help="reply length (default: 12)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--output-dir", type=Path, default=Path("./eval_results"), help="results directory (default: ./eval_results)")
    return p


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    # transformers loads only once the arguments are known to be good
    from .harness import evaluate
    from .loading import checkpoint_metadata, load_trained_model, resolve_checkpoint, training_split_sizes
    from .report import markdown_table, plot_results

    try:
        experiment_config = build_experiment_config(args)
        checkpoint = resolve_checkpoint(args.checkpoint, args.model)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    log_path = setup_logging(args.output_dir, f"eval_{stamp}.log")
    started = time.time()
    try:
        meta = checkpoint_metadata(checkpoint) if checkpoint is not None else {}
        config = EvalConfig(
            items=args.items, systems=args.systems, tasks=args.tasks, fact_kinds=args.facts, retention_distractors=args.retention,
            retention_items=args.retention_items, correction_items=args.correction_items,
            fact_items=args.fact_items, unrelated_items=args.unrelated_items, reply_tokens=args.reply_tokens,
            long_history_items=args.long_history_items,
            decay_cycles=args.decay, retrieval_top_k=args.top_k, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
            seed=args.seed, name_split=training_split_sizes(meta),
        )
        model, meta = load_trained_model(experiment_config, checkpoint)  # only once the episodes fit the test split
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    log.info("Evaluating %s with checkpoint %s: %s", args.model, checkpoint, config)
    results = evaluate(model, config)
    results["runtime_seconds_including_load"] = time.time() - started
    results["checkpoint"] = {"path": str(checkpoint) if checkpoint else None, "step": meta.get("step"),
                             "training_config": json.loads(meta["training_config"]) if "training_config" in meta else None}
    table = markdown_table(results)
    out = args.output_dir
    (out / f"eval_{stamp}.md").write_text(table)
    (out / "eval_latest.md").write_text(table)
    json_path = out / f"eval_results_{stamp}.json"
    results["files"] = {"table": str(out / f"eval_{stamp}.md"), "log": str(log_path)}
    json_path.write_text(json.dumps(results, indent=1))  # before the plots: a plotting error loses no results
    plots = plot_results(results, out)
    results["files"]["plots"] = [str(p) for p in plots]
    json_path.write_text(json.dumps(results, indent=1))
    print(table)
    log.info("Results: %s (table, JSON, plots %s) in %.1f min", out, ", ".join(p.name for p in plots), results["runtime_seconds_including_load"] / 60)
    return results
