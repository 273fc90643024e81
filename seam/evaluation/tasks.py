"""Evaluation episodes and how a reply is scored.

An Episode is one user's past: a sequence of conversations (each one user message, or a lapse of time
given as decay cycles), then a question asked in a new conversation. Systems see the same episodes; they
differ only in what they keep of the past.

Names come from the test split of seam.training.data.split_names with the training run's sizes and
seed, so no name asked about was ever trained on; introductions, corrections and questions use the
held-out phrasings (HELDOUT_INTROS, HELDOUT_CORRECTIONS, HELDOUT_QUESTIONS), which training never saw
either. Beyond names, four personal facts (city, pet's name, favourite colour, job) are stated once,
with values from Faker.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from faker import Faker

from ..training.data import DISTRACTORS, HELDOUT_CORRECTIONS, HELDOUT_INTROS, HELDOUT_QUESTIONS, name_recalled


NAME_FRAME = re.compile(r"\s*Your name is\b")
"""The sentence SEAM was trained to answer with. Other facts answered in it ('Your name is purple.') are
recalled but put in the wrong sentence; an unrelated question answered in it is memory taking over."""


@dataclass(frozen=True)
class FactKind:
    """A personal fact: how the user states it, how they ask for it, how the value is matched."""

    statement: str
    question: str
    case_sensitive: bool
    """Names are matched case-sensitively (as in training); cities, colours and jobs case-insensitively."""


FACT_KINDS = {
    "city": FactKind("I live in {value}.", "Where do I live?", case_sensitive=False),
    "pet": FactKind("My dog is called {value}.", "What is my dog's name?", case_sensitive=True),
    "colour": FactKind("My favourite colour is {value}.", "What is my favourite colour?", case_sensitive=False),
    "job": FactKind("I work as {article} {value}.", "What is my job?", case_sensitive=False),
}


@dataclass(frozen=True)
class Decay:
    """Time passing between two conversations: `cycles` decay cycles of the user's memory."""

    cycles: int


Turn = str | Decay  # a user message opening a new conversation, or time passing


@dataclass
class Episode:
    """One user's past conversations and the question that tests what was kept.

    The question may be asked at several points of the same past (`asks`: number of turns played ->
    results row), e.g. after 1, 5 and 20 unrelated conversations: asking never changes what a system
    keeps, so one pass through the longest past measures every shorter one.
    """

    task: str
    user: str
    turns: list[Turn]
    question: str
    expected: str | None
    """The value the reply must mention; None for an unrelated question, whose reply must stay out of the
    name frame (see NAME_FRAME)."""
    asks: dict[int, str]
    """After how many turns the question is asked, and the results row each answer counts towards."""
    forbidden: list[str] = field(default_factory=list)
    """Values whose mention makes the reply a miss: the name before a correction, other users' names; for
    an unrelated question the user's own name, whose mention is counted apart (see `leaks`), not a miss."""
    case_sensitive: bool = True
    group: int | None = None
    """Episodes of one group run side by side in the same batches (the multi-user task)."""

    def __post_init__(self) -> None:
        bad = [k for k in self.asks if not 1 <= k <= len(self.turns)]
        if bad:
            raise ValueError(f"Episode {self.user}: asks after {bad} turns, but it has {len(self.turns)}.")


def mentions(reply: str, value: str, case_sensitive: bool = True) -> bool:
    """Whether `value` occurs as a whole word (or phrase) of `reply`: 'Ann' is not in 'Anna'."""
    if case_sensitive:
        return name_recalled(reply, value)
    return name_recalled(reply.casefold(), value.casefold())


def score_reply(reply: str, expected: str, forbidden: list[str] = (), case_sensitive: bool = True) -> bool:
    """A hit needs the whole expected value and none of the forbidden ones (old name, other users' names)."""
    return mentions(reply, expected, case_sensitive) and not mentions_any(reply, forbidden, case_sensitive)


def mentions_any(reply: str, values: list[str], case_sensitive: bool = True) -> bool:
    return any(mentions(reply, v, case_sensitive) for v in values)


def leaks(episode: Episode, reply: str) -> bool:
    """Whether the reply mentions one of the episode's forbidden values (for an unrelated question: the
    user's name slipped into the answer mid-sentence, "The capital of Australia is Fiorino.")."""
    return mentions_any(reply, episode.forbidden, episode.case_sensitive)


def score_episode(episode: Episode, reply: str) -> bool:
    if episode.expected is None:
        return NAME_FRAME.match(reply) is None
    return score_reply(reply, episode.expected, episode.forbidden, episode.case_sensitive)


# -- episode builders ---------------------------------------------------------------------------------


def _pick(rng: random.Random, names: list[str], n: int) -> list[str]:
    if n > len(names):
        raise ValueError(f"Asked for {n} distinct held-out names but the test split has {len(names)}.")
    return rng.sample(names, n)


def _introductions(names: list[str], n: int, seed: int) -> list[tuple[str, str, str]]:
    """(name, introduction, question) for n held-out names: the same for the same seed."""
    rng = random.Random(seed)
    return [(name, rng.choice(HELDOUT_INTROS).format(name=name), rng.choice(HELDOUT_QUESTIONS)) for name in _pick(rng, names, n)]


