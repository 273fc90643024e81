"""The memory benchmark's items: what people actually tell an assistant, generated offline per split.

One generator serves the benchmark (split "test") and training (split "train", validation "val"):
values come from seam.tasks.values, phrasings from seam.tasks.facts, unrelated conversations and general
questions from seam.tasks.general, each with disjoint splits, so test values, test phrasings and the
held-out kinds never reach training. Categories, each one or more rows:

  fact          a fact stated once, asked in a new conversation: names of five styles, the other trained
                kinds, and the kinds never trained
  binding       three facts in one turn, each asked apart; confusable facts (a pet's name and the user's,
                a sibling's city and the user's), where answering with the other one is a miss
  retention     a fact, then 1 / 5 / 20 / 50 unrelated conversations; or 10 / 50 decay cycles
  update        corrections after 1 and after 3 statements of the old value; changes over time
  abstention    a question about a fact never stated, with an empty memory or after other facts
  no_harm       general questions with known answers, and unrelated requests answered at length (leaks),
                asked by a user whose memory holds a realistic past
  isolation     users interleaved in groups of 4: each gets their own fact and never another's
  names_v1      the project's original name-recall row (first names, its own held-out phrasings)

Every episode of a category is built from one seeded random.Random: the same items for every system.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field

from . import facts, general, values
from .data import SplitSizes, split_names
from .episodes import Decay, Episode, Turn, recall_episodes
from .facts import FACT_KINDS, RELATIONS, FactKind, correction_phrasings, fill, phrasings
from .paraphrases import TRAIN_ONLY
from .player import TaskRun

GENERAL_ROW = "no harm: general questions"
"""The no-harm row whose general questions open a new conversation."""
GENERAL_INSIDE_ROW = "no harm: inside a conversation"
"""The no-harm row whose general questions follow one exchange of the same conversation."""
GENERAL_AFTER_FACT_ROW = "no harm: right after a fact"
"""The no-harm row whose general questions come right after the user stated a fact in the same
conversation (the statement is in the context and, written, in memory): "Hi, I'm Alice." - "Nice to
meet you!" - "How do I keep basil plants alive?"."""
GENERAL_EMPTY_ROW = "no harm: empty memory"
"""The no-harm row whose general questions come from a user whose memory is empty (a new user): the read of an
empty memory is exactly zero unless the design gives it something to read (`MemoryConfig.abstain_slot`)."""
INTRODUCTION_ROW = "no harm: a new user's first fact"
"""The no-harm row whose episodes are a new user's first message stating a fact ("Hello! My name is Alice."): the
reply reads the memory as it was before the message (empty) and is a hit unless it says it was never told."""
LOADED = ", realistic memory loaded"
GENERAL_ROWS = ((GENERAL_ROW, "no_harm", "", LOADED), (GENERAL_INSIDE_ROW, "no_harm_in_conversation", "inside a conversation", LOADED),
                (GENERAL_AFTER_FACT_ROW, "no_harm_after_fact", "right after a fact, in the same conversation", LOADED),
                (GENERAL_EMPTY_ROW, "no_harm_empty_memory", "with an empty memory", ""))
