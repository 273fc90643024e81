"""The evaluation harness (seam.evaluation): scoring, episodes, systems, and a whole run on a tiny model.

Nothing here needs the trained checkpoint or the real base model: conftest's tiny random Llama stands in
for it, and a letter-count encoder for MiniLM.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import CharCountEncoder, open_gates

from seam.evaluation.harness import EvalConfig, build_runs, evaluate, wilson_interval
from seam.evaluation.memory_bench import answer_token_probabilities
from seam.evaluation.report import markdown_table, plot_results
from seam.evaluation.systems import REPLY_USER, BareAnswers, InContextSystem, RetrievalSystem
from seam.lm import MemoryAugmentedModel
from seam.lm.prompts import continuation_batch
from seam.tasks.data import DISTRACTORS, HELDOUT_INTROS, HELDOUT_QUESTIONS, split_names
from seam.tasks.episodes import (
    Decay,
    correction_episodes,
    fact_episodes,
    multi_user_episodes,
    recall_episodes,
    unrelated_question_episodes,
)
from seam.tasks.player import System, batches, run_episodes
from seam.tasks.scoring import leaks, mentions, score_episode, score_reply


class EchoSystem(System):
    """Answers with the last message the user sent (a memory that keeps only the latest turn)."""

    name = "echo"

    def __init__(self):
        self.last: dict[str, str] = {}

    def observe(self, users, texts):
        self.last.update(zip(users, texts))

    def ask(self, users, questions, max_new_tokens, chats=None):
        replies = [self.last.get(u, "I don't know.") for u in users]
        return replies, [{"prompt_tokens": 7, "new_tokens": 3, "reused": False} for _ in users], [0.01] * len(users)

    def memory_bytes(self, user):
        return {"bytes": len(self.last.get(user, "").encode())}

    def release(self, users):
        for u in users:
            self.last.pop(u, None)


@pytest.fixture
def tiny_model(tiny_llama) -> MemoryAugmentedModel:
    """SEAM on conftest's tiny random Llama (ChatML prompts, as SmolLM2), with room for long histories."""
    return tiny_llama.seam(base=tiny_llama.base(max_position_embeddings=4096), max_new_tokens=4)


@pytest.fixture(scope="module")
def test_names() -> list[str]:
    return split_names(500, 50, 200, seed=0).test


# -- scoring ------------------------------------------------------------------------------------------


def test_a_hit_needs_the_whole_name_not_a_prefix_or_a_longer_name() -> None:
    assert score_reply("Your name is Anna.", "Anna")
    assert not score_reply("Your name is Ann.", "Anna")
    assert not score_reply("Your name is Annabel.", "Anna")
    assert not score_reply("Your name is anna.", "Anna")  # names are case-sensitive, as in training


def test_a_wrong_name_is_a_miss() -> None:
    assert not score_reply("Your name is Bruno.", "Carla")
    assert not score_reply("I don't know your name.", "Carla")


def test_another_users_name_in_the_reply_is_a_miss(test_names) -> None:
    episodes = multi_user_episodes(test_names, 8, seed=0, group_size=4)
    first = episodes[0]
    other = first.forbidden[0]
    assert set(first.forbidden) == {e.expected for e in episodes[:4]} - {first.expected}
    assert score_episode(first, f"Your name is {first.expected}.")
    assert not score_episode(first, f"Your name is {other}.")
    assert not score_episode(first, f"You are {first.expected} or maybe {other}.")


def test_the_initial_name_in_a_correction_reply_is_a_miss(test_names) -> None:
    (episode,) = correction_episodes(test_names, 1, seed=0, reinforcements=3)
    old, new = episode.forbidden[0], episode.expected
    assert score_episode(episode, f"Your name is {new}.")
    assert not score_episode(episode, f"Your name is {new}, not {old}.")
    assert not score_episode(episode, f"Your name is {old}.")
    assert [old in t for t in episode.turns] == [True] * 4 and new in episode.turns[-1]


def test_facts_other_than_names_match_case_insensitively() -> None:
    (city,) = fact_episodes("city", [], 1, seed=0)
    assert score_episode(city, f"You live in {city.expected.upper()}.")
    assert not city.case_sensitive
    (pet,) = fact_episodes("pet", ["Rex"], 1, seed=0)
    assert pet.case_sensitive and not score_episode(pet, "Your dog is called rex.")
    assert mentions("You work as a web designer.", "Web designer", case_sensitive=False)
    for kind in ("city", "pet", "colour", "job"):
        episodes = fact_episodes(kind, ["Rex", "Bella", "Max"], 3, seed=1)
        assert all(e.expected.lower() in e.turns[0].lower() for e in episodes)


