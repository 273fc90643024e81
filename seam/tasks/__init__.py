"""Tasks: what users say and ask (names, phrasings, splits), the one Episode type, the one episode player
and the one scorer. Training, validation, evaluation and the benchmark all build on these."""

from .data import DISTRACTORS, UNRELATED_QUESTIONS, NameSplits, SplitSizes, split_names
from .episodes import FACT_KINDS, Decay, Episode, Turn, make_items
from .player import SeamSystem, System, run_episodes, steps
from .scoring import NAME_FRAME, leaks, mentions, mentions_any, score_episode, score_reply

__all__ = [
    "DISTRACTORS",
    "FACT_KINDS",
    "NAME_FRAME",
    "UNRELATED_QUESTIONS",
    "Decay",
    "Episode",
    "NameSplits",
    "SeamSystem",
    "SplitSizes",
    "System",
    "Turn",
    "leaks",
    "make_items",
    "mentions",
    "mentions_any",
    "run_episodes",
    "score_episode",
    "score_reply",
    "split_names",
    "steps",
]
