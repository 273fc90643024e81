"""Episodes: the one description of a user's past and the question that tests it, for training,
validation, evaluation and the benchmark alike.

An Episode is one user's past: a sequence of conversations (each one user message, or a lapse of time
given as decay cycles), then a question asked in a new conversation. Systems see the same episodes; they
differ only in what they keep of the past.

Training episodes (`make_items`) use the training names and phrasings. Evaluation episodes draw names
from the test split of seam.tasks.data.split_names with the training run's sizes and seed, so no name
asked about was ever trained on; introductions, corrections and questions use the
held-out phrasings (HELDOUT_INTROS, HELDOUT_CORRECTIONS, HELDOUT_QUESTIONS), which training never saw
either. Beyond names, four personal facts (city, pet's name, favourite colour, job) are stated once,
with values from Faker.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from faker import Faker

from .data import (
    ANSWER,
    DECAY_BETWEEN_CONVERSATIONS,
    DISTRACTORS,
    HELDOUT_CORRECTIONS,
    HELDOUT_INTROS,
    HELDOUT_QUESTIONS,
    TRAIN_CORRECTIONS,
    TRAIN_INTROS,
    TRAIN_QUESTIONS,
)


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
EXPECTS = ("value", "abstain", "general", "no_leak", "acknowledge", "silent")


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
    name frame (see scoring.NAME_FRAME)."""
    asks: dict[int, str]
    """After how many turns the question is asked, and the results row each answer counts towards."""
    forbidden: list[str] = field(default_factory=list)
    """Values whose mention makes the reply a miss: the value before an update, a confusable fact, other
    users' values; for an abstention or a leak check, what the user did tell. For the names suite's
    unrelated question ("silent") the user's own name, whose mention is counted apart (see `leaks`)."""
    case_sensitive: bool = True
    group: int | None = None
    """Episodes of one group run side by side in the same batches (the multi-user task)."""
    expect: str = ""
    """What a hit is (see seam.tasks.scoring): "value" (default when `expected` is set), "abstain",
    "general", "no_leak", "acknowledge" or "silent" (default when `expected` is None)."""
    accepted: tuple[str, ...] = ()
    """For a general question: the accepted answers (any one is a hit)."""
    abstention_counts: bool = False
    """Whether an abstention makes a "value" reply a miss even if it names the value (the memory
    benchmark's rule; the names suite predates it)."""
    meta: dict[str, str] = field(default_factory=dict)
    """What the reports break rows down by: fact kind, name style, phrasing, ..."""
    reply: str = ""
    """The reply training teaches (seam.tasks.mix): the kind's answer sentence or its "not told" sentence;
    "" for the names task (its `answer`) and for general questions (the frozen model's own reply)."""
    history: list[dict[str, str]] = field(default_factory=list)
    """Messages of the question's own conversation before it ({"role", "content"}): the question is asked
    inside a conversation, not as its first message (the training mix's in-conversation episodes)."""

    def __post_init__(self) -> None:
        if not self.expect:
            self.expect = "silent" if self.expected is None else "value"
        if self.expect not in EXPECTS:
            raise ValueError(f"Episode {self.user}: expect must be one of {', '.join(EXPECTS)}, got {self.expect!r}.")
        bad = [k for k in self.asks if not 0 <= k <= len(self.turns)]
        if bad:
            raise ValueError(f"Episode {self.user}: asks after {bad} turns, but it has {len(self.turns)}.")

    @property
    def answer(self) -> str:
        """The reply training teaches for a name question: "Your name is {expected}."."""
        return ANSWER.format(name=self.expected)

    def messages(self) -> list[str]:
        """The user messages of the past, in order (without the lapses of time)."""
        return [t for t in self.turns if isinstance(t, str)]


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


def make_items(
    names: list[str],
    heldout_phrasings: bool,
    seed: int,
    max_distractors: int = 0,
    num_distractors: int | None = None,
    correction_fraction: float = 0.0,
    user_prefix: str = "train",
) -> list[Episode]:
    """Name episodes for training and validation: one per name, with phrasings drawn from the training or
    the held-out set; 0..max_distractors (or exactly num_distractors) unrelated conversations around the
    introduction, DECAY_BETWEEN_CONVERSATIONS decay cycles between conversations. A `correction_fraction`
    of the episodes first introduce another name of the same list, then correct it to theirs (the old
    name is forbidden in the answer)."""
    rng = random.Random(seed)
    intros = HELDOUT_INTROS if heldout_phrasings else TRAIN_INTROS
    questions = HELDOUT_QUESTIONS if heldout_phrasings else TRAIN_QUESTIONS
    corrections = HELDOUT_CORRECTIONS if heldout_phrasings else TRAIN_CORRECTIONS
    episodes = []
    for i, name in enumerate(names):
        k = num_distractors if num_distractors is not None else rng.randint(0, max_distractors)
        correct = len(names) > 1 and rng.random() < correction_fraction
        old = rng.choice([n for n in names[:50] if n != name]) if correct else None
        intro = rng.choice(intros).format(name=old or name)
        question = rng.choice(questions)
        distractors = [rng.choice(DISTRACTORS) for _ in range(k)]
        told = [intro] + ([rng.choice(corrections).format(old=old, name=name)] if correct else [])
        conversations = distractors[: k // 2] + told + distractors[k // 2 :]
        turns: list[Turn] = [conversations[0]]
        for message in conversations[1:]:
            turns += [Decay(DECAY_BETWEEN_CONVERSATIONS), message]
        episodes.append(Episode("recall", f"{user_prefix}-{i}", turns, question, name, {len(turns): "recall"},
                                forbidden=[old] if old else []))
    return episodes
