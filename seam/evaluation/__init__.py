"""Evaluation of SEAM against memory-less, in-context and retrieval baselines on held-out episodes."""

from .harness import SYSTEMS, TASKS, EvalConfig, evaluate

__all__ = ["SYSTEMS", "TASKS", "EvalConfig", "evaluate"]
