"""The whole benchmark run: load the model, give it the benchmark's users, run every section, write the results."""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..lm.checkpoint import load_trained_model, pretrained_checkpoint
from ..lm.config import ExperimentConfig
from ..lm.model import MemoryAugmentedModel
from .config import BenchmarkConfig
from .report import targets, write_results
from .sections import (
    READ_USER,
    WRITE_USER,
    bench_footprint,
    bench_generation,
    bench_history,
    bench_profile,
    bench_training,
    bench_writes,
    full_memory,
)
from .timing import _cpu_seconds, _load, _others_share

log = logging.getLogger(__name__)


def load_model(cfg: BenchmarkConfig) -> tuple[MemoryAugmentedModel, str]:
    """The model with cfg.checkpoint, else the shipped trained memory weights if asked for and present, else with
    untrained memory layers (the costs are the same). Returns the model and what it holds: the checkpoint path or
    "untrained"."""
    if cfg.checkpoint is not None:
        if not Path(cfg.checkpoint).is_file():
            raise FileNotFoundError(f"No SEAM checkpoint at {cfg.checkpoint}.")
        model, _ = load_trained_model(ExperimentConfig(model_name=cfg.model_name), Path(cfg.checkpoint))
        return model, cfg.checkpoint
    checkpoint: Path | None = pretrained_checkpoint(cfg.model_name) if cfg.pretrained else None
    if checkpoint is not None and not checkpoint.is_file():
        log.warning("No shipped SEAM checkpoint for base model %r (looked for %s). Benchmarking untrained memory layers "
                    "(costs are the same).", cfg.model_name, checkpoint)
        checkpoint = None
    model, _ = load_trained_model(ExperimentConfig(model_name=cfg.model_name), checkpoint)
    return model, str(checkpoint) if checkpoint is not None else "untrained"


def environment(model: MemoryAugmentedModel, cfg: BenchmarkConfig, checkpoint: str) -> dict:
    """What the numbers were measured on: model, memory sizes, threads, library versions, the config."""
    import transformers

    text_cfg = model.base.config.get_text_config()
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model.config.model_name,
        "checkpoint": checkpoint,
        "base_layers": text_cfg.num_hidden_layers,
        "hidden_size": text_cfg.hidden_size,
        "memory_layer_positions": model.config.memory_layer_positions,
        "memory_config": model.config.memory.to_dict(),
        "max_context": model.max_context,
        "device": str(model.device),
        "dtype": str(next(model.base.parameters()).dtype),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "config": asdict(cfg),
    }


def run_benchmark(model: MemoryAugmentedModel, cfg: BenchmarkConfig, checkpoint: str = "given") -> dict:
    """All sections on `model`; returns the results (write them with write_results)."""
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    results: dict = {"environment": environment(model, cfg, checkpoint), "seconds": {}, "load_average": {"start": _load()},
                     "other_processes_cpu_share": {}}
    if results["load_average"]["start"] > 0.5:
        log.warning("The machine is busy (1-minute load average %.2f before starting): other processes share the cores, "
                    "so absolute speeds will be low and noisy; the interleaved ratios are still comparable.",
                    results["load_average"]["start"])
    memory = full_memory(model, cfg.seed)
    model.users.set(READ_USER, memory)
    model.users.set(WRITE_USER, [s.clone() for s in memory])
    sections: list[tuple[str, Callable[[], object]]] = [
        ("generation", lambda: bench_generation(model, cfg)),
        ("write", lambda: bench_writes(model, cfg)),
        ("history", lambda: bench_history(model, cfg)),
        ("memory", lambda: bench_footprint(model, cfg, 1 / results["generation"]["base"]["tokens_per_s"])),
        ("profile", lambda: bench_profile(model, cfg)),
        ("training", lambda: bench_training(model, cfg)),
    ]
    start = time.perf_counter()
    try:
        for name, fn in tqdm(sections, desc="benchmark", unit="section"):
            t0, cpu0 = time.perf_counter(), _cpu_seconds()
            log.info("section %s ...", name)
            out = fn()
            if name == "profile":
                results["profile"], results["profile_text"] = out
            elif name == "memory":
                results.update(out)
            else:
                results[name] = out
            results["seconds"][name] = time.perf_counter() - t0
            results["load_average"][name] = _load()
            others = results["other_processes_cpu_share"][name] = _others_share(cpu0, results["seconds"][name])
            log.info("section %s done in %.1f s (other processes used %.0f%% of the CPUs)", name, results["seconds"][name], 100 * others)
            if others > 0.05:
                log.warning("Other processes used %.0f%% of the CPUs during section %s: its timings are noisy.", 100 * others, name)
    finally:
        model.users.drop([READ_USER, WRITE_USER])
    results["seconds"]["total"] = time.perf_counter() - start
    results["targets"] = targets(results)
    return results


def main_from_config(cfg: BenchmarkConfig) -> tuple[dict, dict[str, Path]]:
    """Load the model, run every section, write the results (what bench/run.py calls)."""
    model, checkpoint = load_model(cfg)
    try:
        results = run_benchmark(model, cfg, checkpoint)
    finally:
        model.detach()
    return results, write_results(results, cfg.output_dir)
