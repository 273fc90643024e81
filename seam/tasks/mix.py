"""The training mix: episodes of the memory benchmark's kinds, drawn from the training (or validation) split,
each with the reply training teaches.

The same generator as the benchmark (seam.tasks.suite: values, phrasings, unrelated conversations and
general questions of one split), so training sees every trained fact kind, every name style, several facts
in one turn, facts spread over conversations with unrelated ones between, corrections and changes,
questions about facts never stated, and general questions asked with a realistic memory loaded. The test
split's values and phrasings and the held-out kinds are never drawn (`TrainingMix` refuses split "test").

Targets: a value question is answered with the kind's answer sentence ("You live in Cluj-Napoca."), a
question about a fact never told with the kind's "not told" sentence ("You haven't told me where you
live."); a general question has no written target (`expect="general"`): training matches the frozen
model's own next-token distribution over its reply (see seam.training.loss).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import general
from .episodes import Decay, Episode, Turn
from .facts import BREADTH_KINDS, FACT_KINDS, RELATIONS, FactKind, article, correction_phrasings, fill, phrasings
from .suite import BINDINGS, CONFUSABLE_CITY, CONFUSABLE_PET, Draw, SuiteBuilder

MIX = (
    ("fact", 0.25),
    ("binding", 0.10),
    ("spread", 0.12),
    ("retention", 0.06),
    ("update", 0.12),
    ("abstain", 0.08),
    ("general", 0.27),
    ("abstain_empty", 0.0),
    ("general_empty", 0.0),
    ("statement_empty", 0.0),
    ("breadth", 0.0),
    ("breadth_abstain", 0.0),
)
"""Kinds of training episode and their shares (the general share trains "leave the model alone"). The
abstention share was 0.12 for the first retrained checkpoint: it learned the "not told" sentence as the
fallback for every read that missed (37 % of told facts answered "not told"); 0.06 (with fact 0.28, spread
0.14, general 0.24) until step 1050 of the shipped lineage: once the read generalised, questions about facts
never told got another told value (15 % said "not told").

`abstain_empty` (a question about the user asked of an empty memory) and `general_empty` (a general question
or request from a user whose memory is empty) train what a read says to a stranger, which only a design with
something in an empty memory's read can change (`MemoryConfig.abstain_slot`); `statement_empty` (a new user's first
message states a fact, "Hello! My name is Alice.": the reply reads the memory as it was before the message, empty,
and must be the frozen model's own, not "You haven't told me your name yet.") keeps that read from answering an
introduction with the "not told" sentence. They weigh 0 by default, so the
default mix, and every earlier run's `--mix`, draws the same episodes as before they existed.