"""The general-question rows: (row, the benchmark results' key of its answers lost, where its questions are asked,
what memory holds when they are asked)."""
ACKNOWLEDGEMENTS = (
    "Nice to meet you!",
    "Thanks for telling me.",
    "Good to know, thanks.",
    "Got it, thanks for letting me know.",
    "Noted, thank you!",
    "Thanks, that's good to know.",
    "Great, I'll keep that in mind.",
    "Lovely, thanks for sharing.",
    "Okay, thanks!",
    "Thanks for sharing that with me.",
    "Understood.",
    "Good to hear from you!",
)
"""The assistant's reply to a stated fact in a conversation that goes on (split like every phrasing)."""
BINDINGS = (
    "I'm {name}, {article} {job} from {city}.",
    "Hi! My name is {name}, I work as {article} {job} and I live in {city}.",
    "Hello, I am {name}. I live in {city} and I'm {article} {job}.",
    "Nice to meet you! I'm {name}, I live in {city}, and I work as {article} {job}.",
    "{name} here: {article} {job}, living in {city}.",
    "Call me {name}; I'm {article} {job} based in {city}.",
    "My name's {name}, I'm from {city}, and I work as {article} {job}.",
    "I'm {article} {job} called {name}, and home is {city}.",
)
"""Three facts in one turn (name, job, city), split like every phrasing (seam.tasks.facts.phrasings)."""
CONFUSABLE_PET = (
    "My {species} is called {pet} and I'm {name}.",
    "I'm {name}, and my {species}'s name is {pet}.",
    "Hi, {name} here! I have a {species} named {pet}.",
    "{pet} is my {species}; my own name is {name}.",
    "My name is {name}. My {species} is {pet}.",
    "Meet {pet}, my {species}. I'm {name}.",
    "This is {name}, and this is my {species} {pet}.",
    "I'm {name} and I live with my {species}, {pet}.",
)
CONFUSABLE_CITY = (
    "I live in {city}, and my {relation} lives in {other}.",
    "My {relation} is based in {other}, while I live in {city}.",
    "I'm in {city}; my {relation} moved to {other}.",
    "My home is {city}. My {relation}'s home is {other}.",
    "I live in {city} but my {relation} lives in {other}.",
    "My {relation} lives in {other}, and I live in {city}.",
    "Home for me is {city}; for my {relation} it's {other}.",
    "I reside in {city}, my {relation} in {other}.",
)
WELL_KNOWN_CITY_SHARE = 0.5
"""Half the cities drawn are well-known ones (Porto, Kraków, São Paulo); the rest come from the long tail of
real towns (Faker's per-locale lists), which users live in too."""
_WORLD_CITIES = frozenset(values.WORLD_CITIES)
TRAINED_PROFILE_KINDS = ("name", "city", "job", "pet")
"""The facts of a 'realistic past' (no-harm rows): a user who said who they are, where they live, what they
do and their pet's name, over five conversations (one of them about something else)."""


