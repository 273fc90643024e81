"""How a reply is scored: the one set of rules for training's validation, the evaluation and the demo.

Rules, by what an episode expects (Episode.expect):
- "value": a hit needs the whole expected value as words of the reply (not a part of a longer word:
  'Ann' is not in 'Anna', 'Porto' is not in 'Portofino'), none of the episode's forbidden values (the
  value before an update, a confusable fact, another user's value), and no abstention: a reply that
  says it does not know is a miss even if it then names the value ("I don't know, maybe Porto?"), and
  is counted apart as a told fact answered "not told".
- "abstain": a hit needs an abstention ("You haven't told me", "I don't know", ...; see ABSTENTION),
  no guess after it ("maybe", "perhaps", "probably", ...; see GUESS) and none of the forbidden values
  (what the user did tell).
- "general": a general-knowledge question; a hit needs one of the accepted answers (case-insensitive).
- "no_leak": an unrelated request; a hit is a reply that mentions none of the forbidden values (the
  user's facts).
- "acknowledge": a new user's first message states a fact; a hit is any reply that does not say it was never
  told (the user is telling it right now).
- "silent": the names suite's unrelated question: a hit is a reply not in the name frame ("Your name
  is ..."); a mention of the forbidden name is counted apart as a leak.
Names are matched case-sensitively, other facts case-insensitively (Episode.case_sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .episodes import Episode

NAME_FRAME = re.compile(r"\s*Your name is\b")
"""The sentence SEAM was trained to answer with. Other facts answered in it ('Your name is purple.') are
recalled but put in the wrong sentence; an unrelated question answered in it is memory taking over."""


ABSTENTION = re.compile(
    r"\b(i\s+(?:do\s+not|don'?t|really\s+don'?t)\s+(?:know|remember|recall|have\s+(?:that|this|any|access|information|your|a\s+record))"
    r"|i(?:'m|\s+am)\s+not\s+sure|i\s+(?:can'?t|cannot|can\s+not)\s+(?:know|tell|recall|remember|say|access)"
    r"|(?:you\s+)?(?:haven'?t|have\s+not|didn'?t|did\s+not|never)\s+(?:told|mentioned|said|shared|given|tell|mention|say|share)"
    r"|not\s+(?:been\s+)?told|no\s+(?:information|idea|record)|i\s+have\s+no\s+(?:way|idea|information|record)"
    r"|(?:isn'?t|is\s+not|wasn'?t|was\s+not)\s+(?:something\s+)?(?:mentioned|shared|known|something\s+you))",
    re.IGNORECASE,
)
"""Phrases that say the assistant does not know (was never told)."""
GUESS = re.compile(r"\b(maybe|perhaps|probably|i\s+guess|might\s+be|could\s+be|my\s+guess|likely)\b", re.IGNORECASE)
"""Words that turn an abstention into a guess."""


def abstains(reply: str) -> bool:
    """Whether the reply says it does not know (or was not told)."""
    return ABSTENTION.search(reply) is not None


def guesses(reply: str) -> bool:
    return GUESS.search(reply) is not None


def mentions(reply: str, value: str, case_sensitive: bool = True) -> bool:
    """Whether `value` occurs as whole words of `reply`: not inside a longer word ('Ann' is not in 'Anna',
    'Søren' is not in 'Sørensen'); letters of any alphabet count as word characters."""
    if not case_sensitive:
        reply, value = reply.casefold(), value.casefold()
    return re.search(rf"(?<![^\W\d_]){re.escape(value)}(?![^\W\d_])", reply) is not None


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
    """Whether the reply is what the episode expects (the rules are in the module docstring)."""
    expect = episode.expect
    if expect == "silent":
        return NAME_FRAME.match(reply) is None
    if expect == "abstain":
        return abstains(reply) and not guesses(reply) and not mentions_any(reply, episode.forbidden, episode.case_sensitive)
    if expect == "general":
        return mentions_any(reply, episode.accepted, case_sensitive=False)
    if expect == "no_leak":
        return not mentions_any(reply, episode.forbidden, episode.case_sensitive)
    if expect == "acknowledge":
        return not abstains(reply)
    if episode.abstention_counts and abstains(reply):
        return False
    return score_reply(reply, episode.expected, episode.forbidden, episode.case_sensitive)