`breadth` (session 34) asks about a kind of fact only trained and never in the benchmark (facts.BREADTH_KINDS: an
instrument, a car, a doctor's name, an allergy...), told among 0-3 other facts: the answer is the target, so that an
unfamiliar question stops predicting "not told" by itself; `breadth_abstain` asks about one never told while 0-3
facts of other kinds were: the "not told" sentence. Both weigh 0 by default, as above. The first version drew them as
one kind, told half the time: the read, unable yet to tell an unfamiliar kind told from one never told, learned "not
told" as half the answer to questions worded like the breadth kinds' ("Do you remember ...?"), and on the test split
told facts of trained kinds asked so were refused more often (results/design/breadth_kinds/)."""
AFTER_FACT = 0.4
"""Share of general episodes asked right after a fact in the same conversation (the statement and an
acknowledgement before the question, the statement also written): the case where the read answered every
unrelated request with the fact just told ("Your name is Alice.")."""
IN_CONVERSATION = 0.25
"""Share of episodes whose question is asked inside a conversation (after one exchange: a general question
and its answer) rather than as a new conversation's first message."""
NAME_SHARE = 0.4
"""Share of single-fact episodes about the user's name (the rest: the other trained kinds, evenly)."""
MAX_UNRELATED = 8
"""Retention episodes put up to this many unrelated conversations after the fact."""


@dataclass
class MixConfig:
    """Shares of the training mix (see MIX) and of questions asked inside a conversation (IN_CONVERSATION)."""

    shares: tuple[tuple[str, float], ...] = MIX
    in_conversation: float = IN_CONVERSATION

    def choose(self, rng: random.Random) -> str:
        kinds, weights = zip(*self.shares)
        return rng.choices(kinds, weights)[0]


def mix_shares(changes: str) -> tuple[tuple[str, float], ...]:
    """MIX with some shares changed, from "kind=share,..." (e.g. "retention=0.15,fact=0.19"; "" keeps MIX).
    Shares are relative weights (they need not sum to 1); a ValueError names an unknown kind or a bad share."""
    shares = dict(MIX)
    for part in filter(None, (x.strip() for x in changes.split(","))):
        kind, sep, value = part.partition("=")
        kind = kind.strip()
        if not sep or kind not in shares:
            raise ValueError(f"mix: {part!r} is not kind=share with a kind among {', '.join(shares)}.")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not share >= 0 or share == float("inf"):
            raise ValueError(f"mix: the share of {kind} must be a number >= 0, got {value.strip()!r}.")
        shares[kind] = share
    if not sum(shares.values()) > 0:
        raise ValueError("mix: at least one share must be above 0.")
    return tuple(shares.items())


class TrainingMix:
    """Draws training episodes of one split ("train", or "val" for validation) from a seeded RNG."""

    def __init__(self, split: str = "train", seed: int = 0, config: MixConfig | None = None):
        if split == "test":
            raise ValueError("The training mix never draws from the test split (the benchmark's).")
        self.split, self.seed, self.config = split, seed, config or MixConfig()
        self.suite = SuiteBuilder(split, seed=seed)
        self.kinds = list(self.suite.trained)
        self.breadth_kinds = list(BREADTH_KINDS.values())
        self.general = general.general_questions(split)
        self.prompts = general.general_prompts(split)

    # -- pieces -------------------------------------------------------------------------------------
    def _value_episode(self, i: int, turns: list[Turn], kind: FactKind, value: str, slots: dict, question: str, task: str,
                       forbidden: list[str] = ()) -> Episode:
        reply = fill(kind.answer, value, **slots)
        return Episode(task, f"{self.split}-{task}-{i}", turns, question, value, {len(turns): task}, forbidden=list(forbidden),
                       case_sensitive=kind.case_sensitive, abstention_counts=True, reply=reply, meta={"kind": kind.name})

    def _never_told(self, task: str, i: int, turns: list[Turn], asked: FactKind, slots: dict, rng: random.Random,
                    told: list[str] = ()) -> Episode:
        """A question about `asked`, never stated in `turns` (which told the values `told`): the kind's "not told"
        sentence is the target."""
        return Episode(task, f"{self.split}-{task.replace('_', '-')}-{i}", turns, self.suite.ask(asked, rng, slots), None,
                       {len(turns): task}, forbidden=list(told), expect="abstain", abstention_counts=True,
                       reply=fill(asked.unknown, "", **slots), meta={"kind": asked.name})

    def _other_facts(self, asked: FactKind, kinds: list[FactKind], counts: tuple[int, ...], rng: random.Random,
                     draw: Draw) -> tuple[list[Turn], list[str]]:
        """A past around a question about `asked`: facts of a few (one of `counts`) of `kinds` that are neither it nor
        drawn from its pool, one statement each, and 30 % of the time an unrelated message among them -> (turns, values)."""
        turns: list[Turn] = []
        told: list[str] = []
        others = [k for k in kinds if k.name != asked.name and k.pool != asked.pool]
        for kind in rng.sample(others, rng.choice(counts)):
            value, statement, _, _ = self.suite.fact(kind, draw, rng)
            turns.append(statement)
            told.append(value)
        if rng.random() < 0.3:
            turns.insert(rng.randint(0, len(turns)), rng.choice(self.suite.unrelated))
        return turns, told

    def _general_question(self, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        """A general question with its accepted answers (60 %), or an open request with none."""
        if rng.random() < 0.6:
            question, accepted = rng.choice(self.general)
            return question, tuple(accepted)
        return rng.choice(self.prompts), ()

    def _kind(self, rng: random.Random) -> FactKind:
        if rng.random() < NAME_SHARE:
            return FACT_KINDS["name"]
        return rng.choice([k for k in self.kinds if k.name != "name"])

    # -- episode kinds --------------------------------------------------------------------------------
    def fact(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        kind = self._kind(rng)
        value, statement, slots, question = self.suite.fact(kind, draw, rng)
        return self._value_episode(i, [statement], kind, value, slots, question, "fact")

    def binding(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """Three facts in one turn (name, job, city) or a confusable pair; one of them asked."""
        which = rng.random()
        if which < 0.5:
            name, _ = draw.name()
            job, city = draw.value("job"), draw.value("city")
            turn = rng.choice(phrasings(BINDINGS, self.split)).format(name=name, job=job, city=city, article=article(job))
            kind_name, value = rng.choice((("name", name), ("job", job), ("city", city)))
            kind = FACT_KINDS[kind_name]
            return self._value_episode(i, [turn], kind, value, {}, self.suite.ask(kind, rng, {}), "binding",
                                       forbidden=[v for v in (name, job, city) if v != value])
        if which < 0.75:
            name, _ = draw.name()
            pet, species = draw.value("pet_name"), draw.value("species")
            turn = rng.choice(phrasings(CONFUSABLE_PET, self.split)).format(name=name, pet=pet, species=species)
            kind_name, value, other, slots = rng.choice((("name", name, pet, {}), ("pet", pet, name, {"species": species})))
        else:
            city, other_city = draw.value("city"), draw.value("city")
            relation = rng.choice(RELATIONS)
            turn = rng.choice(phrasings(CONFUSABLE_CITY, self.split)).format(city=city, other=other_city, relation=relation)
            kind_name, value, other, slots = rng.choice((("city", city, other_city, {}),
                                                         ("sibling_city", other_city, city, {"relation": relation})))
        kind = FACT_KINDS[kind_name]
        return self._value_episode(i, [turn], kind, value, slots, self.suite.ask(kind, rng, slots), "confusable", forbidden=[other])

    def spread(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A realistic past (facts over several conversations, unrelated ones between); one fact asked."""
        kinds = rng.sample(self.kinds, rng.randint(2, 4))
        turns: list[Turn] = []
        facts = []
        for kind in kinds:
            value, statement, slots, question = self.suite.fact(kind, draw, rng)
            facts.append((kind, value, slots, question))
            if rng.random() < 0.5:
                turns.append(rng.choice(self.suite.unrelated))
            turns.append(statement)
        kind, value, slots, question = rng.choice(facts)
        return self._value_episode(i, turns, kind, value, slots, question, "spread", forbidden=[f[1] for f in facts if f[1] != value])

    def retention(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A fact, then unrelated conversations or time passing."""
        kind = self._kind(rng)
        value, statement, slots, question = self.suite.fact(kind, draw, rng)
        turns: list[Turn] = [statement]
        for _ in range(rng.randint(1, MAX_UNRELATED)):
            turns.append(rng.choice(self.suite.unrelated) if rng.random() < 0.8 else Decay(rng.choice((1, 5, 10))))
        return self._value_episode(i, turns, kind, value, slots, question, "retention")

    def update(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A correction (after 1-3 statements of the old value) or a change over time: the new value wins."""
        changeable = [k for k in self.kinds if self.suite.templates(k, "changes")]
        if rng.random() < 0.4 and changeable:
            kind = rng.choice(changeable)
            old, statement, slots, question = self.suite.fact(kind, draw, rng)
            new = draw.name()[0] if kind.name == "name" else draw.value(kind.pool)
            turns = [statement, fill(rng.choice(self.suite.templates(kind, "changes")), new, **slots)]
            return self._value_episode(i, turns, kind, new, slots, question, "change", forbidden=[old])
        kind = self._kind(rng)
        old, _, slots, question = self.suite.fact(kind, draw, rng)
        new = draw.name()[0] if kind.name == "name" else draw.value(kind.pool)
        olds = [self.suite.state(kind, old, rng, slots) for _ in range(rng.randint(1, 3))]
        fix = fill(rng.choice(correction_phrasings(self.split)), new, old=old, statement=self.suite.state(kind, new, rng, slots),
                   **slots)
        return self._value_episode(i, [*olds, fix], kind, new, slots, question, "correction", forbidden=[old])

    def abstain(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A question about a fact never stated: an empty memory, unrelated talk, or other facts told."""
        asked = rng.choice(self.kinds)
        slots = self.suite.slots(asked, rng, draw)
        turns, told = self._other_facts(asked, self.kinds, (0, 1, 2, 3), rng, draw)
        return self._never_told("abstain", i, turns, asked, slots, rng, told)

    def abstain_empty(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A question about a fact asked of an empty memory (a new user): the reply says it was never told."""
        asked = rng.choice(self.kinds)
        return self._never_told("abstain_empty", i, [], asked, self.suite.slots(asked, rng, draw), rng)

    def general_empty(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A general question or an open request from a user whose memory is empty: the frozen model's reply is
        the target (what a read of an empty memory must leave alone)."""
        question, accepted = self._general_question(rng)
        return Episode("general_empty", f"{self.split}-general-empty-{i}", [], question, None, {0: "general_empty"},
                       expect="general", accepted=accepted, abstention_counts=True)

    def statement_empty(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A new user's first message states a fact (an introduction): the frozen model's reply is the target."""
        kind = self._kind(rng)
        value, statement, _, _ = self.suite.fact(kind, draw, rng)
        return Episode("statement_empty", f"{self.split}-statement-empty-{i}", [], statement, None, {0: "statement_empty"},
                       expect="general", abstention_counts=True, meta={"kind": kind.name})

    def breadth(self, i: int, rng: random.Random, draw: Draw, told: bool = True) -> Episode:
        """A breadth kind (facts.BREADTH_KINDS) asked: told among 0-3 other facts (the answer is the target), or with
        `told` False never told while 0-3 facts of other kinds were (the "not told" sentence is)."""
        asked = rng.choice(self.breadth_kinds)
        turns, stated = self._other_facts(asked, self.kinds + self.breadth_kinds, (0, 1, 1, 2, 3), rng, draw)
        if told:
            value, statement, slots, question = self.suite.fact(asked, draw, rng)
            turns.insert(rng.randint(0, len(turns)), statement)
            return self._value_episode(i, turns, asked, value, slots, question, "breadth", forbidden=stated)
        return self._never_told("breadth_abstain", i, turns, asked, {}, rng, stated)

    def breadth_abstain(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        return self.breadth(i, rng, draw, told=False)

    def general_episode(self, i: int, rng: random.Random, draw: Draw) -> Episode:
        """A general question or an open request, asked by a user whose memory holds a realistic past (some
        right after stating one of its facts in the same conversation: AFTER_FACT)."""
        after_fact = rng.random() < AFTER_FACT
        turns, told, _ = self.suite.profile(draw, rng, any_last=after_fact)
        question, accepted = self._general_question(rng)
        history = self.suite.after_fact(turns[-1], rng) if after_fact else []
        return Episode("general", f"{self.split}-general-{i}", turns, question, None, {len(turns): "general"}, forbidden=told,
                       expect="general", accepted=accepted, abstention_counts=True, history=history)

    # -- the mix ----------------------------------------------------------------------------------------
    def episodes(self, n: int, seed: int) -> list[Episode]:
        """n episodes drawn from the mix, the same for the same seed."""
        rng = random.Random(f"mix/{self.split}/{self.seed}/{seed}")
        draw = Draw(self.split, random.Random(f"mix-values/{self.split}/{self.seed}/{seed}"))
        build = {"fact": self.fact, "binding": self.binding, "spread": self.spread, "retention": self.retention,
                 "update": self.update, "abstain": self.abstain, "general": self.general_episode,
                 "abstain_empty": self.abstain_empty, "general_empty": self.general_empty,
                 "statement_empty": self.statement_empty, "breadth": self.breadth,
                 "breadth_abstain": self.breadth_abstain}
        episodes = []
        for i in range(n):
            episode = build[self.config.choose(rng)](i, rng, draw)
            if rng.random() < self.config.in_conversation and not episode.history:
                question, accepted = rng.choice(self.general)
                episode.history = [{"role": "user", "content": question}, {"role": "assistant", "content": f"{accepted[0]}."}]
            episodes.append(episode)
        return episodes

