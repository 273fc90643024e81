"""Command line of eval.py: parse arguments into an EvalConfig, load the model, run, write the results."""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import datetime
from pathlib import Path

from ..cli import add_config_args, add_model_args, build_experiment_config, comma_list, config_from_args, setup_logging
from ..tasks.episodes import FACT_KINDS
from .harness import SYSTEMS, TASKS, EvalConfig

log = logging.getLogger("seam.eval")

EXPOSED = ("items", "retention_items", "correction_items", "fact_items", "unrelated_items", "reply_tokens", "long_history_items",
           "systems", "tasks", "fact_kinds", "retention_distractors", "decay_cycles", "retrieval_top_k", "batch_size",
           "max_new_tokens", "seed")
FLAGS = {"fact_kinds": "--facts", "retention_distractors": "--retention", "decay_cycles": "--decay", "retrieval_top_k": "--top-k"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="eval.py",
        description="Evaluate SEAM against no memory, the whole history in the prompt, and MiniLM retrieval, "
        "on held-out names and phrasings. Writes JSON, a Markdown table and PNG plots.",
    )
    add_model_args(p)
    p.add_argument("--checkpoint", help="SEAM checkpoint (.safetensors; a glob picks the newest match; 'none' = untrained). "
                   "Default: the shipped checkpoint of --model")
    add_config_args(p, EvalConfig, EXPOSED, flags=FLAGS, types_={
        "systems": comma_list(str, SYSTEMS), "tasks": comma_list(str, TASKS), "fact_kinds": comma_list(str, FACT_KINDS),
        "retention_distractors": comma_list(int), "decay_cycles": comma_list(int),
    })
    p.add_argument("--output-dir", type=Path, default=Path("./eval_results"), help="results directory (default: ./eval_results)")
    return p


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    # transformers loads only once the arguments are known to be good
    from ..lm.checkpoint import load_trained_model, read_metadata, resolve_checkpoint
    from ..tasks.data import SplitSizes
    from .harness import evaluate
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
        meta = read_metadata(checkpoint) if checkpoint is not None else {}
        config = config_from_args(parser, EvalConfig, args, name_split=SplitSizes.of_checkpoint(meta).to_dict())
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
    log.info("Results: %s (table, JSON, plots %s) in %.1f min", out, ", ".join(p.name for p in plots),
             results["runtime_seconds_including_load"] / 60)
    return results