def recall_episodes(names: list[str], n: int, seed: int, distractors: tuple[int, ...] = (), retention_items: int = 0,
                    decay_cycles: tuple[int, ...] = ()) -> list[Episode]:
    """Introduction, then the question (row "recall"); then each episode goes on in one of two ways.

    The first `retention_items` episodes: up to max(distractors) unrelated conversations, the question
    asked again after each count k (row "retention k=<k>"). The others: time passes, the question asked
    again after each total of decay cycles (row "decay <c>"). Asking never changes what a system keeps,
    so the later asks measure exactly what a fresh episode with that past would.
    """
    longest = max(distractors, default=0)
    if longest > len(DISTRACTORS):
        raise ValueError(f"At most {len(DISTRACTORS)} distinct unrelated conversations are available, asked for {longest}.")
    totals = sorted({c for c in decay_cycles if c > 0})
    episodes = []
    for i, (name, intro, question) in enumerate(_introductions(names, n, seed)):
        if i < retention_items:
            rest: list[Turn] = random.Random(seed * 7919 + i).sample(DISTRACTORS, longest)
            asks = {1 + k: f"retention k={k}" for k in distractors if k > 0}
        else:
            rest = [Decay(b - a) for a, b in zip([0, *totals], totals)]
            asks = {2 + j: f"decay {c}" for j, c in enumerate(totals)}
        episodes.append(Episode("recall", f"recall-{i}", [intro, *rest], question, name, {1: "recall", **asks}))
    return episodes


def unrelated_question_episodes(names: list[str], n: int, seed: int) -> list[Episode]:
    """Introduction, then an unrelated question in a new conversation: the reply should answer it, not say
    "Your name is ..." (a side effect of a memory trained on names only)."""
    rng = random.Random(seed)
    return [
        Episode("unrelated", f"unrelated-{i}", [intro], rng.choice(DISTRACTORS), None, {1: "unrelated"}, forbidden=[name])
        for i, (name, intro, _) in enumerate(_introductions(names, n, seed))
    ]


def correction_episodes(names: list[str], n: int, seed: int, reinforcements: int = 3) -> list[Episode]:
    """The initial name stated in `reinforcements` conversations, then corrected once; the new name must win."""
    rng = random.Random(seed)
    chosen = _pick(rng, names, 2 * n)
    episodes = []
    for i in range(n):
        old, new = chosen[2 * i], chosen[2 * i + 1]
        intros = [HELDOUT_INTROS[(i + r) % len(HELDOUT_INTROS)].format(name=old) for r in range(reinforcements)]
        correction = rng.choice(HELDOUT_CORRECTIONS).format(old=old, name=new)
        episodes.append(Episode("correction", f"correction-{i}", [*intros, correction], rng.choice(HELDOUT_QUESTIONS),
                                expected=new, asks={reinforcements + 1: "correction"}, forbidden=[old]))
    return episodes


def multi_user_episodes(names: list[str], n: int, seed: int, group_size: int = 4) -> list[Episode]:
    """Groups of `group_size` users who talk in turns (each: introduction, one unrelated conversation),
    then each asks. A hit needs the user's own name and no other group member's."""
    if n % group_size:
        raise ValueError(f"The multi-user task needs a multiple of {group_size} users, got {n}.")
    rng = random.Random(seed)
    chosen = _pick(rng, names, n)
    episodes = []
    for g in range(n // group_size):
        group = chosen[g * group_size : (g + 1) * group_size]
        for j, name in enumerate(group):
            turns: list[Turn] = [rng.choice(HELDOUT_INTROS).format(name=name), rng.choice(DISTRACTORS)]
            episodes.append(Episode("multi_user", f"multi-{g}-{j}", turns, rng.choice(HELDOUT_QUESTIONS), name,
                                    asks={len(turns): "multi_user"}, forbidden=[o for o in group if o != name], group=g))
    return episodes


def fact_values(kind: str, n: int, seed: int, names: list[str]) -> list[str]:
    """n values of a fact kind: Faker cities, held-out first names for pets, safe colour names, simple jobs."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    if kind == "city":
        return [fake.city() for _ in range(n)]
    if kind == "pet":
        return _pick(rng, names, n)
    if kind == "colour":
        return [fake.safe_color_name() for _ in range(n)]
    if kind == "job":
        jobs = sorted(_simple_jobs())
        return [rng.choice(jobs) for _ in range(n)]
    raise ValueError(f"Unknown fact kind {kind!r}; known: {', '.join(FACT_KINDS)}.")


def _simple_jobs() -> set[str]:
    """Faker's job titles without commas or brackets ('Engineer, civil (consulting)' cannot be matched fairly)."""
    from faker.providers.job.en_US import Provider

    return {j.lower() for j in Provider.jobs if re.fullmatch(r"[A-Za-z ]+", j) and len(j.split()) <= 3}


def fact_episodes(kind: str, names: list[str], n: int, seed: int) -> list[Episode]:
    """A personal fact stated once, asked in a new conversation."""
    spec = FACT_KINDS[kind]
    episodes = []
    for i, value in enumerate(fact_values(kind, n, seed, names)):
        article = "an" if value[0].lower() in "aeiou" else "a"
        statement = spec.statement.format(value=value, article=article)
        episodes.append(Episode("facts", f"fact-{kind}-{i}", [statement], spec.question, value,
                                asks={1: f"facts {kind}"}, case_sensitive=spec.case_sensitive))
    return episodes