def test_an_unrelated_question_is_a_hit_unless_memory_answers_it_with_the_name(test_names) -> None:
    (episode,) = unrelated_question_episodes(test_names, 1, seed=0)
    assert episode.expected is None and episode.question in DISTRACTORS
    assert score_episode(episode, "The capital of Australia is Canberra.")
    assert score_episode(episode, "Sure, Ann! Here is a good history book.")
    assert not score_episode(episode, "Your name is Ann.")


def test_an_unrelated_reply_that_names_the_user_mid_sentence_is_a_hit_but_counted_as_a_leak(test_names) -> None:
    (episode,) = unrelated_question_episodes(test_names, 1, seed=0)
    (name,) = episode.forbidden
    assert name in episode.turns[0]  # the name the user introduced themself with
    leaked = f"The capital of Australia is {name}."
    assert score_episode(episode, leaked) and leaks(episode, leaked)
    assert not leaks(episode, "The capital of Australia is Canberra.")


def test_wilson_interval_contains_the_proportion_and_stays_in_0_1() -> None:
    assert wilson_interval(0, 100)[0] == 0.0 and 0 < wilson_interval(0, 100)[1] < 0.05
    low, high = wilson_interval(50, 100)
    assert low < 0.5 < high and high - low == pytest.approx(0.19, abs=0.01)
    assert wilson_interval(100, 100)[1] == pytest.approx(1.0) and wilson_interval(100, 100)[0] > 0.95


# -- episodes -----------------------------------------------------------------------------------------


def test_every_asked_name_is_a_held_out_test_name_never_trained_on(test_names) -> None:
    split = split_names(500, 50, 200, seed=0)
    runs = build_runs(EvalConfig(items=20, retention_items=10, batch_size=20), test_names)
    asked = {e.expected for r in runs if r.key.split()[0] not in ("facts", "unrelated") for e in r.episodes}
    asked |= {f for r in runs for e in r.episodes for f in e.forbidden}
    assert asked <= set(split.test)
    assert not asked & set(split.train)
    for run in runs:
        for e in run.episodes:
            assert e.question in HELDOUT_QUESTIONS or run.key.split()[0] in ("facts", "unrelated")


def test_recall_episodes_go_on_to_retention_or_decay_with_an_ask_after_each_step(test_names) -> None:
    episodes = recall_episodes(test_names, 10, seed=3, distractors=(1, 5, 20), retention_items=4, decay_cycles=(0, 10, 50))
    for e in episodes:
        assert e.turns[0] in {t.format(name=e.expected) for t in HELDOUT_INTROS} and e.asks[1] == "recall"
    for e in episodes[:4]:
        assert e.asks == {1: "recall", 2: "retention k=1", 6: "retention k=5", 21: "retention k=20"}
        assert len(set(e.turns[1:])) == 20 and set(e.turns[1:]) <= set(DISTRACTORS)
    for e in episodes[4:]:
        assert e.turns[1:] == [Decay(10), Decay(40)] and e.asks == {1: "recall", 2: "decay 10", 3: "decay 50"}
    assert len({e.user for e in episodes}) == 10
    again = recall_episodes(test_names, 10, seed=3)
    assert [(e.expected, e.question, e.turns[0]) for e in again] == [(e.expected, e.question, e.turns[0]) for e in episodes]


def test_asking_at_every_point_gives_one_record_per_ask_with_the_past_so_far(test_names) -> None:
    episodes = recall_episodes(test_names, 4, seed=0, distractors=(2,), retention_items=4)
    records = run_episodes(EchoSystem(), episodes, batch_size=4, max_new_tokens=5)
    assert [r["row"] for r in records] == ["recall"] * 4 + ["retention k=2"] * 4
    assert [len(r["past"]) for r in records] == [1] * 4 + [3] * 4
    assert [r["hit"] for r in records] == [True] * 4 + [False] * 4  # echoing the last distractor says no name
    capped = run_episodes(EchoSystem(), episodes, batch_size=4, max_new_tokens=5, row_limits={"retention k=2": 1})
    assert [r["row"] for r in capped] == ["recall"] * 4 + ["retention k=2"] and capped[-1]["user"] == episodes[0].user


