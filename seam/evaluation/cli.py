"""Command line of eval.py: parse arguments into a suite's config, load the model, run, write the results."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from datetime import datetime
from pathlib import Path

from ..cli import add_config_args, add_model_args, build_experiment_config, comma_list, config_from_args, setup_logging
from ..tasks.episodes import FACT_KINDS
from ..tasks.suite import CATEGORIES, SuiteSizes
from .harness import SYSTEMS, TASKS, EvalConfig
from .memory_bench import MemoryBenchConfig

log = logging.getLogger("seam.eval")

SHARED = ("systems", "reply_tokens", "retrieval_top_k", "batch_size", "max_new_tokens", "seed")
"""Flags of both suites (each suite's dataclass keeps its own default)."""
MEMORY_ONLY = ("categories", "quick", "sizes", "split", "kl_prompts", "misses_shown")
NAMES_ONLY = ("items", "retention_items", "correction_items", "fact_items", "unrelated_items", "long_history_items", "tasks",
              "fact_kinds", "retention_distractors", "decay_cycles")
FLAGS = {"fact_kinds": "--facts", "retention_distractors": "--retention", "decay_cycles": "--decay", "retrieval_top_k": "--top-k"}
SUITES = ("memory", "names")
SIZES_HELP = ("Episodes per row, over the benchmark's: e.g. retention=100,binding=120,retention_after=1/5/20 (fields of "
              "seam.tasks.suite.SuiteSizes; at other sizes a category draws other items, so its figures are not the benchmark's).")
SPLIT_HELP = ("Items from 'test' (the benchmark) or 'val' (training's validation split: for choosing checkpoints without looking "
              "at the test split).")


def size_overrides(text: str) -> dict:
    """An argparse type for --sizes: 'retention=100,binding=120,retention_after=1/5/20' -> the SuiteSizes fields
    given (the rest keep the benchmark's sizes)."""
    fields = {f.name: f.default for f in dataclasses.fields(SuiteSizes)}
    out: dict = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in fields:
            raise argparse.ArgumentTypeError(f"unknown size {key!r}: choose from {', '.join(fields)}")
        several = isinstance(fields[key], tuple)  # e.g. retention_after=1/5/20
        try:
            counts = tuple(int(v) for v in (value.split("/") if several else (value,)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} takes {'counts separated by /' if several else 'a count'}, got {value!r}") from None
        if any(c < 0 for c in counts):
            raise argparse.ArgumentTypeError(f"{key} must be >= 0, got {value!r}")
        out[key] = counts if several else counts[0]
    if not out:
        raise argparse.ArgumentTypeError(f"expected KEY=COUNT pairs separated by commas, got {text!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="eval.py",
        description="Evaluate SEAM against no memory, the whole history in the prompt, and MiniLM retrieval on the same held-out "
        "items. Suite 'memory' (default): what people tell an assistant (names of every style, places, jobs, pets, family, "
        "updates, abstention, no harm, isolation). Suite 'names': the original first-name evaluation. Writes JSON, a Markdown "
        "table and PNG plots.",
    )
    add_model_args(p)
    p.add_argument("--suite", choices=SUITES, default="memory", help="which evaluation (default: memory)")
    p.add_argument("--checkpoint", help="SEAM checkpoint (.safetensors; a glob picks the newest match; 'none' = untrained). "
                   "Default: the shipped checkpoint of --model")
    add_config_args(p, MemoryBenchConfig, SHARED, flags=FLAGS, types_={"systems": comma_list(str, SYSTEMS)}, helps={
        "max_new_tokens": "Reply length (greedy tokens) of an answer (memory suite: 16, names suite: 12).",
        "reply_tokens": "Length cap of the model's replies replayed by the in-context and retrieval baselines.",
    })
    memory = p.add_argument_group("memory suite")
    add_config_args(memory, MemoryBenchConfig, MEMORY_ONLY, types_={"categories": comma_list(str, CATEGORIES), "sizes": size_overrides},
                    helps={"sizes": SIZES_HELP, "split": SPLIT_HELP})
    names = p.add_argument_group("names suite (--suite names)")
    add_config_args(names, EvalConfig, NAMES_ONLY, flags=FLAGS, types_={
        "tasks": comma_list(str, TASKS), "fact_kinds": comma_list(str, FACT_KINDS),
        "retention_distractors": comma_list(int), "decay_cycles": comma_list(int),
    })
    p.add_argument("--output-dir", type=Path, default=Path("./eval_results"), help="results directory (default: ./eval_results)")
    return p


def main(argv: list[str] | None = None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    given = set(vars(args))
    wrong = [n for n in (NAMES_ONLY if args.suite == "memory" else MEMORY_ONLY) if n in given]
    if wrong:
        other = "names" if args.suite == "memory" else "memory"
        flags = ", ".join("--" + FLAGS.get(n, n).lstrip("-").replace("_", "-") for n in wrong)
        parser.error(f"{flags} {'is a flag' if len(wrong) == 1 else 'are flags'} of the {other} suite (add --suite {other}).")
    # transformers loads only once the arguments are known to be good
    from ..lm.checkpoint import load_trained_model, read_metadata, resolve_checkpoint
    from ..tasks.data import SplitSizes
    from .harness import evaluate
    from .memory_bench import run_memory_benchmark
    from .report import markdown_table, memory_markdown, plot_results

    try:
        experiment_config = build_experiment_config(args)
        checkpoint = resolve_checkpoint(args.checkpoint, args.model)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    prefix = "memory_" if args.suite == "memory" else ""
    log_path = setup_logging(args.output_dir, f"{prefix}eval_{stamp}.log")
    started = time.time()
    try:
        meta = read_metadata(checkpoint) if checkpoint is not None else {}
        if args.suite == "memory":
            config = config_from_args(parser, MemoryBenchConfig, args)
        else:
            config = config_from_args(parser, EvalConfig, args, name_split=SplitSizes.of_checkpoint(meta).to_dict())
        model, meta = load_trained_model(experiment_config, checkpoint)  # only once the episodes fit the test split
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    log.info("Evaluating %s with checkpoint %s (%s suite): %s", args.model, checkpoint, args.suite, config)
    results = run_memory_benchmark(model, config) if args.suite == "memory" else evaluate(model, config)
    results["runtime_seconds_including_load"] = time.time() - started
    results["checkpoint"] = {"path": str(checkpoint) if checkpoint else None, "step": meta.get("step"),
                             "training_config": json.loads(meta["training_config"]) if "training_config" in meta else None}
    table = memory_markdown(results) if args.suite == "memory" else markdown_table(results)
    out = args.output_dir
    (out / f"{prefix}eval_{stamp}.md").write_text(table)
    (out / f"{prefix}eval_latest.md").write_text(table)
    json_path = out / f"{prefix}eval_results_{stamp}.json"
    results["files"] = {"table": str(out / f"{prefix}eval_{stamp}.md"), "log": str(log_path)}
    json_path.write_text(json.dumps(results, indent=1, default=str))  # before the plots: a plotting error loses no results
    plots = plot_results(results, out, prefix)
    results["files"]["plots"] = [str(p) for p in plots]
    json_path.write_text(json.dumps(results, indent=1, default=str))
    print(table)
    log.info("Results: %s (table, JSON, plots %s) in %.1f min", out, ", ".join(p.name for p in plots),
             results["runtime_seconds_including_load"] / 60)
    return results
