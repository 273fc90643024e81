"""The training mix: every kind of episode the benchmark asks about, from the training split only."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from seam.tasks import general, values
from seam.tasks.facts import BREADTH_KINDS, FACT_KINDS, KNOWN_KINDS, phrasings
from seam.tasks.mix import MIX, MixConfig, TrainingMix, mix_shares
from seam.tasks.scoring import abstains
from seam.tasks.suite import ACKNOWLEDGEMENTS


@pytest.fixture(scope="module")
def episodes():
    return TrainingMix("train", seed=0).episodes(600, seed=0)


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{[a-z]+\})", template)
    return re.compile("^" + "".join(".+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def test_the_mix_holds_every_kind_of_training_episode(episodes):
    tasks = Counter(e.task for e in episodes)
    assert {"fact", "binding", "confusable", "spread", "retention", "correction", "change", "abstain", "general"} <= set(tasks)
    trained = {k.name for k in FACT_KINDS.values() if not k.never_trained}
    assert {e.meta["kind"] for e in episodes if e.meta} == trained
    assert max(len(e.turns) for e in episodes) >= 5 and any(len(e.turns) == 0 for e in episodes)
    assert abs(tasks["general"] / len(episodes) - dict(MIX)["general"]) < 0.06


def test_the_mix_never_draws_test_values_test_phrasings_or_held_out_kinds(episodes):
    assert not {e.meta.get("kind") for e in episodes} & {k.name for k in FACT_KINDS.values() if k.never_trained}
    test_names = {v for style in values.NAME_STYLES for v in values.person_names(style, "test")}

    def test_pool(kind: str) -> set[str]:  # values are split per kind ("Dallas" may be a test name and a training city)
        pool = FACT_KINDS[kind].pool
        return test_names if pool == "person_name" else set(values.values(pool, "test"))

    told = [(e.expected, e.meta["kind"]) for e in episodes if e.expected]
    assert told and not [(v, kind) for v, kind in told if v in test_pool(kind)]
    test_questions = [_pattern(q) for k in FACT_KINDS.values() if k.only_split in (None, "test")  # the others have no test phrasing
                      for q in (k.questions if k.one_split else phrasings(k.questions, "test"))]
    asked = [e.question for e in episodes if e.expect != "general"]
    assert asked and not [q for q in asked if any(p.match(q) for p in test_questions)]
    test_general = {q for q, _ in general.general_questions("test")} | set(general.general_prompts("test"))
    assert not {e.question for e in episodes} & test_general
    unrelated_test = set(general.unrelated_messages("test"))
    assert not {t for e in episodes for t in e.messages()} & unrelated_test


def test_targets_answer_with_the_value_or_say_it_was_never_told(episodes):
    for e in episodes:
        if e.expect == "value":
            assert e.expected in e.reply and not abstains(e.reply)
            assert not any(f in e.reply for f in e.forbidden)
        elif e.expect == "abstain":
            assert abstains(e.reply) and e.expected is None
        else:
            assert e.expect == "general" and e.reply == ""


def test_the_test_split_is_refused():
    with pytest.raises(ValueError, match="test split"):
        TrainingMix("test")


def test_the_same_seed_draws_the_same_episodes():
    a, b = TrainingMix("train", seed=1).episodes(50, seed=2), TrainingMix("train", seed=1).episodes(50, seed=2)
    assert [(e.turns, e.question, e.reply) for e in a] == [(e.turns, e.question, e.reply) for e in b]
    c = TrainingMix("train", seed=1).episodes(50, seed=3)
    assert [e.question for e in a] != [e.question for e in c]


def test_some_questions_are_asked_inside_a_conversation_after_one_exchange(episodes):
    inside = [e for e in episodes if e.history and not (e.turns and e.history[0]["content"] == e.turns[-1])]  # not after a fact
    assert 0.15 < len(inside) / len(episodes) < 0.35
    assert all([m["role"] for m in e.history] == ["user", "assistant"] for e in inside)
    assert {e.expect for e in inside} >= {"value", "abstain", "general"}
    asked = {q for q, _ in general.general_questions("train")}
    assert all(e.history[0]["content"] in asked for e in inside)  # training's own questions, never the test split's


def test_some_general_questions_come_right_after_a_fact_stated_in_the_same_conversation(episodes):
    general_episodes = [e for e in episodes if e.task == "general"]
    after = [e for e in general_episodes if e.history and e.history[0]["content"] == e.turns[-1]]
    assert 0.25 < len(after) / len(general_episodes) < 0.55
    acks = {e.history[1]["content"] for e in after}
    assert acks <= set(phrasings(ACKNOWLEDGEMENTS, "train")) and len(acks) > 1
    assert len({e.turns[-1].split()[-1] for e in after}) > 10  # many different facts, not one kind stated last


def test_changed_shares_move_the_mix_and_keep_the_other_kinds():
    shares = mix_shares("retention=0.30, general=0")
    assert dict(shares) == {**dict(MIX), "retention": 0.30, "general": 0.0}
    tasks = Counter(e.task for e in TrainingMix("train", seed=0, config=MixConfig(shares=shares)).episodes(300, seed=0))
    assert tasks["general"] == 0 and tasks["retention"] / 300 > 0.2
    assert mix_shares("") == MIX


@pytest.mark.parametrize("text, words", [("bogus=0.1", "bogus=0.1"), ("retention", "kind=share"), ("retention=-1", "number >= 0"),
                                         ("retention=x", "number >= 0"), (",".join(f"{k}=0" for k, _ in MIX), "above 0")])
def test_a_bad_mix_is_refused_with_a_sentence_naming_it(text, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        mix_shares(text)


def test_empty_memory_kinds_ask_a_stranger_and_weigh_nothing_unless_named():
    shares = mix_shares("abstain_empty=1,general_empty=1," + ",".join(f"{k}=0" for k, _ in MIX if not k.endswith("_empty")))
    drawn = TrainingMix("train", seed=0, config=MixConfig(shares=shares)).episodes(200, seed=0)
    assert {e.task for e in drawn} == {"abstain_empty", "general_empty"}
    assert all(e.turns == [] and not e.forbidden for e in drawn)
    for e in drawn:
        if e.task == "abstain_empty":
            assert e.expect == "abstain" and abstains(e.reply) and e.meta["kind"] in {k.name for k in FACT_KINDS.values()}
        else:
            assert e.expect == "general" and e.reply == ""
    firsts = TrainingMix("train", seed=0, config=MixConfig(shares=mix_shares(",".join(f"{k}=0" for k, _ in MIX) + ",statement_empty=1")))
    for e in firsts.episodes(40, seed=1):  # a new user's first message states a fact: the frozen model's reply is the target
        assert e.task == "statement_empty" and e.turns == [] and e.expect == "general" and not e.accepted
        kind = FACT_KINDS[e.meta["kind"]]
        assert not any(_pattern(t).match(e.question) for t in (() if kind.train_only else phrasings(kind.statements, "test")))
        assert e.question not in {q for q, _ in general.general_questions("train")}
    default = TrainingMix("train", seed=0).episodes(300, seed=4)  # the zero shares leave the default draws as they were
    without = TrainingMix("train", seed=0, config=MixConfig(shares=tuple(s for s in MIX if s[1] > 0))).episodes(300, seed=4)
    assert [(e.task, e.turns, e.question) for e in default] == [(e.task, e.turns, e.question) for e in without]
    assert not {e.task for e in default} & {"abstain_empty", "general_empty", "statement_empty"}


def test_every_episode_with_other_stored_values_forbids_them_in_its_answer(episodes):
    """What the wrong-value term trains against: the other values of a turn or a past, the confusable one, the old one."""
    for task in ("binding", "confusable", "correction", "change"):
        rows = [e for e in episodes if e.task == task]
        assert rows and all(e.forbidden for e in rows), task
    for e in (e for e in episodes if e.task in ("binding", "spread", "confusable") and e.forbidden):
        assert e.expected not in e.forbidden and all(any(f in t for t in e.messages()) for f in e.forbidden)
    spread = [e for e in episodes if e.task == "spread"]
    assert spread and all(len(e.forbidden) >= 1 for e in spread)


@pytest.fixture(scope="module")
def breadth_episodes():
    only = mix_shares(",".join(f"{k}=0" for k, _ in MIX) + ",breadth=3,breadth_abstain=1")
    return TrainingMix("train", seed=0, config=MixConfig(shares=only)).episodes(300, seed=0)


def test_breadth_episodes_ask_each_breadth_kind_told_or_never_told_with_the_true_reply(breadth_episodes):
    assert {e.meta["kind"] for e in breadth_episodes} == set(BREADTH_KINDS)
    tasks = Counter(e.task for e in breadth_episodes)
    assert set(tasks) == {"breadth", "breadth_abstain"} and abs(tasks["breadth"] / len(breadth_episodes) - 0.75) < 0.08
    for e in breadth_episodes:
        kind = BREADTH_KINDS[e.meta["kind"]]
        said = [t for t in e.turns if isinstance(t, str)]
        stated = [t for t in said if any(_pattern(s).match(t) for s in kind.statements)]
        if e.task == "breadth":  # told once, among other facts: the answer sentence with the told value
            assert e.expect == "value" and len(stated) == 1 and e.expected in stated[0]
            assert e.reply == kind.answer.format(value=e.expected) and e.expected in values.values(kind.pool, "train")
        else:  # never told while other kinds were: the kind's own "not told" sentence
            assert e.expect == "abstain" and not stated and e.reply == kind.unknown and abstains(e.reply)
        assert all(any(f in t for t in said) for f in e.forbidden)
    assert any(e.task == "breadth_abstain" and e.forbidden for e in breadth_episodes)  # refusals with facts in memory too


def test_breadth_kinds_hold_no_benchmark_kind_no_held_out_value_and_weigh_nothing_unless_named():
    held = {k.pool for k in FACT_KINDS.values() if k.never_trained}  # language, sport, birthday; drink, colleague's names
    for kind in BREADTH_KINDS.values():
        assert kind.train_only and kind.name not in FACT_KINDS and kind.pool not in held - {"sibling_name"}, kind.name
        assert len(values.values(kind.pool, "train")) >= 20, kind.name
        assert not set(values.values(kind.pool, "train")) & set(values.values(kind.pool, "test"))
    never = {values.fold(v) for k in FACT_KINDS.values() if k.held_out for v in values.values(k.pool, "test")}
    told = {values.fold(v) for kind in BREADTH_KINDS.values() for v in values.values(kind.pool, "train")}
    assert not told & never  # no language, sport or birthday of the test split is a breadth kind's training value
    default = TrainingMix("train", seed=0).episodes(300, seed=4)  # the default mix draws as it did before they existed
    assert not {e.meta.get("kind") for e in default} & set(BREADTH_KINDS)
    assert all(KNOWN_KINDS[k] is FACT_KINDS[k] for k in FACT_KINDS) and all(KNOWN_KINDS[k] is BREADTH_KINDS[k] for k in BREADTH_KINDS)


def test_breadth_kinds_are_neither_asked_nor_answered_like_a_benchmark_kind():
    """A breadth question worded like a benchmark kind's, and never told half the time, teaches the read to refuse that
    kind: a nickname ("What do my friends call me?") made "Remind me, what am I called?" a refusal of the user's name."""
    def bare(template: str) -> str:
        return re.sub(r"\{\w+\}", "", template.split("{value}")[0]).strip().lower()

    benchmark = {k.name: k for k in FACT_KINDS.values()}
    answers = {bare(k.answer) for k in benchmark.values()}
    questions = {q.lower() for k in benchmark.values() for q in k.questions}
    for kind in BREADTH_KINDS.values():
        assert bare(kind.answer) not in answers, kind.name
        assert not {q.lower() for q in kind.questions} & questions, kind.name
        assert not any(word in q.lower() for q in kind.questions for word in ("call me", "am i called", "my name", "do i live")), kind.name