def test_batches_are_balanced_and_never_split_a_user_group(test_names) -> None:
    groups = multi_user_episodes(test_names, 100, seed=0, group_size=4)
    sizes = [len(b) for b in batches(groups, 50)]
    assert sum(sizes) == 100 and len(sizes) == 2 and max(sizes) <= 52
    for batch in batches(groups, 50):
        assert all(sum(e.group == g for e in batch) == 4 for g in {e.group for e in batch})
    assert [len(b) for b in batches(recall_episodes(test_names, 100, seed=0), 40)] == [34, 33, 33]
    with pytest.raises(ValueError, match="multiple of group_size"):
        EvalConfig(items=30, retention_items=10, group_size=4)
    with pytest.raises(ValueError, match="Unknown system"):
        EvalConfig(systems=("seam", "oracle"))


# -- systems ------------------------------------------------------------------------------------------


def test_run_episodes_scores_each_reply_against_its_own_episode(test_names) -> None:
    episodes = recall_episodes(test_names, 4, seed=0) + correction_episodes(test_names, 4, seed=1)
    records = run_episodes(EchoSystem(), episodes, batch_size=4, max_new_tokens=5)
    # Echoing the introduction recalls the name; echoing the correction repeats the old name too: a miss.
    assert [r["hit"] for r in records] == [True] * 4 + [False] * 4
    assert all(r["latency_s"] == 0.01 for r in records)
    assert records[0]["bytes"] == len(episodes[0].turns[0].encode())
    with pytest.raises(ValueError, match="asks after"):
        type(episodes[0])("recall", "u", ["hi"], "?", "Ann", asks={2: "recall"})


def test_retrieval_keeps_the_top_k_messages_in_the_order_they_were_said(tiny_model) -> None:
    system = RetrievalSystem(tiny_model, CharCountEncoder(), top_k=2)
    said = ["zzz zzz", "my name is bob", "qqq", "is my name bob"]
    system.reset(["u"])
    for text in said:
        system.converse(["u"], [text])
        system.observe(["u"], [text])
    history = system.history(["u"], ["what is my name"])[0]
    assert system.last_retrieved["u"] == ["my name is bob", "is my name bob"]
    assert [m["role"] for m in history] == ["user", "assistant"] * 2 and history[2]["content"] == "is my name bob"
    replies = system.answers.replies
    assert history[1]["content"] == replies["my name is bob"]
    stored = sum(len(t.encode()) + len(replies[t].encode()) for t in said)
    assert system.memory_bytes("u")["bytes"] == stored + 4 * 26 * 4


def test_in_context_replays_every_past_conversation_with_the_reply_it_got(tiny_model) -> None:
    answers = BareAnswers(tiny_model, reply_tokens=3)
    system = InContextSystem(tiny_model, answers)
    system.reset(["u", "v"])
    system.converse(["u", "v"], ["a", "b"])
    system.observe(["u", "v"], ["a", "b"])
    system.converse(["u"], ["b"])  # already replied to: not generated again
    system.observe(["u"], ["b"])
    assert set(answers.replies) == {"a", "b"} and all(answers.replies.values())
    assert system.history(["u"], ["?"]) == [[{"role": "user", "content": "a"}, {"role": "assistant", "content": answers.replies["a"]},
                                               {"role": "user", "content": "b"}, {"role": "assistant", "content": answers.replies["b"]}]]


def test_replies_to_past_messages_are_made_once_in_batches_and_leave_no_memory_behind(tiny_model) -> None:
    answers = BareAnswers(tiny_model, reply_tokens=3)
    answers.reply_to(["a", "bb", "a", "ccc"], batch_size=2)
    assert set(answers.replies) == {"a", "bb", "ccc"} and all(answers.replies.values())
    seconds = answers.reply_seconds
    answers.reply_to(["bb", "a"], batch_size=2)  # nothing new: nothing generated
    assert answers.reply_seconds == seconds
    assert not [u for u in tiny_model.users if u.startswith(REPLY_USER)]


def test_the_bare_model_answers_a_prompt_once_whichever_baseline_asks(tiny_model) -> None:
    answers = BareAnswers(tiny_model)
    first = answers.answer(["u", "v"], ["Who am I?", "Who am I?"], None, max_new_tokens=3)
    again = answers.answer(["w"], ["Who am I?"], None, max_new_tokens=3)
    assert first[3] == [False, False] and again[3] == [True]  # repeats inside one call are generated (real batch size)
    assert again[0][0] == first[0][1] and again[2][0] == first[2][0]


