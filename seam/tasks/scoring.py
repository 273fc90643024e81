"""How a reply is scored: the one set of rules for training's validation, the evaluation and the demo.

A hit needs the whole expected value as a word (or phrase) of the reply, and none of the episode's
forbidden values (the name before a correction, another user's name). Names are matched
case-sensitively, other facts case-insensitively (see Episode.case_sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .episodes import Episode

NAME_FRAME = re.compile(r"\s*Your name is\b")
"""The sentence SEAM was trained to answer with. Other facts answered in it ('Your name is purple.') are
recalled but put in the wrong sentence; an unrelated question answered in it is memory taking over."""


def mentions(reply: str, value: str, case_sensitive: bool = True) -> bool:
    """Whether `value` occurs as a whole word (or phrase) of `reply`: 'Ann' is not in 'Anna'."""
    if not case_sensitive:
        reply, value = reply.casefold(), value.casefold()
    return re.search(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", reply) is not None


def mentions_any(reply: str, values: Sequence[str], case_sensitive: bool = True) -> bool:
    return any(mentions(reply, v, case_sensitive) for v in values)


def score_reply(reply: str, expected: str, forbidden: Sequence[str] = (), case_sensitive: bool = True) -> bool:
    """A hit needs the whole expected value and none of the forbidden ones (old name, other users' names)."""
    return mentions(reply, expected, case_sensitive) and not mentions_any(reply, forbidden, case_sensitive)


def leaks(episode: Episode, reply: str) -> bool:
    """Whether the reply mentions one of the episode's forbidden values (for an unrelated question: the
    user's name slipped into the answer mid-sentence, "The capital of Australia is Fiorino.")."""
    return mentions_any(reply, episode.forbidden, episode.case_sensitive)


def score_episode(episode: Episode, reply: str) -> bool:
    """An episode's answer: its expected value (and no forbidden one), or for an unrelated question
    (expected None) a reply that does not take the name frame."""
    if episode.expected is None:
        return NAME_FRAME.match(reply) is None
    return score_reply(reply, episode.expected, episode.forbidden, episode.case_sensitive)
