"""Evaluation of SEAM against memory-less, in-context and retrieval baselines on held-out episodes."""

from .harness import SYSTEMS, TASKS, EvalConfig, evaluate, run_episodes
from .tasks import Episode, mentions, score_episode, score_reply

__all__ = ["SYSTEMS", "TASKS", "EvalConfig", "Episode", "evaluate", "mentions", "run_episodes", "score_episode", "score_reply"]