def test_whole_harness_on_a_tiny_model_writes_every_row_and_cost(tiny_model, tmp_path) -> None:
    config = EvalConfig(items=8, retention_items=4, correction_items=4, fact_items=4, unrelated_items=4, long_history_items=2, batch_size=4,
                        max_new_tokens=3, reply_tokens=3, retention_distractors=(0, 1, 2), decay_cycles=(0, 10), fact_kinds=("city", "pet"))
    results = evaluate(tiny_model, config, encoder=CharCountEncoder())
    keys = [r["key"] for r in results["rows"]]
    assert keys == ["recall", "retention k=1", "retention k=2", "decay 10", "correction", "multi_user", "facts city", "facts pet",
                    "unrelated"]
    expected_n = {"recall": 12, "multi_user": 8, "decay 10": 8}  # recall: 4 retention + 8 decay episodes
    for row in results["rows"]:
        # only a memory can answer an unrelated question with the name: the bare model is its reference
        want = {"seam", "no-memory"} if row["key"] == "unrelated" else {"seam", "no-memory", "in-context", "retrieval"}
        assert set(row["systems"]) == want
        for name, s in row["systems"].items():
            # the in-context baseline replays long histories (k=2 of max 2; a correction's 4 conversations) on fewer episodes
            capped = name == "in-context" and row["key"] in ("retention k=2", "correction")
            n = 2 if capped else expected_n.get(row["key"], 4)
            assert s["n"] == n and 0 <= s["accuracy"] <= 1 and s["ci95"][0] <= s["accuracy"] <= s["ci95"][1]
    decay = next(r for r in results["rows"] if r["key"] == "decay 10")["systems"]
    assert decay["seam"]["reused_answers"] == 0 and decay["in-context"]["reused_answers"] == 8  # same prompts as recall
    recall = results["rows"][0]["systems"]
    assert recall["retrieval"]["reused_answers"] == 12  # one past message: retrieval builds the in-context prompt
    assert ([r["reply"] for r in results["records"]["retrieval"]["recall"]]
            == [r["reply"] for r in results["records"]["in-context"]["recall"]])
    costs = results["costs"]
    assert costs["no-memory"]["memory_bytes_per_user"] == 0
    assert costs["seam"]["memory_bytes_per_user"] > costs["seam"]["memory_bytes_used_per_user"] > 0
    tokens = {name: costs[name]["rows"]["retention k=2"]["prompt_tokens_per_query"] for name in costs}
    assert min(tokens["in-context"], tokens["retrieval"]) > tokens["no-memory"] == tokens["seam"]  # after the longest history
    assert tokens["in-context"] > costs["in-context"]["rows"]["recall"]["prompt_tokens_per_query"]  # grows with the history
    assert recall["seam"]["prompt_tokens_per_query"] == recall["no-memory"]["prompt_tokens_per_query"]  # memory costs no prompt
    json.dumps(results)  # serialisable as is
    table = markdown_table(results)
    assert table.count("\n| ") >= len(keys) + 4 and "SEAM memory" in table
    assert all(p.is_file() and p.stat().st_size > 0 for p in plot_results(results, tmp_path))
    assert len(tiny_model.users) == 0  # every evaluation user was released


def test_config_refuses_more_episodes_than_the_test_split_has_names() -> None:
    with pytest.raises(ValueError, match="recall/retention/decay task needs 300 distinct test names"):
        EvalConfig(items=200, retention_items=100, tasks=("recall", "retention"))
    EvalConfig(items=200, retention_items=100, tasks=("recall",))  # no retention: 200 names suffice


def test_eval_command_refuses_too_many_episodes_before_loading_any_model(tmp_path, capsys, monkeypatch) -> None:
    import seam.lm.checkpoint as loading
    from seam.evaluation.cli import main

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(loading, "load_trained_model", no_model)
    with pytest.raises(SystemExit):
        main(["--suite", "names", "--items", "300", "--output-dir", str(tmp_path)])
    assert "recall/retention/decay task needs 400 distinct test names" in capsys.readouterr().err


def test_eval_command_refuses_a_flag_of_the_other_suite_before_loading_any_model(tmp_path, capsys, monkeypatch) -> None:
    import seam.lm.checkpoint as loading
    from seam.evaluation.cli import main

    monkeypatch.setattr(loading, "load_trained_model", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(SystemExit):
        main(["--items", "30", "--output-dir", str(tmp_path)])  # the memory suite is the default
    assert "--items is a flag of the names suite (add --suite names)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--suite", "names", "--quick", "--output-dir", str(tmp_path)])
    assert "--quick is a flag of the memory suite (add --suite memory)" in capsys.readouterr().err


