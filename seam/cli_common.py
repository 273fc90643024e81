"""Argument handling shared by the command-line scripts (they stay thin)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (smollm2-135m, gemma3-270m), HF folder or .gguf file")
    p.add_argument(
        "--memory-layers", default="auto",
        help="comma-separated decoder layers for memory, e.g. 3,6,9; 'auto' = 70/80/90%% of depth (21,24,27 on SmolLM2)",
    )
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, mps)")


def build_experiment_config(args: argparse.Namespace):
    from .lm.config import ExperimentConfig, parse_layer_positions

    device = args.device
    if device.startswith("cuda") and "LOCAL_RANK" in os.environ:  # under `accelerate launch`: one GPU per process
        device = f"cuda:{os.environ['LOCAL_RANK']}"
    return ExperimentConfig(model_name=args.model, memory_layer_positions=parse_layer_positions(args.memory_layers), device=device)


def setup_logging(log_dir: str | Path, filename: str) -> Path:
    """Log to the console and to log_dir/filename; returns the log file path."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / filename
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.StreamHandler(sys.stderr), logging.FileHandler(path)],
        force=True,
    )
    for noisy in ("httpx", "urllib3", "transformers.modeling_utils"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