@dataclass
class SuiteSizes:
    """How many episodes each category holds (rows with fewer than 100 say so in the table's n)."""

    names_per_style: int = 20
    """Single-fact episodes per name style (5 styles)."""
    per_kind: int = 10
    """Single-fact episodes per other trained kind (10 kinds)."""
    held_out_per_kind: int = 20
    """Single-fact episodes per kind never trained (3 held-out kinds in the test split, 4 validation-only kinds in val)."""
    binding: int = 40
    """Three-facts-in-one-turn items (each asked three times)."""
    confusable: int = 50
    """Confusable pairs (half pet/name, half own/sibling city), each asked twice."""
    retention: int = 25
    """Episodes asked after each count of unrelated conversations (each writes max(retention_after) + 1 messages)."""
    retention_after: tuple[int, ...] = (1, 5, 20, 50)
    decay: int = 100
    decay_cycles: tuple[int, ...] = (10, 50)
    corrections: int = 100
    """Corrections after one statement of the old value."""
    corrections_reinforced: int = 50
    """Corrections after three statements of the old value."""
    changes: int = 100
    """Changes over time ("I moved to ...")."""
    abstain_empty: int = 100
    abstain_other: int = 100
    general: int = 200
    """General questions (the no-harm row keeps those the bare model answers right)."""
    general_in_conversation: int = 60
    """General questions asked inside a conversation, after one exchange (scored like the general row)."""
    general_after_fact: int = 60
    """General questions asked right after a stated fact, in the same conversation (scored like the general row)."""
    general_empty_memory: int = 200
    """General questions asked by a user whose memory is empty (scored like the general row; added in session 18)."""
    introductions: int = 100
    """A new user's first message stating a fact of a trained kind: replies that say "never told" (added in session 18)."""
    general_baselines: int = 50
    """Of those, how many the in-context and retrieval baselines answer (each with its own realistic past)."""
    leaks: int = 100
    leak_tokens: int = 48
    """Reply length of the leak check."""
    leak_baselines: int = 30
    """Of the leak checks, how many the in-context and retrieval baselines make (48-token replies to long prompts)."""
    isolation: int = 100
    names_v1: int = 100
    long_history_items: int = 10
    """The in-context baseline is asked after 20 or more conversations on only this many episodes."""
    in_context_items: int = 30
    """The in-context baseline (every past conversation replayed in its prompt) answers the first this many
    episodes of each other row: most of a run's time at full size, and its n is shown."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def quick(cls) -> "SuiteSizes":
        """About a tenth: an inner loop for training work (minutes, not tens of minutes)."""
        return cls(names_per_style=6, per_kind=3, held_out_per_kind=6, binding=8, confusable=10, retention=10,
                   retention_after=(1, 5, 20), decay=20, corrections=20, corrections_reinforced=10, changes=20,
                   abstain_empty=20, abstain_other=20, general=60, general_in_conversation=20,
                   general_after_fact=20, general_empty_memory=20, introductions=20, general_baselines=20, leaks=20, leak_baselines=10,
                   isolation=20,
                   names_v1=20)


@dataclass
class Draw:
    """Values of one split drawn without replacement (a value is used once per category, so a reply is
    never right by coincidence with another episode of the batch)."""

    split: str
    rng: random.Random
    used: dict[str, set[str]] = field(default_factory=dict)

    def value(self, pool: str, style: str | None = None) -> str:
        candidates = values.person_names(style, self.split) if style else values.values(pool, self.split)
        if pool == "city" and self.rng.random() < WELL_KNOWN_CITY_SHARE:
            candidates = [c for c in candidates if c in _WORLD_CITIES] or candidates
        seen = self.used.setdefault(f"{pool}/{style}", set())
        free = [v for v in candidates if v not in seen] or list(candidates)  # a small pool repeats once exhausted
        choice = self.rng.choice(free)
        seen.add(choice)
        return choice

    def name(self) -> tuple[str, str]:
        style = self.rng.choice(values.NAME_STYLES)
        return self.value("person_name", style), style


def as_written(told: list[str]) -> list[str]:
    """Told values to look for as written, lower-case ones (jobs, foods) also capitalised as at the start of a
    sentence: matched case-sensitively, a town called "Most" is not the word "most"."""
    return told + [v[:1].upper() + v[1:] for v in told if v[:1].islower()]


VALUE_FIRST, AFTER_FRAME = "value first", "after its frame"


def said(message: str, value: str) -> str:
    """Where a message says its value: first ("Thimphu, not Salzburg.", "Chloe is my turtle.": no word before it tells
    what it is) or after its frame ("I live in Thimphu.")."""
    return VALUE_FIRST if message.lower().startswith(value.lower()) else AFTER_FRAME


class SuiteBuilder:
    """Builds the benchmark's categories for one split (`test` for the benchmark)."""

    def __init__(self, split: str = "test", sizes: SuiteSizes | None = None, seed: int = 0):
        self.split, self.sizes, self.seed = split, sizes or SuiteSizes(), seed
        self.kinds = [k for k in facts.kinds_in(split)]
        self.trained = [k for k in self.kinds if not k.never_trained]
        self.unrelated = general.unrelated_messages(split)

    # -- phrasing ---------------------------------------------------------------------------------------
    def _rng(self, category: str) -> random.Random:
        return random.Random(f"{self.seed}/{self.split}/{category}")

    def templates(self, kind: FactKind, act: str) -> tuple[str, ...]:
        """The phrasings of `act` (statements, questions, changes) that this split uses for `kind`: its share of
        the kind's own, and in the training split also the training-only ones (seam.tasks.paraphrases)."""
        if kind.one_split:  # never trained, or only trained: every phrasing is its split's
            return getattr(kind, act)
        own = {"statements": kind.states, "questions": kind.asks, "changes": kind.changes_in}[act](self.split)
        return own + TRAIN_ONLY.get(kind.name, {}).get(act, ()) if self.split == "train" else own

    def slots(self, kind: FactKind, rng: random.Random, draw: Draw) -> dict[str, str]:
        slots = {}
        if "{species}" in " ".join(kind.statements + kind.questions):
            slots["species"] = draw.value("species")
        if "{relation}" in " ".join(kind.statements + kind.questions):
            slots["relation"] = rng.choice(RELATIONS)
        return slots

    def state(self, kind: FactKind, value: str, rng: random.Random, slots: dict[str, str]) -> str:
        return fill(rng.choice(self.templates(kind, "statements")), value, **slots)

    def ask(self, kind: FactKind, rng: random.Random, slots: dict[str, str]) -> str:
        return fill(rng.choice(self.templates(kind, "questions")), "", **slots)

    def fact(self, kind: FactKind, draw: Draw, rng: random.Random, style: str | None = None) -> tuple[str, str, dict[str, str], str]:
        """(value, statement, slots, question) of one fact of `kind`."""
        if kind.name == "name":
            value = draw.value("person_name", style) if style else draw.name()[0]
        else:
            value = draw.value(kind.pool)
        slots = self.slots(kind, rng, draw)
        return value, self.state(kind, value, rng, slots), slots, self.ask(kind, rng, slots)

    def _episode(self, category: str, i: int, turns: list[Turn], question: str, expected: str | None, asks: dict[int, str],
                 kind: FactKind | None = None, **extra) -> Episode:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", category).strip("-")
        return Episode(category, f"{slug}-{i}", turns, question, expected, asks,
                       case_sensitive=kind.case_sensitive if kind else False, abstention_counts=True, **extra)

    # -- categories -------------------------------------------------------------------------------------
    def single_facts(self) -> list[TaskRun]:
        s, runs = self.sizes, []
        rng, draw = self._rng("fact"), Draw(self.split, self._rng("fact-values"))
        name = FACT_KINDS["name"]
        eps = []
        for _ in range(s.names_per_style):  # round-robin: any first n episodes mix every style
            for style in values.NAME_STYLES:
                value, statement, slots, question = self.fact(name, draw, rng, style)
                eps.append(self._episode("fact-name", len(eps), [statement], question, value, {1: "fact: name"}, name,
                                         meta={"kind": "name", "style": style, "said": said(statement, value)}))
        runs.append(TaskRun("fact: name", {"fact: name": "fact stated once: the user's name (5 styles)"}, eps))
        for key, label, chosen, n in (
            ("fact: trained kinds", "fact stated once: other trained kinds", [k for k in self.trained if k.name != "name"], s.per_kind),
            ("fact: kinds never trained", "fact stated once: kinds never trained", [k for k in self.kinds if k.never_trained],
             s.held_out_per_kind),
        ):
            eps = []
            for _ in range(n):  # round-robin: any first n episodes mix every kind
                for kind in chosen:
                    value, statement, slots, question = self.fact(kind, draw, rng)
                    eps.append(self._episode(f"fact-{kind.name}", len(eps), [statement], question, value, {1: key}, kind,
                                             meta={"kind": kind.name, "said": said(statement, value)}))
            if eps:
                runs.append(TaskRun(key, {key: label}, eps))
        return runs

    def binding(self) -> list[TaskRun]:
        s = self.sizes
        rng, draw = self._rng("binding"), Draw(self.split, self._rng("binding-values"))
        templates = phrasings(BINDINGS, self.split)
        bound, confusable = [], []
        for i in range(s.binding):
            name, style = draw.name()
            job, city = draw.value("job"), draw.value("city")
            turn = rng.choice(templates).format(name=name, job=job, city=city, article=facts.article(job))
            for kind_name, value in (("name", name), ("job", job), ("city", city)):
                kind = FACT_KINDS[kind_name]
                bound.append(self._episode("binding", len(bound), [turn], self.ask(kind, rng, {}), value, {1: "binding"}, kind,
                                           meta={"kind": kind_name, "style": style} if kind_name == "name" else {"kind": kind_name}))
        for i in range(s.confusable):
            if i % 2 == 0:
                name, _ = draw.name()
                pet, species = draw.value("pet_name"), draw.value("species")
                turn = rng.choice(phrasings(CONFUSABLE_PET, self.split)).format(name=name, pet=pet, species=species)
                pairs = (("name", name, pet, {}), ("pet", pet, name, {"species": species}))
                meta = "pet's name / user's name"
            else:
                city, other = draw.value("city"), draw.value("city")
                relation = rng.choice(RELATIONS)
                turn = rng.choice(phrasings(CONFUSABLE_CITY, self.split)).format(city=city, other=other, relation=relation)
                pairs = (("city", city, other, {}), ("sibling_city", other, city, {"relation": relation}))
                meta = "sibling's city / user's city"
            for kind_name, value, confuser, slots in pairs:
                kind = FACT_KINDS[kind_name]
                confusable.append(self._episode("confusable", len(confusable), [turn], self.ask(kind, rng, slots), value,
                                                {1: "confusable"}, kind, forbidden=[confuser],
                                                meta={"kind": kind_name, "pair": meta, "said": said(turn, value)}))
        return [TaskRun("binding", {"binding": "three facts in one turn, each asked apart"}, bound),
                TaskRun("confusable", {"confusable": "confusable facts (the other one in the reply = miss)"}, confusable)]

    def retention(self) -> list[TaskRun]:
        s = self.sizes
        rng, draw = self._rng("retention"), Draw(self.split, self._rng("retention-values"))
        kinds = [FACT_KINDS[k] for k in ("name", "city", "job", "pet")]
        longest = max(s.retention_after, default=0)
        if longest > len(self.unrelated):
            raise ValueError(f"Retention after {longest} conversations needs as many distinct unrelated messages; the "
                             f"{self.split} split has {len(self.unrelated)}.")
        retained, decayed = [], []
        rows = {f"retention k={k}": f"retention: {k} unrelated conversation{'s' * (k > 1)} in between" for k in s.retention_after}
        for i in range(s.retention):
            kind = kinds[i % len(kinds)]
            value, statement, slots, question = self.fact(kind, draw, rng)
            rest = rng.sample(self.unrelated, longest)
            retained.append(self._episode("retention", i, [statement, *rest], question, value,
                                          {1 + k: f"retention k={k}" for k in s.retention_after}, kind, meta={"kind": kind.name}))
        totals = sorted(set(s.decay_cycles))
        for i in range(s.decay):
            kind = kinds[i % len(kinds)]
            value, statement, slots, question = self.fact(kind, draw, rng)
            lapses = [Decay(b - a) for a, b in zip([0, *totals], totals)]
            decayed.append(self._episode("decay", i, [statement, *lapses], question, value,
                                         {2 + j: f"decay {c}" for j, c in enumerate(totals)}, kind, meta={"kind": kind.name}))
        limits = {"in-context": {f"retention k={k}": s.long_history_items for k in s.retention_after if k >= 20}}
        return [TaskRun("retention", rows, retained, limits=limits),
                TaskRun("decay", {f"decay {c}": f"after {c} decay cycles" for c in totals}, decayed)]

    def updates(self) -> list[TaskRun]:
        s = self.sizes
        rng, draw = self._rng("update"), Draw(self.split, self._rng("update-values"))
        correctable = [FACT_KINDS[k] for k in ("name", "city", "job", "employer", "food", "hobby")]
        changeable = [k for k in self.trained if self.templates(k, "changes")]
        corrections = correction_phrasings(self.split)
        runs = []
        for key, label, n, told in (("update: correction after 1", "correction after 1 statement of the old value", s.corrections, 1),
                                    ("update: correction after 3", "correction after 3 statements of the old value",
                                     s.corrections_reinforced, 3)):
            eps = []
            for i in range(n):
                kind = correctable[i % len(correctable)]
                old, _, slots, question = self.fact(kind, draw, rng)
                new = draw.name()[0] if kind.name == "name" else draw.value(kind.pool)
                olds = [self.state(kind, old, rng, slots) for _ in range(told)]
                phrasing = rng.choice(corrections)
                fix = fill(phrasing, new, old=old, statement=self.state(kind, new, rng, slots), **slots)
                eps.append(self._episode(key, i, [*olds, fix], question, new, {told + 1: key}, kind, forbidden=[old],
                                         meta={"kind": kind.name, "phrasing": phrasing, "said": said(fix, new)}))
            runs.append(TaskRun(key, {key: label}, eps))
        eps = []
        for i in range(s.changes if changeable else 0):
            kind = changeable[i % len(changeable)]
            old, statement, slots, question = self.fact(kind, draw, rng)
            new = draw.name()[0] if kind.name == "name" else draw.value(kind.pool)
            change = fill(rng.choice(self.templates(kind, "changes")), new, **slots)
            eps.append(self._episode("update: change", i, [statement, change], question, new, {2: "update: change"}, kind,
                                     forbidden=[old], meta={"kind": kind.name, "said": said(change, new)}))
        if eps:
            runs.append(TaskRun("update: change", {"update: change": "change over time (\"I moved to ...\")"}, eps))
        return runs

    def abstention(self) -> list[TaskRun]:
        s = self.sizes
        rng, draw = self._rng("abstention"), Draw(self.split, self._rng("abstention-values"))
        empty, other = [], []
        for i in range(s.abstain_empty):
            kind = self.trained[i % len(self.trained)]
            slots = self.slots(kind, rng, draw)
            empty.append(self._episode("abstain-empty", i, [], self.ask(kind, rng, slots), None, {0: "abstention: empty memory"},
                                       kind, expect="abstain", meta={"kind": kind.name}))
        for i in range(s.abstain_other):
            asked = self.trained[i % len(self.trained)]
            told_kinds = rng.sample([k for k in self.trained if k.name != asked.name and k.pool != asked.pool], 2)
            told = [self.fact(k, draw, rng) for k in told_kinds]
            slots = self.slots(asked, rng, draw)
            episode = self._episode("abstain-other", i, [t[1] for t in told], self.ask(asked, rng, slots), None,
                                    {len(told): "abstention: other facts told"}, asked, expect="abstain",
                                    forbidden=as_written([t[0] for t in told]), meta={"kind": asked.name})
            episode.case_sensitive = True
            other.append(episode)
        return [TaskRun("abstention: empty memory", {"abstention: empty memory": "never told, empty memory: says so"}, empty),
                TaskRun("abstention: other facts told", {"abstention: other facts told": "never told, other facts told: says so"},
                        other)]

    def profile(self, draw: Draw, rng: random.Random, any_last: bool = False) -> tuple[list[Turn], list[str], list[FactKind]]:
        """A realistic past: TRAINED_PROFILE_KINDS stated in separate conversations, with unrelated ones
        between (any_last: a random one of them stated last). Returns the turns, the values told and their kinds."""
        turns: list[Turn] = []
        told, kinds = [], []
        order = list(TRAINED_PROFILE_KINDS)
        if any_last:
            order.append(order.pop(rng.randrange(len(order))))
        for j, kind_name in enumerate(order):
            kind = FACT_KINDS[kind_name]
            value, statement, _, _ = self.fact(kind, draw, rng)
            turns.append(statement)
            told.append(value)
            kinds.append(kind)
            if j == 1:
                turns.append(rng.choice(self.unrelated))
        return turns, told, kinds

    def after_fact(self, statement: str, rng: random.Random) -> list[dict[str, str]]:
        """A conversation that goes on after the user stated a fact: the statement and an acknowledgement."""
        return [{"role": "user", "content": statement},
                {"role": "assistant", "content": rng.choice(phrasings(ACKNOWLEDGEMENTS, self.split))}]

    def pasts(self, n: int, category: str) -> list[list[Turn]]:
        """n realistic pasts (see `profile`), the same for the same category and seed."""
        rng, draw = self._rng(category), Draw(self.split, self._rng(f"{category}-values"))
        return [self.profile(draw, rng)[0] for _ in range(n)]

    def no_harm(self) -> list[TaskRun]:
        s = self.sizes
        rng, draw = self._rng("no-harm"), Draw(self.split, self._rng("no-harm-values"))
        questions = general.general_questions(self.split)

        def asked(row: str, name: str, turns: list[Turn], question: str, accepted, history=()) -> Episode:
            """A general question scored like every general row (one of its accepted answers)."""
            return Episode("no_harm", name, turns, question, None, {len(turns): row}, case_sensitive=False, expect="general",
                           accepted=tuple(accepted), abstention_counts=True, history=list(history))

        def general_run(row: str, label: str, episodes: list[Episode], loaded: str = ", realistic memory loaded") -> TaskRun:
            """A no-harm row asked of the baselines on their first general_baselines episodes."""
            return TaskRun(row, {row: f"{label}{loaded}"}, episodes,
                           limits={"in-context": {row: s.general_baselines}, "retrieval": {row: s.general_baselines}})

        chosen = random.Random(f"{self.seed}/general").sample(questions, min(s.general, len(questions)))
        answered = [asked(GENERAL_ROW, f"general-{i}", self.profile(draw, rng)[0], question, accepted)
                    for i, (question, accepted) in enumerate(chosen)]
        inside = []
        asked_before = {q for q, _ in chosen}
        rest = [qa for qa in questions if qa[0] not in asked_before] or questions
        for i, (question, accepted) in enumerate(random.Random(f"{self.seed}/general-inside").sample(
                questions, min(s.general_in_conversation, len(questions)))):
            turns = self.profile(draw, rng)[0]
            before, answer = rng.choice([qa for qa in rest if qa[0] != question])
            inside.append(asked(GENERAL_INSIDE_ROW, f"general-inside-{i}", turns, question, accepted,
                                [{"role": "user", "content": before}, {"role": "assistant", "content": f"{answer[0]}."}]))
        prompts = general.general_prompts(self.split)
        leaky = []
        for i in range(s.leaks):
            turns, told, _ = self.profile(draw, rng)
            leaky.append(Episode("leaks", f"leaks-{i}", turns, prompts[i % len(prompts)], None,
                                 {len(turns): "no harm: leaks"}, forbidden=as_written(told), case_sensitive=True, expect="no_leak"))
        after = []
        rng, draw = self._rng("no-harm-after-fact"), Draw(self.split, self._rng("no-harm-after-fact-values"))
        for i, (question, accepted) in enumerate(random.Random(f"{self.seed}/general-after-fact").sample(
                questions, min(s.general_after_fact, len(questions)))):
            turns = self.profile(draw, rng, any_last=True)[0]
            after.append(asked(GENERAL_AFTER_FACT_ROW, f"general-after-fact-{i}", turns, question, accepted,
                               self.after_fact(turns[-1], rng)))
        rng, draw = self._rng("no-harm-introductions"), Draw(self.split, self._rng("no-harm-introductions-values"))
        introductions = []
        for i in range(s.introductions):
            kind = self.trained[i % len(self.trained)]
            introductions.append(Episode("no_harm", f"introduction-{i}", [], self.fact(kind, draw, rng)[1], None, {0: INTRODUCTION_ROW},
                                         expect="acknowledge", meta={"kind": kind.name}))
        empty = [asked(GENERAL_EMPTY_ROW, f"general-empty-{i}", [], question, accepted) for i, (question, accepted) in
                 enumerate(random.Random(f"{self.seed}/general-empty").sample(questions, min(s.general_empty_memory, len(questions))))]
        return [general_run(GENERAL_ROW, "general questions", answered),
                general_run(GENERAL_INSIDE_ROW, "general questions inside a conversation (after one exchange)", inside),
                general_run(GENERAL_AFTER_FACT_ROW, "general questions right after a fact stated in the same conversation", after),
                *([general_run(GENERAL_EMPTY_ROW, "general questions", empty, ", empty memory")] if empty else []),
                *([general_run(INTRODUCTION_ROW, "a new user's first message states a fact: the reply does not say 'never told'",
                               introductions, "")] if introductions else []),
                TaskRun("no harm: leaks", {"no harm: leaks": f"unrelated request, {s.leak_tokens}-token reply: no told fact in it"},
                        leaky, max_new_tokens=s.leak_tokens,
                        limits={"in-context": {"no harm: leaks": s.leak_baselines}, "retrieval": {"no harm: leaks": s.leak_baselines}})]

    def isolation(self) -> list[TaskRun]:
        s = self.sizes
        rng, draw = self._rng("isolation"), Draw(self.split, self._rng("isolation-values"))
        group_size = 4
        eps = []
        for g in range(s.isolation // group_size):
            kind = FACT_KINDS["name" if g % 2 == 0 else "city"]
            members = [self.fact(kind, draw, rng) for _ in range(group_size)]
            for j, (value, statement, slots, question) in enumerate(members):
                others = [m[0] for m in members if m[0] != value]
                eps.append(Episode("isolation", f"isolation-{g}-{j}", [statement, rng.choice(self.unrelated)], question, value,
                                   {2: "isolation"}, forbidden=others, case_sensitive=kind.case_sensitive, group=g,
                                   abstention_counts=True, meta={"kind": kind.name}))
        return [TaskRun("isolation", {"isolation": "4 users interleaved (another user's value = miss)"}, eps)]

    def names_v1(self) -> list[TaskRun]:
        """The original evaluation's name-recall row: Faker first names from the shipped run's test split,
        introduced and asked in its held-out phrasings (comparable with every earlier result)."""
        names = split_names(**SplitSizes().to_dict()).test
        eps = recall_episodes(names, self.sizes.names_v1, self.seed)
        for e in eps:
            e.task, e.user = "names_v1", e.user.replace("recall", "names-v1")
            e.asks = {1: "names v1"}
        return [TaskRun("names v1", {"names v1": "original eval: first name recall (for comparison with earlier results)"}, eps)]

    def runs(self, categories: tuple[str, ...] | None = None) -> list[TaskRun]:
        """Every category's runs, in table order (or only `categories`)."""
        chosen = categories or CATEGORIES
        unknown = [c for c in chosen if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"Unknown categories {', '.join(unknown)}; choose from {', '.join(CATEGORIES)}.")
        builders = {"fact": self.single_facts, "binding": self.binding, "retention": self.retention, "update": self.updates,
                    "abstention": self.abstention, "no_harm": self.no_harm, "isolation": self.isolation, "names_v1": self.names_v1}
        runs = [run for c in CATEGORIES if c in chosen for run in builders[c]()]
        for run in runs:  # the in-context baseline on a part of every row (long pasts: fewer still, set by the category)
            limited = run.limits.setdefault("in-context", {})
            for row in run.rows:
                limited.setdefault(row, self.sizes.in_context_items)
        return runs


CATEGORIES = ("fact", "binding", "retention", "update", "abstention", "no_harm", "isolation", "names_v1")