def test_a_question_asked_inside_a_conversation_reaches_every_system_after_that_conversation(tiny_model):
    from seam.tasks.episodes import Episode
    from seam.tasks.player import SeamSystem

    chat = [{"role": "user", "content": "What is the capital of Peru?"}, {"role": "assistant", "content": "Lima."}]
    fresh = Episode("t", "u-fresh", ["I live in Porto."], "Why is the sky blue?", None, {1: "r"}, expect="general")
    inside = Episode("t", "u-inside", ["I live in Porto."], "Why is the sky blue?", None, {1: "r"}, expect="general", history=chat)
    answers = BareAnswers(tiny_model)
    for system in (SeamSystem(tiny_model), InContextSystem(tiny_model, answers)):
        if isinstance(system, InContextSystem):
            answers.reply_to(["I live in Porto."])
        by_user = {r["user"]: r for r in run_episodes(system, [fresh, inside], batch_size=2, max_new_tokens=2)}
        extra = len(tiny_model.prepare(["x"], [chat]).input_ids[0]) - len(tiny_model.prepare(["x"]).input_ids[0])
        assert by_user["u-inside"]["prompt_tokens"] - by_user["u-fresh"]["prompt_tokens"] == extra  # the exchange is in the prompt
        assert by_user["u-inside"]["conversation"] == chat and "conversation" not in by_user["u-fresh"]


def test_eval_command_takes_row_sizes_and_the_validation_split_and_refuses_bad_sizes_before_loading_any_model(tmp_path, capsys,
                                                                                                            monkeypatch) -> None:
    import seam.lm.checkpoint as loading
    from seam.evaluation.cli import build_parser, main
    from seam.evaluation.memory_bench import MemoryBenchConfig
    from seam.tasks.suite import SuiteSizes

    args = build_parser().parse_args(["--sizes", "retention=100,binding=120,retention_after=1/5/20", "--split", "val"])
    config = MemoryBenchConfig(sizes=args.sizes, split=args.split)
    assert (config.sizes.retention, config.sizes.binding, config.sizes.retention_after) == (100, 120, (1, 5, 20))
    assert config.sizes.general == SuiteSizes().general and config.split == "val"  # the rest keep the benchmark's sizes
    monkeypatch.setattr(loading, "load_trained_model", lambda *a, **k: pytest.fail("the model was loaded"))
    for argv, said in ((["--sizes", "retentoin=100"], "unknown size 'retentoin'"),
                       (["--sizes", "retention=many"], "retention takes a count, got 'many'"),
                       (["--sizes", "retention_after=1,5"], "unknown size '5'"),
                       (["--sizes", "binding=-3"], "binding must be >= 0"),
                       (["--sizes", "retention=10", "--quick"], "give either --quick or --sizes"),
                       (["--split", "train"], "split must be 'test' (the benchmark) or 'val'")):
        with pytest.raises(SystemExit):
            main([*argv, "--output-dir", str(tmp_path)])
        assert said in capsys.readouterr().err, argv



def test_answer_token_probabilities_score_each_answer_token_and_a_told_memory_moves_them_where_an_empty_one_does_not(tiny_model):
    open_gates(tiny_model)
    tiny_model.remember("My name is Alice. Please remember my name.", user="told")
    answer = "Your name is Alice."
    rows = answer_token_probabilities(tiny_model, "What is my name?", answer, ["told", "stranger", None])
    assert "".join(r["token"] for r in rows) == answer
    for r in rows:
        assert all(0.0 <= r[u] <= 1.0 for u in ("told", "stranger", "None"))
        assert r["stranger"] == pytest.approx(r["None"], abs=1e-6)  # an empty memory retrieves nothing
    assert any(abs(r["told"] - r["None"]) > 1e-4 for r in rows)  # what was told reaches the answer's tokens
    # the probabilities are the model's own: the answer's log-likelihood from one forward pass agrees
    reply = tiny_model.tokenizer(answer, add_special_tokens=False)["input_ids"]
    batch, predicts = continuation_batch(tiny_model.prepare(["What is my name?"]), [reply], tiny_model.tokenizer.pad_token_id)
    with torch.no_grad():
        logits = tiny_model(batch.input_ids, batch.attention_mask, tiny_model.users.stack(["told"])).logits
    targets = batch.input_ids[:, 1:][predicts[:, :-1]]
    nll = float(torch.nn.functional.cross_entropy(logits[predicts].float(), targets, reduction="sum"))
    assert sum(-math.log(r["told"]) for r in rows) == pytest.approx(nll, rel=1e-4)
