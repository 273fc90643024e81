"""The memory benchmark (seam.tasks.suite, seam.tasks.scoring, seam.evaluation.memory_bench): disjoint splits,
every scoring rule, and a whole run's report schema on a tiny model."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import torch
from conftest import CharCountEncoder

from seam.evaluation.memory_bench import MemoryBenchConfig, breakdowns, run_memory_benchmark
from seam.evaluation.report import (
    beyond_noise,
    mcnemar_p,
    memory_markdown,
    paired_comparison,
    paired_markdown,
    plot_results,
    refusals_by_question,
    targets_markdown,
)
from seam.tasks import facts, values
from seam.tasks.episodes import Episode
from seam.tasks.facts import CORRECTIONS, FACT_KINDS, VALIDATION_CORRECTIONS, correction_phrasings, kinds_in, phrasings
from seam.tasks.paraphrases import TRAIN_ONLY
from seam.tasks.scoring import abstains, guesses, mentions, score_episode
from seam.tasks.suite import (
    ACKNOWLEDGEMENTS,
    AFTER_FRAME,
    BINDINGS,
    CATEGORIES,
    CONFUSABLE_CITY,
    CONFUSABLE_PET,
    GENERAL_AFTER_FACT_ROW,
    GENERAL_EMPTY_ROW,
    INTRODUCTION_ROW,
    VALUE_FIRST,
    SuiteBuilder,
    SuiteSizes,
    said,
)

TINY = SuiteSizes(names_per_style=1, per_kind=1, held_out_per_kind=1, binding=1, confusable=2, retention=2, retention_after=(1, 3),
                  decay=2, corrections=2, corrections_reinforced=1, changes=2, abstain_empty=2, abstain_other=2, general=4,
                  general_in_conversation=2, general_after_fact=2, general_empty_memory=2, introductions=2, leaks=2,
                  leak_tokens=6, isolation=4, names_v1=2, long_history_items=1)


def _values_and_texts(split: str) -> tuple[set[str], set[str]]:
    """Every value an episode of the split expects or forbids, and every message and question it says."""
    runs = SuiteBuilder(split, SuiteSizes.quick(), seed=3).runs(tuple(c for c in CATEGORIES if c != "names_v1"))
    said, vals = set(), set()
    for run in runs:
        for e in run.episodes:
            vals |= {v for v in [e.expected, *e.forbidden] if v}
            said |= {t for t in e.turns if isinstance(t, str)} | {e.question}
    return vals, said


# -- splits ---------------------------------------------------------------------------------------------

def test_phrasing_splits_are_disjoint_and_every_split_has_one_of_each_act():
    for kind in FACT_KINDS.values():
        for act in (kind.statements, kind.questions):
            parts = [set(phrasings(act, s)) for s in ("train", "val", "test")]
            assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
            assert all(parts), kind.name
    train, val, test = (set(correction_phrasings(s)) for s in ("train", "val", "test"))
    assert train and val and test and not train & test and not val & test and not train & val
    assert {_loose(t) for t in VALIDATION_CORRECTIONS} & {_loose(t) for t in train | test} == set()
    assert any(t.startswith("{value}") for t in val)  # a validation row sees corrections said value first, as the test split's
    assert not set(phrasings(BINDINGS, "train")) & set(phrasings(BINDINGS, "test"))
    acks = [set(phrasings(ACKNOWLEDGEMENTS, s)) for s in ("train", "val", "test")]
    assert all(acks) and not acks[0] & acks[1] and not acks[0] & acks[2] and not acks[1] & acks[2]


def test_general_questions_right_after_a_fact_follow_that_fact_stated_and_written_in_the_same_conversation():
    run = next(r for r in SuiteBuilder("test", SuiteSizes.quick()).runs(("no_harm",)) if r.key == GENERAL_AFTER_FACT_ROW)
    assert len(run.episodes) == SuiteSizes.quick().general_after_fact
    test_acks = set(phrasings(ACKNOWLEDGEMENTS, "test"))
    statements = {k: [_statement_pattern(t) for t in phrasings(FACT_KINDS[k].statements, "test")] for k in ("name", "city", "job", "pet")}
    last_kinds = set()
    for e in run.episodes:
        stated, ack = e.history
        assert stated == {"role": "user", "content": e.turns[-1]} and ack["role"] == "assistant" and ack["content"] in test_acks
        assert e.expect == "general" and e.accepted
        last_kinds |= {k for k, patterns in statements.items() if any(p.match(e.turns[-1]) for p in patterns)}
    assert len(last_kinds) >= 3  # any fact of the past may be the one just stated, not always the same kind


def _statement_pattern(template: str) -> re.Pattern:
    return re.compile("^" + "".join(".+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{\w+\})", template)) + "$")


def test_held_out_kinds_appear_only_in_the_test_split():
    held = {k.name for k in FACT_KINDS.values() if k.held_out}
    assert len(held) >= 2
    assert held <= {k.name for k in kinds_in("test")}
    assert not held & {k.name for k in kinds_in("train")} and not held & {k.name for k in kinds_in("val")}


def _templates(split: str) -> set[str]:
    """Every phrasing a split uses, its slots made alike ("What is the name of my {}?" for a pet and a sibling)."""
    used = set()
    for kind in kinds_in(split):
        acts = (kind.statements, kind.questions, kind.changes)
        for act in acts:
            used |= set(act if kind.one_split else phrasings(act, split) if len(act) >= 4 else ())
    for act in (BINDINGS, CONFUSABLE_PET, CONFUSABLE_CITY):
        used |= set(phrasings(act, split))
    used |= set(correction_phrasings(split))
    if split == "train":
        used |= {t for acts in TRAIN_ONLY.values() for act in acts.values() for t in act}
    return {re.sub(r"\{\w+\}", "{}", t) for t in used}


def test_training_episodes_never_hold_a_test_value_or_say_a_test_phrasing():
    test_values, test_said = _values_and_texts("test")
    train_values, train_said = _values_and_texts("train")
    val_values, _ = _values_and_texts("val")
    assert not test_values & train_values and not test_values & val_values
    test = _templates("test")
    assert not test & _templates("train"), sorted(test & _templates("train"))[:3]
    assert not test & _templates("val"), sorted(test & _templates("val"))[:3]
    assert not {q for q in test_said if "?" in q} & {q for q in train_said if "?" in q}


def _loose(template: str) -> str:
    """A phrasing with case, punctuation and spelling variants (color/colour) made alike."""
    return re.sub(r"[^a-z{} ]", "", template.lower().replace("color", "colour")).strip()


def test_training_only_phrasings_widen_the_training_split_and_are_no_validation_or_test_phrasing_even_loosely():
    for name, acts in TRAIN_ONLY.items():
        kind = FACT_KINDS[name]
        assert not kind.held_out, name
        for act, extra in acts.items():
            assert extra and len(set(extra)) == len(extra), (name, act)
            held = {_loose(t) for t in phrasings(getattr(kind, act), "val") + phrasings(getattr(kind, act), "test")}
            assert not {_loose(t) for t in extra} & held, (name, act, sorted({_loose(t) for t in extra} & held))
            assert set(extra) <= set(SuiteBuilder("train").templates(kind, act))
            for split in ("val", "test"):
                assert not set(extra) & set(SuiteBuilder(split).templates(kind, act)), (name, act, split)


def test_the_same_seed_builds_the_same_items():
    a = SuiteBuilder("test", TINY, seed=1).runs()
    b = SuiteBuilder("test", TINY, seed=1).runs()
    assert [(e.turns, e.question, e.expected) for r in a for e in r.episodes] == [(e.turns, e.question, e.expected) for r in b
                                                                                    for e in r.episodes]


def test_every_name_style_is_asked():
    run = SuiteBuilder("test", SuiteSizes(names_per_style=2)).single_facts()[0]
    assert {e.meta["style"] for e in run.episodes} == set(values.NAME_STYLES)


# -- scoring --------------------------------------------------------------------------------------------

def _value(expected: str, forbidden=(), case_sensitive=False) -> Episode:
    return Episode("t", "u", ["x"], "q?", expected, {1: "r"}, forbidden=list(forbidden), case_sensitive=case_sensitive,
                   abstention_counts=True)


def test_a_hit_needs_the_whole_value_as_words_in_any_alphabet():
    assert mentions("You live in Porto.", "Porto") and not mentions("You live in Portofino.", "Porto")
    assert mentions("Your name is Søren.", "Søren") and not mentions("Your name is Sørensen.", "Søren")
    assert mentions("Your name is Jean-Luc Picard.", "Jean-Luc Picard") and not mentions("Your name is Jean.", "Jean-Luc")
    assert not score_episode(_value("Hannah Okafor", case_sensitive=True), "Your name is Hannah.")
    assert score_episode(_value("air traffic controller"), "You work as an Air Traffic Controller.")


def test_corrections_are_broken_down_by_phrasing():
    def record(phrasing, hit):
        return {"hit": hit, "meta": {"kind": "city", "phrasing": phrasing}}
    records = [record("{value}, not {old}.", False), record("{value}, not {old}.", False), record("I misspoke earlier. {statement}", True)]
    table = breakdowns({"records": {"seam": {"update: correction after 1": records}}})["update: correction after 1"]
    assert "kind" not in table  # one kind: no breakdown by it
    assert table["phrasing"] == {"I misspoke earlier. {statement}": {"seam": {"n": 1, "accuracy": 1.0}},
                                 "{value}, not {old}.": {"seam": {"n": 2, "accuracy": 0.0}}}


def test_each_told_value_says_whether_its_message_names_it_first_or_after_its_frame():
    assert said("Thimphu, not Salzburg.", "Thimphu") == said("dyeing fabric is my hobby.", "Dyeing fabric") == VALUE_FIRST
    assert said("I live in Thimphu.", "Thimphu") == said("My home is Thimphu.", "Thimphu") == AFTER_FRAME
    runs = {r.key: r for r in SuiteBuilder("test", SuiteSizes(corrections=40, changes=4)).runs(("update", "fact"))}
    fixes = runs["update: correction after 1"].episodes
    for episode in fixes:
        fix = episode.turns[-1]
        assert episode.meta["said"] == (VALUE_FIRST if episode.meta["phrasing"].startswith("{value}") else AFTER_FRAME), fix
    assert {e.meta["said"] for e in fixes} == {VALUE_FIRST, AFTER_FRAME}  # the test split's corrections hold both
    assert all("said" in e.meta for row in ("fact: name", "fact: trained kinds", "update: change") for e in runs[row].episodes)


def test_an_update_is_a_miss_when_the_old_value_is_named_too():
    episode = _value("Porto", forbidden=["Lisbon"])
    assert score_episode(episode, "You live in Porto.")
    assert not score_episode(episode, "You live in Porto, not Lisbon.")
    assert not score_episode(episode, "You live in Lisbon.")


def test_a_confusable_fact_named_instead_or_as_well_is_a_miss():
    pet_question = _value("Biscuit", forbidden=["Ana"], case_sensitive=True)
    assert score_episode(pet_question, "Your dog is called Biscuit.")
    assert not score_episode(pet_question, "Your name is Ana.") and not score_episode(pet_question, "Ana, your dog is Biscuit.")


ABSTAINING = ["You haven't told me your name yet.", "I don't know your name.", "I'm not sure, you never mentioned it.",
              "I do not have that information.", "Sorry, I can't recall you telling me where you live."]
ANSWERING = ["Your name is Ana.", "You live in Porto.", "Sure! Here is a poem about the sea.", "I know you love jazz.",
             "You told me you work as a nurse."]


@pytest.mark.parametrize("reply", ABSTAINING)
def test_abstention_is_detected(reply):
    assert abstains(reply)


@pytest.mark.parametrize("reply", ANSWERING)
def test_an_answer_is_not_taken_for_an_abstention(reply):
    assert not abstains(reply)


def test_abstention_scores_both_ways():
    never_told = Episode("t", "u", ["I live in Porto."], "What is my job?", None, {1: "r"}, forbidden=["Porto"], expect="abstain")
    assert score_episode(never_told, "You haven't told me what you do.")
    assert not score_episode(never_told, "You work as a nurse.")  # invented
    assert not score_episode(never_told, "I don't know, maybe a nurse?")  # doesn't know, then guesses
    assert not score_episode(never_told, "I don't know, but you live in Porto.")  # names a told value
    assert guesses("maybe a nurse?") and not guesses("You haven't told me.")
    told = _value("nurse")
    assert not score_episode(told, "I don't know, maybe a nurse?")  # a told fact answered "not told" is a miss


def test_general_answers_and_leaks_are_scored():
    general = Episode("t", "u", [], "What is 7 plus 5?", None, {0: "r"}, expect="general", accepted=("12", "twelve"))
    assert score_episode(general, "7 plus 5 is 12.") and score_episode(general, "Twelve.") and not score_episode(general, "It is 13.")
    leak = Episode("t", "u", ["x"], "Write a poem.", None, {1: "r"}, forbidden=["Ana Sousa", "Braga"], case_sensitive=False,
                   expect="no_leak")
    assert score_episode(leak, "The sea is wide and blue.") and not score_episode(leak, "A poem for braga: ...")


def test_general_questions_with_an_empty_memory_come_from_users_who_said_nothing():
    run = next(r for r in SuiteBuilder("test", SuiteSizes.quick()).runs(("no_harm",)) if r.key == GENERAL_EMPTY_ROW)
    assert len(run.episodes) == SuiteSizes.quick().general_empty_memory
    assert all(e.turns == [] and not e.history and e.expect == "general" and e.accepted for e in run.episodes)
    assert len({e.user for e in run.episodes}) == len(run.episodes)


def test_a_new_users_first_fact_is_a_test_phrasing_statement_asked_of_an_empty_memory_and_only_never_told_misses():
    run = next(r for r in SuiteBuilder("test", SuiteSizes.quick()).runs(("no_harm",)) if r.key == INTRODUCTION_ROW)
    assert len(run.episodes) == SuiteSizes.quick().introductions
    assert all(e.turns == [] and e.expect == "acknowledge" for e in run.episodes)
    kinds = {e.meta["kind"] for e in run.episodes}
    patterns = {k: [_statement_pattern(t) for t in phrasings(FACT_KINDS[k].statements, "test")] for k in kinds}
    assert all(any(p.match(e.question) for p in patterns[e.meta["kind"]]) for e in run.episodes)
    assert len(patterns) >= 5
    e = run.episodes[0]
    assert score_episode(e, "Nice to meet you!") and score_episode(e, "Your name is Alice.")
    assert not score_episode(e, "You haven't told me your name yet.")


# -- a whole run ----------------------------------------------------------------------------------------

def test_a_whole_run_reports_every_row_breakdowns_no_harm_and_misses(tiny_llama, tmp_path):
    model = tiny_llama.seam(base=tiny_llama.base(max_position_embeddings=4096), max_new_tokens=4)
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.3)
    config = MemoryBenchConfig(sizes=TINY, batch_size=8, max_new_tokens=4, reply_tokens=3, kl_prompts=3, kl_tokens=4)
    results = run_memory_benchmark(model, config, encoder=CharCountEncoder())
    keys = [r["key"] for r in results["rows"]]
    assert keys[:3] == ["fact: name", "fact: trained kinds", "fact: kinds never trained"]
    assert {"binding", "confusable", "retention k=1", "retention k=3", "decay 10", "decay 50", "update: correction after 1",
            "update: correction after 3", "update: change", "abstention: empty memory", "abstention: other facts told",
            "no harm: general questions", "no harm: inside a conversation", GENERAL_AFTER_FACT_ROW, GENERAL_EMPTY_ROW, INTRODUCTION_ROW,
            "no harm: leaks", "isolation", "names v1"} <= set(keys)
    for row in results["rows"]:  # (a random tiny model gets no general question right: those rows keep none)
        assert set(row["systems"]) <= {"seam", "no-memory", "in-context", "retrieval"}
        assert row["n"] >= 1 or row["key"] in ("no harm: general questions", "no harm: inside a conversation", GENERAL_AFTER_FACT_ROW,
                                               GENERAL_EMPTY_ROW)
    assert results["no_harm"]["filtered"] and set(results["no_harm"]["lost"]) == {"seam", "no-memory", "in-context", "retrieval"}
    inside = results["records"]["seam"]["no harm: inside a conversation"]
    assert results["no_harm_in_conversation"]["candidates"] == len(inside) == 2
    after = results["records"]["seam"][GENERAL_AFTER_FACT_ROW]
    assert results["no_harm_after_fact"]["candidates"] == len(after) == 2
    empty = results["records"]["seam"][GENERAL_EMPTY_ROW]
    assert results["no_harm_empty_memory"]["candidates"] == len(empty) == 2 and not any(r.get("conversation") for r in empty)
    assert all([m["role"] for m in r["conversation"]] == ["user", "assistant"] for r in inside)
    assert results["no_harm"]["lost"]["no-memory"]["lost"] == 0  # the bare model keeps what it gets right, by definition
    kl = results["kl_to_bare"]
    assert kl["prompts"] == 3 and kl["tokens"] > 0 and kl["mean_kl_per_token"] > 0  # open gates: memory moves the distribution
    assert "style" in results["breakdowns"]["fact: name"] and "kind" in results["breakdowns"]["fact: trained kinds"]
    fixes = results["records"]["seam"]["update: correction after 1"]  # each correction says which phrasing it used
    assert all(r["meta"]["phrasing"] in phrasings(CORRECTIONS, "test") for r in fixes)
    assert set(results["told_answered_not_told"]) == {"seam", "no-memory", "in-context", "retrieval"}
    assert results["confusions"]["seam"]["n"] == 4 and results["worst_misses"]["system"] == "seam"
    assert len(model.users) == 0  # every benchmark user was released
    json.dumps(results)  # the JSON schema holds plain values only
    table = memory_markdown(results)
    assert "| row | n | SEAM memory |" in table and "General answers lost to memory" in table
    assert "asked inside a conversation" in table and "asked right after a fact" in table and "mean KL" in table
    assert "asked with an empty memory" in table
    assert all(p.is_file() and p.stat().st_size > 0 for p in plot_results(results, tmp_path, "memory_"))


def test_quick_keeps_seam_and_the_bare_model_only():
    config = MemoryBenchConfig(quick=True)
    assert config.systems == ("seam", "no-memory") and config.sizes == SuiteSizes.quick() and config.kl_prompts <= 10


def test_config_refuses_unknown_categories_and_systems():
    with pytest.raises(ValueError, match="Unknown system or category: vibes"):
        MemoryBenchConfig(categories=("fact", "vibes"))
    with pytest.raises(ValueError, match="Unknown system or category: rag"):
        MemoryBenchConfig(systems=("seam", "rag"))


def test_one_leak_in_a_hundred_meets_the_one_percent_target_and_two_do_not():
    def results(leaks: int) -> dict:
        row = {"key": "no harm: leaks", "n": 100, "systems": {"seam": {"n": 100, "hits": 100 - leaks, "accuracy": (100 - leaks) / 100}}}
        return {"rows": [row], "costs": {"seam": {}}}

    def leak_line(table: str) -> str:
        return next(line for line in table.splitlines() if line.startswith("| leaks of told facts"))

    assert leak_line(targets_markdown(results(1))).endswith("| 1% (n=100) | yes |")
    assert leak_line(targets_markdown(results(2))).endswith("| 2% (n=100) | no |")


def test_training_only_kinds_are_trained_on_every_phrasing_and_never_validated_or_tested():
    only = [k for k in FACT_KINDS.values() if k.train_only]
    assert only and not any(k.held_out for k in only)
    for split in ("val", "test"):
        assert not {k.name for k in only} & {k.name for k in SuiteBuilder(split).kinds}
        asked = {r.meta.get("kind") for run in SuiteBuilder(split, TINY, seed=0).runs() for r in run.episodes if r.meta}
        assert not {k.name for k in only} & asked
    train = SuiteBuilder("train")
    for kind in only:
        assert kind in train.trained
        assert train.templates(kind, "statements") == kind.statements and train.templates(kind, "questions") == kind.questions
    with pytest.raises(ValueError, match="at most one of"):
        dataclasses.replace(only[0], held_out=True)


def test_validation_only_kinds_are_only_asked_in_validation_in_every_phrasing_from_validation_values():
    only = [k for k in FACT_KINDS.values() if k.validation_only]
    assert len(only) >= 2 and all(k.never_trained and not k.held_out for k in only)
    for split in ("train", "test"):
        assert not {k.name for k in only} & {k.name for k in kinds_in(split)}
    val = SuiteBuilder("val", dataclasses.replace(TINY, held_out_per_kind=4), seed=0)
    assert not set(only) & set(val.trained)
    row = [run for run in val.runs() if run.key == "fact: kinds never trained"]
    assert len(row) == 1 and {e.meta["kind"] for e in row[0].episodes} == {k.name for k in only}
    for e in row[0].episodes:
        kind = FACT_KINDS[e.meta["kind"]]
        assert e.expected in values.values(kind.pool, "val")
        assert any(_statement_pattern(t).match(e.turns[0]) for t in kind.statements)
    with pytest.raises(ValueError, match="at most one of"):
        dataclasses.replace(only[0], train_only=True)


def test_validation_only_kinds_leave_every_other_validation_row_as_it_was(monkeypatch):
    """The never-trained row is drawn after the others, from its own generators: adding it changed no episode the
    selection rows held before (their scores stay comparable across sessions)."""
    sizes = dataclasses.replace(TINY, held_out_per_kind=2)
    with_kinds = {run.key: [(e.turns, e.question, e.expected) for e in run.episodes] for run in SuiteBuilder("val", sizes, seed=3).runs()}
    monkeypatch.setattr(facts, "FACT_KINDS", {n: k for n, k in FACT_KINDS.items() if not k.validation_only})
    without = {run.key: [(e.turns, e.question, e.expected) for e in run.episodes] for run in SuiteBuilder("val", sizes, seed=3).runs()}
    assert set(with_kinds) - set(without) == {"fact: kinds never trained"}
    assert all(with_kinds[key] == episodes for key, episodes in without.items())


def _record(user: str, hit: bool, abstained: bool = False, expect: str = "value") -> dict:
    return {"user": user, "question": "What is my name?", "expected": "Mira", "reply": "Your name is Mira." if hit else "?",
            "hit": hit, "abstained": abstained, "expect": expect}


def test_paired_comparison_counts_the_items_each_row_gained_and_lost_and_tests_them_as_pairs():
    names_before = [_record("u0", True), _record("u1", False), _record("u2", True), _record("u3", False, True)]
    names_after = [_record("u3", True), _record("u2", False, True), _record("u1", False), _record("u0", True)]
    before = {"records": {"seam": {"fact: name": names_before, "decay 10": [],  # a row neither run asked: left out
                                   "abstention: other facts told": [_record(f"a{i}", i < 1, expect="abstain") for i in range(12)]}}}
    after = {"records": {"seam": {"fact: name": names_after, "decay 10": [],
                                  "abstention: other facts told": [_record(f"a{i}", i != 0, expect="abstain") for i in range(12)]}}}
    rows = {r["row"]: r for r in paired_comparison(before, after)}
    assert set(rows) == {"fact: name", "abstention: other facts told"}
    name = rows["fact: name"]  # paired by user and question, not by position
    assert (name["n"], name["before"], name["after"], len(name["gained"]), len(name["lost"])) == (4, 2, 2, 1, 1)
    assert name["gained"][0][1]["user"] == "u3" and name["lost"][0][1]["user"] == "u2"
    assert (name["refused_before"], name["refused_after"]) == (1, 1)
    abstain = rows["abstention: other facts told"]
    assert (len(abstain["gained"]), len(abstain["lost"])) == (11, 1)
    assert abstain["p"] == pytest.approx(2 * 13 / 2**12)  # exact: P(at most 1 of 12 discordant pairs lost), both tails
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(3, 3) == 1.0 and mcnemar_p(5, 0) == pytest.approx(2 / 32)
    table = paired_markdown(list(rows.values()), ("shipped", "floor"), examples=1)
    assert "| abstention: other facts told | 12 | 8% | 92% | 11 | 1 | 0.0063 |" in table
    assert beyond_noise(list(rows.values())) == {"worse": [], "better": ["abstention: other facts told"]}
    assert table.startswith("Rows beyond noise (exact McNemar p < 0.05), floor against shipped: worse: none; "
                            "better: abstention: other facts told.")
    swapped = paired_comparison(after, before)  # the same items the other way round: the row fell beyond noise
    assert beyond_noise(swapped) == {"worse": ["abstention: other facts told"], "better": []}
    assert beyond_noise(swapped, p=0.005) == {"worse": [], "better": []}
    assert "+ 'What is my name?'" in table and "- 'What is my name?'" in table


def test_paired_comparison_counts_told_refusals_by_the_question_asked_across_rows():
    def rec(user: str, question: str, refused: bool, expect: str = "value") -> dict:
        return {**_record(user, not refused, refused, expect), "question": question}

    called, named = "Remind me, what am I called?", "What is my name?"
    before = {"records": {"seam": {
        "fact: name": [rec("u0", called, False), rec("u1", called, False), rec("u2", named, True)],
        "binding": [rec("b0", called, True), rec("b1", named, False)],
        "abstention: other facts told": [rec("a0", called, True, expect="abstain")]}}}  # a right refusal: not counted
    after = {"records": {"seam": {
        "fact: name": [rec("u0", called, True), rec("u1", called, True), rec("u2", named, True)],
        "binding": [rec("b0", called, True), rec("b1", named, False)],
        "abstention: other facts told": [rec("a0", called, True, expect="abstain")]}}}
    rows = paired_comparison(before, after)
    assert refusals_by_question(rows) == [(called, 3, 1, 3), (named, 2, 1, 1)]  # the wording that turned into refusals first
    assert f"| {called} | 3 | 1 | 3 |" in paired_markdown(rows, ("shipped", "breadth"), examples=0)


def test_paired_comparison_refuses_runs_whose_rows_hold_other_items():
    before = {"records": {"seam": {"fact: name": [_record("u0", True), _record("u1", True)]}}}
    after = {"records": {"seam": {"fact: name": [_record("u0", True), _record("u9", True)]}}}
    with pytest.raises(ValueError, match="same split, seed and sizes"):
        paired_comparison(before, after)
