"""Training: data splits that measure generalisation, a loss that trains the write side, exact resume."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from seam.lm.model import trainable_parameters
from seam.lm.prompts import continuation_batch, render_reply
from seam.memory.config import MemoryConfig
from seam.tasks.data import DECAY_BETWEEN_CONVERSATIONS, RESERVED, split_names
from seam.tasks.episodes import Decay, Episode, make_items
from seam.tasks.scoring import mentions
from seam.tasks.suite import SuiteBuilder
from seam.training.loss import FRAME, MATCH, VALUE, RecallLoss, decision_index, decision_nll
from seam.training.ship import history_files, replace_folder
from seam.training.trainer import SELECTION_SIZES, VALIDATION_SIZES, Trainer, TrainingConfig


def test_name_splits_are_disjoint_share_no_base_name_and_exclude_the_demo_names():
    splits = split_names(2000, 50, 200, seed=0)
    train, held = set(splits.train), set(splits.val) | set(splits.test)
    assert len(splits.train) == 2000 and len(splits.val) == 50 and len(splits.test) == 200
    assert not train & held and not set(splits.val) & set(splits.test)
    for name in train:
        assert not any(name.lower().startswith(h.lower()) or h.lower().startswith(name.lower()) for h in held)
    assert not set(RESERVED) & (train | held)


def test_heldout_items_use_phrasings_never_used_in_training():
    names = split_names(50, 10, 10).val
    train_items = make_items(names, heldout_phrasings=False, seed=0)
    held_items = make_items(names, heldout_phrasings=True, seed=0)
    def strip(items):
        return {t.replace(it.expected, "{name}") for it in items for t in it.messages()} | {it.question for it in items}

    assert not strip(train_items) & strip(held_items)


def test_training_episodes_let_time_pass_between_conversations_and_forbid_a_corrected_name():
    names = split_names(60, 2, 2).train
    episodes = make_items(names, heldout_phrasings=False, seed=0, max_distractors=2, correction_fraction=0.5)
    corrected = [e for e in episodes if e.forbidden]
    assert corrected and len(corrected) < len(episodes)
    for e in episodes:
        assert [isinstance(t, Decay) for t in e.turns] == [i % 2 == 1 for i in range(len(e.turns))]
        assert all(t.cycles == DECAY_BETWEEN_CONVERSATIONS for t in e.turns if isinstance(t, Decay))
        assert e.asks == {len(e.turns): "recall"} and e.answer == f"Your name is {e.expected}."
    for e in corrected:
        old = e.forbidden[0]
        assert old != e.expected and any(old in t and e.expected not in t for t in e.messages())  # told first, then corrected


def test_a_hit_needs_the_whole_name_as_a_word():
    assert mentions("Your name is Anna.", "Anna")
    assert not mentions("Your name is Annabel.", "Anna")
    assert not mentions("Your name is Ann.", "Anna")
    assert not mentions("Your name is Maria.", "Anna")


def test_recall_loss_sends_gradient_into_the_write_projections(tiny_llama):
    model = tiny_llama.seam()
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.5)
    items = make_items(["Rowan", "Ines"], heldout_phrasings=False, seed=0, max_distractors=1)
    loss, parts = RecallLoss(model)(items)
    loss.backward()
    for layer in model.memory_layers.values():
        assert layer.key_proj.weight.grad is not None and layer.key_proj.weight.grad.abs().sum() > 0
        assert layer.value_proj.weight.grad.abs().sum() > 0
    assert torch.isfinite(parts["value"]) and 0.0 <= float(parts["value_acc"]) <= 1.0


def _config(tmp_path, **kw) -> TrainingConfig:
    base = dict(task="names", num_train=16, num_val=2, num_test=2, batch_size=2, eval_every=100, save_every=2, max_steps=4,
                max_distractors=1, checkpoint_dir=str(tmp_path / "ck"), log_dir=str(tmp_path / "logs"))
    base.update(kw)
    return TrainingConfig(**base)


def test_the_abstain_slot_trains_in_an_optimizer_group_of_its_own_at_its_own_rate(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    model = tiny_llama.seam(seed=1, memory=MemoryConfig(**{**tiny_llama.seam().config.memory.to_dict(), "abstain_slot": True}))
    trainer = Trainer(model, _config(tmp_path, abstain_slot_learning_rate=0.25, max_steps=2))
    config = trainer.config
    assert [g["initial_lr"] for g in trainer.optimizer.param_groups] == [config.learning_rate, config.gate_learning_rate, 0.25]
    params = trainable_parameters(model)
    slot = [params[n] for n in trainer.group_names[-1]]
    assert trainer.group_names[-1] and all(".abstain_" in n for n in trainer.group_names[-1])
    assert not [n for group in trainer.group_names[:-1] for n in group if ".abstain_" in n]
    assert [id(p) for p in trainer.optimizer.param_groups[-1]["params"]] == [id(p) for p in slot]
    with pytest.raises(ValueError, match="abstain_slot_learning_rate"):
        TrainingConfig(abstain_slot_learning_rate=-1e-3)


def test_a_zero_learning_rate_freezes_its_group_while_the_abstain_match_trains_alone(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    memory = {**tiny_llama.seam().config.memory.to_dict(), "abstain_slot": True, "abstain_match": True}
    model = tiny_llama.seam(seed=1, memory=MemoryConfig(**memory))
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.5)  # (a gate of 0 would pass no gradient to anything the read holds)
            layer.abstain_match_weights[0] = -0.02  # a floor of 0.12 (at the start's e^-100 no gradient reaches w0, w1)
    before = {n: p.detach().clone() for n, p in trainable_parameters(model).items()}
    trainer = Trainer(model, _config(tmp_path, task="memory", episodes_per_epoch=8, learning_rate=0.0, gate_learning_rate=0.0,
                                     abstain_slot_learning_rate=0.05, decision_weight=1.0, max_steps=2))
    assert all(".abstain_" in n for n in trainer.group_names[-1]) and any(".abstain_match_" in n for n in trainer.group_names[-1])
    trainer.train()
    after = trainable_parameters(model)
    moved = {n for n in before if not torch.equal(before[n], after[n].detach())}
    assert moved and all(".abstain_" in n for n in moved)  # the frozen groups did not move at all
    assert any(n.endswith(".abstain_match_weights") for n in moved)


def test_resume_continues_exactly_where_the_run_stopped(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    straight = tiny_llama.seam(seed=1)
    Trainer(straight, _config(tmp_path / "a")).train()

    first = tiny_llama.seam(seed=1)
    Trainer(first, _config(tmp_path / "b", max_steps=4, save_every=2)).train()  # saves checkpoint_step2
    resumed = tiny_llama.seam(seed=7)  # different init: everything must come from the checkpoint
    ckpt = tmp_path / "b" / "ck" / "checkpoint_step2.safetensors"
    result = Trainer(resumed, _config(tmp_path / "c", resume=str(ckpt))).train()

    assert result["steps"] == 4
    want, got = trainable_parameters(straight), trainable_parameters(resumed)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6, msg=name)
    assert (tmp_path / "c" / "ck" / "final_step4.safetensors").is_file()
    assert (tmp_path / "c" / "logs" / "training_history.json").is_file()


def test_the_message_key_trains_in_a_last_optimizer_group_at_its_own_rate(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    memory = {**tiny_llama.seam().config.memory.to_dict(), "abstain_slot": True, "message_key": True}
    model = tiny_llama.seam(seed=1, memory=MemoryConfig(**memory))
    trainer = Trainer(model, _config(tmp_path, message_key_learning_rate=0.2, max_steps=2))
    config = trainer.config
    assert [g["initial_lr"] for g in trainer.optimizer.param_groups] == [config.learning_rate, config.gate_learning_rate,
                                                                         config.abstain_slot_learning_rate, 0.2]
    assert trainer.group_names[-1] and all(".message_key_" in n for n in trainer.group_names[-1])
    assert not [n for group in trainer.group_names[:-1] for n in group if ".message_key_" in n]
    trainer.train()
    assert max(float(layer.message_key_proj.weight.detach().abs().max()) for layer in model.memory_layers.values()) > 0  # left zero
    with pytest.raises(ValueError, match="message_key_learning_rate"):
        TrainingConfig(message_key_learning_rate=-1.0)


def test_a_warm_start_adds_the_query_gate_trains_it_at_its_own_rate_and_resumes_exactly(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    plain = tiny_llama.seam(seed=1)
    Trainer(plain, _config(tmp_path / "a", max_steps=2)).train()
    start = tmp_path / "a" / "ck" / "final_step2.safetensors"
    gated_config = MemoryConfig(**{**plain.config.memory.to_dict(), "query_gate": True})
    warm = _config(tmp_path / "b", init_from=str(start), query_gate_learning_rate=0.5, max_steps=4, save_every=2)
    gated = tiny_llama.seam(seed=3, memory=gated_config)
    trainer = Trainer(gated, warm)
    assert [g["initial_lr"] for g in trainer.optimizer.param_groups] == [warm.learning_rate, warm.gate_learning_rate, 0.5]
    trainer.train()
    assert trainer.step == 4  # step 0 of its own run, not the checkpoint's
    gate = torch.cat([layer.query_gate.weight.flatten() for layer in gated.memory_layers.values()])
    assert gate.abs().max() > 0.1  # trained (from zero), at its own rate
    resumed = tiny_llama.seam(seed=9, memory=gated_config)
    Trainer(resumed, _config(tmp_path / "c", resume=str(tmp_path / "b" / "ck" / "checkpoint_step2.safetensors"), init_from=str(start),
                             query_gate_learning_rate=0.5, max_steps=4)).train()
    want, got = trainable_parameters(gated), trainable_parameters(resumed)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6, msg=name)
    still = tiny_llama.seam(seed=5, memory=gated_config)  # with (almost) no learning, the weights are the checkpoint's
    Trainer(still, _config(tmp_path / "d", init_from=str(start), learning_rate=1e-12, gate_learning_rate=1e-12, max_steps=1)).train()
    for name, p in trainable_parameters(plain).items():
        torch.testing.assert_close(trainable_parameters(still)[name], p, rtol=1e-5, atol=1e-6, msg=name)


def test_reinit_restarts_a_warm_started_query_gate_and_keeps_every_other_weight(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    gated_config = MemoryConfig(**{**tiny_llama.seam().config.memory.to_dict(), "query_gate": True})
    trained = tiny_llama.seam(seed=1, memory=gated_config)
    Trainer(trained, _config(tmp_path / "a", query_gate_learning_rate=0.5, max_steps=2)).train()
    start = tmp_path / "a" / "ck" / "final_step2.safetensors"
    assert max(layer.query_gate.weight.abs().max() for layer in trained.memory_layers.values()) > 0.01  # trained: not zero

    restarted = tiny_llama.seam(seed=5, memory=gated_config)
    Trainer(restarted, _config(tmp_path / "b", init_from=str(start), reinit="query_gate", learning_rate=1e-12,
                               gate_learning_rate=1e-12, query_gate_learning_rate=1e-12, max_steps=1)).train()
    for name, p in trainable_parameters(trained).items():
        got = trainable_parameters(restarted)[name]
        if ".query_gate." in name:  # a fresh gate: a factor of exactly 1 everywhere
            assert got.abs().max() < 1e-9, name
        elif ".query_gate_norm." in name:  # its norm restarts too (LayerNorm's initialisation)
            torch.testing.assert_close(got, torch.ones_like(got) if name.endswith("weight") else torch.zeros_like(got), msg=name)
        else:
            torch.testing.assert_close(got, p, rtol=1e-5, atol=1e-6, msg=name)


def test_reinit_refuses_unknown_options_a_cold_start_and_an_option_the_model_has_off(tiny_llama, tmp_path):
    with pytest.raises(ValueError, match="not among the options"):
        _config(tmp_path, init_from="x.safetensors", reinit="query_gates")
    with pytest.raises(ValueError, match="needs init_from"):
        _config(tmp_path, reinit="query_gate")
    with pytest.raises(ValueError, match="query_gate off"):
        Trainer(tiny_llama.seam(seed=1), _config(tmp_path, init_from="x.safetensors", reinit="query_gate"))


def test_a_resume_may_add_the_query_gate_continuing_the_old_optimizer_exactly_and_no_other_design_change(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    Trainer(tiny_llama.seam(seed=1), _config(tmp_path / "a", max_steps=4, save_every=2)).train()
    ckpt = tmp_path / "a" / "ck" / "checkpoint_step2.safetensors"
    saved = torch.load(ckpt.with_suffix(".trainer.pt"), weights_only=True)["optimizer"]
    gated_config = MemoryConfig(**{**tiny_llama.seam().config.memory.to_dict(), "query_gate": True})
    gated = tiny_llama.seam(seed=4, memory=gated_config)
    config = _config(tmp_path / "b", resume=str(ckpt), query_gate_learning_rate=0.5, gate_close_weight=1.0, max_steps=4)
    trainer = Trainer(gated, config)
    trainer.resume(ckpt)
    state, ids = trainer.optimizer.state_dict(), {n: i for i, n in enumerate(n for g in trainer.group_names for n in g)}
    old = [n for g in trainer.group_names[:2] for n in g if ".query_gate" not in n]  # the plain run's order
    assert len(old) == len(saved["state"]) and len(ids) > len(old)
    for i, name in enumerate(old):  # every old parameter's moments continue, not restart; the gate's start empty
        torch.testing.assert_close(state["state"][ids[name]]["exp_avg"], saved["state"][i]["exp_avg"], msg=name)
    assert set(state["state"]) == {ids[n] for n in old}
    groups = trainer.optimizer.param_groups
    assert [g["lr"] for g in groups[:2]] == [g["lr"] for g in saved["param_groups"]]
    factor = groups[0]["lr"] / config.learning_rate  # the schedule's factor at step 2, the gate's group included
    assert groups[2]["initial_lr"] == 0.5 and groups[2]["lr"] == pytest.approx(0.5 * factor)
    trainer.train()
    assert trainer.step == 4
    gate = torch.cat([layer.query_gate.weight.flatten() for layer in gated.memory_layers.values()])
    assert gate.abs().max() > 0  # the added gate trains from its initialisation (zero)
    keyed_config = MemoryConfig(**{**gated_config.to_dict(), "token_keys": True})  # the gate and another option
    with pytest.raises(ValueError, match="no other design change; start a new run with --init-from"):
        Trainer(tiny_llama.seam(seed=4, memory=keyed_config), config).resume(ckpt)
    with pytest.raises(ValueError, match="token_keys=False"):  # another option alone: the checkpoint does not fit
        Trainer(tiny_llama.seam(seed=4, memory=MemoryConfig(**{**keyed_config.to_dict(), "query_gate": False})),
                _config(tmp_path / "c", resume=str(ckpt), max_steps=4)).resume(ckpt)


def test_the_history_records_the_gate_terms_per_step_and_pads_a_resumed_older_history_with_nan(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    gated_config = MemoryConfig(**{**tiny_llama.seam().config.memory.to_dict(), "query_gate": True})
    trainer = Trainer(tiny_llama.seam(seed=1, memory=gated_config),
                      _config(tmp_path / "a", gate_close_weight=1.0, gate_open_weight=1.0, max_steps=2, save_every=1))
    trainer.train()
    h = trainer.history
    assert len(h.gate_close) == len(h.gate_open) == len(h.step) == 2
    assert all(x == x and x >= 0 for x in h.gate_open)  # every step of the names task asks about the user
    plain = Trainer(tiny_llama.seam(seed=1), _config(tmp_path / "b", max_steps=1))
    plain.train()
    assert [x != x for x in plain.history.gate_close + plain.history.gate_open] == [True, True]  # not trained: nan
    state_path = tmp_path / "a" / "ck" / "checkpoint_step1.trainer.pt"  # as a run from before the columns saved it
    state = torch.load(state_path, weights_only=True)
    old = {k: v for k, v in json.loads(state["history"]).items() if k not in ("gate_close", "gate_open")}
    torch.save({**state, "history": json.dumps(old)}, state_path)
    resumed = Trainer(tiny_llama.seam(seed=1, memory=gated_config),
                      _config(tmp_path / "c", gate_close_weight=1.0, gate_open_weight=1.0, max_steps=2,
                              resume=str(tmp_path / "a" / "ck" / "checkpoint_step1.safetensors")))
    resumed.train()
    r = resumed.history
    assert r.step == [1, 2] and len(r.gate_open) == 2 and r.gate_open[0] != r.gate_open[0] and r.gate_open[1] == r.gate_open[1]


def test_an_episodes_memory_does_not_depend_on_the_other_episodes_in_its_batch(tiny_llama):
    model = tiny_llama.seam()
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.5)
    long, short = make_items(["Rowan", "Ines"], heldout_phrasings=False, seed=0, num_distractors=2)[0], \
        make_items(["Ines"], heldout_phrasings=False, seed=1, num_distractors=0)[0]
    task = RecallLoss(model)
    with torch.no_grad():
        together = task.write_episode([long, short])
        alone = [task.write_episode([long]), task.write_episode([short])]
    for row, solo in enumerate(alone):
        for layer, state in enumerate(together):
            row_state = state.select(row)
            alone_state = solo[layer].widen(*row_state.widths)  # a batch holds as many slots as its fullest episode
            assert alone_state.widths == row_state.widths
            for name, tensor in row_state.tensors().items():
                want = alone_state.tensors()[name]
                if tensor.dtype.is_floating_point:
                    torch.testing.assert_close(tensor, want, atol=1e-5, rtol=1e-5, msg=f"row {row} layer {layer} {name}")
                else:
                    assert torch.equal(tensor, want), f"row {row} layer {layer} {name}"


def test_general_questions_are_matched_to_the_frozen_models_distribution_over_its_own_reply(tiny_llama):
    model = tiny_llama.seam()  # gates closed: memory changes nothing yet, so the match term is exactly 0
    task = RecallLoss(model, match_tokens=5)
    general = [Episode("general", f"g{i}", ["Hi, I'm Rowan.", "I live in Porto."], q, None, {2: "general"}, expect="general")
               for i, q in enumerate(["How do bees make honey?", "Why is the sky blue?"])]
    rows, roles = task.targets(general)
    assert all(0 < len(r) <= 5 for r in rows) and all(set(r) == {MATCH} for r in roles)
    prompts = model.prepare([e.question for e in general])
    batch, predicts = continuation_batch(prompts, rows, model.tokenizer.pad_token_id)
    with torch.no_grad():
        logits = model(batch.input_ids, batch.attention_mask, None).logits
    assert torch.equal(logits.argmax(-1)[predicts], batch.input_ids[:, 1:][predicts[:, :-1]])  # the target is the model's own reply
    loss, parts = task(general)
    assert float(parts["match"]) == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.5)
    loss, parts = task(general)
    assert float(parts["match"]) > 1e-4 and parts["value"].isnan()
    loss.backward()
    assert all(layer.gate.grad is not None and layer.gate.grad.abs() > 0 for layer in model.memory_layers.values())


def _gated_model_and_episodes(tiny_llama):
    """A model with query gates (output gates half open), a general episode and a recall one over the same past."""
    gated = MemoryConfig(**{**tiny_llama.seam().config.memory.to_dict(), "query_gate": True})
    model = tiny_llama.seam(memory=gated)
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.5)
    general = Episode("general", "g0", ["Hi, I'm Rowan."], "Why is the sky blue?", None, {1: "general"}, expect="general")
    recall = Episode("name", "r0", ["Hi, I'm Rowan."], "What is my name?", "Rowan", {1: "name"})
    return model, general, recall


def test_the_gate_closing_term_is_the_mean_read_factor_of_general_rows_only_and_trains_the_query_gates(tiny_llama):
    torch.manual_seed(0)
    model, general, recall = _gated_model_and_episodes(tiny_llama)
    with pytest.raises(ValueError, match="query gate"):
        RecallLoss(tiny_llama.seam(), gate_close_weight=1.0)  # no gates to close
    plain_loss, plain = RecallLoss(model, match_tokens=4)([general, recall])
    assert plain["gate"].isnan()  # off by default: the loss as before
    loss, parts = RecallLoss(model, match_tokens=4, gate_close_weight=2.0)([general, recall])
    assert float(parts["gate"]) == pytest.approx(0.5)  # untrained gates: a factor of 1 everywhere, halved
    assert float(loss.detach()) == pytest.approx(float(plain_loss.detach()) + 2.0 * 0.5, rel=1e-5)
    with torch.no_grad():  # gates that differ by position: the term is the general row's own mean, not the recall row's
        for layer in model.memory_layers.values():
            layer.query_gate.weight.normal_(0, 0.5)
    task = RecallLoss(model, match_tokens=4, gate_close_weight=1.0)
    rows, _ = task.targets([recall, general])
    batch, _ = continuation_batch(model.prepare([recall.question, general.question]), rows, model.tokenizer.pad_token_id)
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask, task.write_episode([recall, general]), capture=True)
        where = batch.attention_mask.bool()
        mean = {row: torch.cat([layer.query_factor(out.hidden[int(p)])[row, :, 0][where[row]]
                                for p, layer in model.memory_layers.items()]).mean() / 2 for row in (0, 1)}
    assert abs(float(mean[0]) - float(mean[1])) > 1e-3
    assert float(task([recall, general])[1]["gate"]) == pytest.approx(float(mean[1]), rel=1e-4)
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.query_gate.bias.fill_(-30.0)  # every read shut
    assert float(RecallLoss(model, match_tokens=4, gate_close_weight=2.0)([general, recall])[1]["gate"]) == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.query_gate.bias.zero_()
    model.zero_grad()
    RecallLoss(model, match_tokens=4, gate_close_weight=1.0)([recall])[0].backward()
    without_general = [layer.query_gate.bias.grad.clone() for layer in model.memory_layers.values()]
    model.zero_grad()
    loss, parts = RecallLoss(model, match_tokens=4, gate_close_weight=1.0)([recall, general])
    loss.backward()
    assert all(layer.query_gate.weight.grad.abs().sum() > 0 for layer in model.memory_layers.values())
    # the term pushes the gates shut (positive gradient on the bias) beyond what recall alone asks
    assert sum(float(layer.query_gate.bias.grad) for layer in model.memory_layers.values()) > sum(float(g) for g in without_general)


def test_the_gate_opening_term_penalises_read_factors_below_one_only_where_a_reply_about_the_user_is_predicted(tiny_llama):
    torch.manual_seed(0)
    model, general, recall = _gated_model_and_episodes(tiny_llama)
    with pytest.raises(ValueError, match="query gate"):
        RecallLoss(tiny_llama.seam(), gate_open_weight=1.0)
    plain_loss, plain = RecallLoss(model, match_tokens=4)([general, recall])
    assert plain["gate_open"].isnan()  # off by default
    _, parts = RecallLoss(model, match_tokens=4, gate_open_weight=1.0)([general, recall])
    assert float(parts["gate_open"]) == pytest.approx(0.0, abs=1e-6)  # untrained gates read at exactly 1: nothing to open
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.query_gate.weight.normal_(0, 0.5)
            layer.query_gate.bias.fill_(-0.5)  # mostly below 1, by position
    task = RecallLoss(model, match_tokens=4, gate_open_weight=3.0)
    rows, roles = task.targets([recall, general])
    batch, predicts = continuation_batch(model.prepare([recall.question, general.question]), rows, model.tokenizer.pad_token_id)
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask, task.write_episode([recall, general]), capture=True)
        # the positions that predict the recall row's reply tokens (its value and the sentence around it), and no other
        want = torch.cat([(1 - layer.query_factor(out.hidden[int(p)])[0, predicts[0], 0]).clamp(min=0)
                          for p, layer in model.memory_layers.items()]).mean()
    assert float(want) > 1e-3
    loss, parts = task([recall, general])
    assert float(parts["gate_open"]) == pytest.approx(float(want), rel=1e-4)
    plain_loss = float(RecallLoss(model, match_tokens=4)([recall, general])[0].detach())
    assert float(loss.detach()) == pytest.approx(plain_loss + 3.0 * float(want), rel=1e-4)
    assert RecallLoss(model, match_tokens=4, gate_open_weight=1.0)([general])[1]["gate_open"].isnan()  # no reply about the user
    model.zero_grad()
    RecallLoss(model, match_tokens=4, gate_open_weight=1.0)([recall])[0].backward()
    with_term = [float(layer.query_gate.bias.grad) for layer in model.memory_layers.values()]
    model.zero_grad()
    RecallLoss(model, match_tokens=4)([recall])[0].backward()
    without = [float(layer.query_gate.bias.grad) for layer in model.memory_layers.values()]
    assert sum(with_term) < sum(without)  # the term pushes the gates open (a more negative gradient on the bias)


def test_a_question_asked_inside_a_conversation_is_matched_to_the_bare_reply_after_that_conversation(tiny_llama):
    model = tiny_llama.seam()
    task = RecallLoss(model, match_tokens=6)
    history = [{"role": "user", "content": "What is the capital of Peru?"}, {"role": "assistant", "content": "Lima."}]
    fresh = Episode("general", "g0", ["I live in Porto."], "Why is the sky blue?", None, {1: "general"}, expect="general")
    inside = Episode("general", "g1", ["I live in Porto."], "Why is the sky blue?", None, {1: "general"}, expect="general",
                     history=history)
    rows, _ = task.targets([fresh, inside])
    for episode, row in zip((fresh, inside), rows):
        prompt = model.prepare([episode.question], [episode.history])
        out = model.base.generate(input_ids=prompt.input_ids, attention_mask=prompt.attention_mask, max_new_tokens=len(row),
                                  do_sample=False, pad_token_id=model.tokenizer.pad_token_id)
        assert out[0, prompt.input_ids.shape[1]:].tolist() == row  # each target follows its own prompt, history included
    assert len(task.bare_replies) == 2
    loss, parts = task([fresh, inside])
    assert torch.isfinite(loss)


def test_a_question_about_a_fact_never_told_is_trained_on_the_whole_not_told_sentence(tiny_llama):
    model = tiny_llama.seam()
    episode = Episode("abstain", "a", [], "Where do I live?", None, {0: "abstain"}, expect="abstain",
                      reply="You haven't told me where you live.")
    told = Episode("fact", "b", ["I live in Porto."], "Where do I live?", "Porto", {1: "fact"}, reply="You live in Porto.")
    rows, roles = RecallLoss(model).targets([episode, told])
    assert set(roles[0]) == {VALUE} and rows[0][-1] == model.tokenizer.eos_token_id
    value_tokens = [t for t, r in zip(rows[1], roles[1]) if r == VALUE]
    assert model.tokenizer.decode(value_tokens).strip() == "Porto" and roles[1][0] == FRAME


@pytest.mark.parametrize("bad", [dict(match_weight=-0.1), dict(frame_weight=-1.0), dict(match_tokens=0), dict(silence_fraction=1.5),
                                 dict(task="recall")])
def test_training_config_refuses_invalid_loss_settings(tmp_path, bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        _config(tmp_path, **bad)


def test_the_memory_task_trains_on_the_mix_and_selects_on_the_validation_splits_rows(tiny_llama, tmp_path, caplog):
    torch.set_num_threads(1)
    model = tiny_llama.seam(seed=3)
    trainer = Trainer(model, _config(tmp_path, task="memory", episodes_per_epoch=8, max_steps=2, eval_every=2, mix="fact=0.5"))
    with caplog.at_level(logging.INFO, logger="seam.training.trainer"):
        result = trainer.train()
    # The log states the whole mix, the kinds --mix did not name at their default shares too.
    mix_line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Training mix: "))
    assert "fact 40.0%" in mix_line and "abstain 6.4%" in mix_line  # 0.5 and 0.08 of 1.25
    h = trainer.history
    assert result["steps"] == 2 and h.eval_step == [2] and 0.0 <= h.val_score[0] <= 1.0
    rows = h.val_rows[0]
    assert {"fact: name", "retention k=20", "abstention: other facts told", "no harm: leaks"} <= set(rows)
    assert h.val_score[0] == pytest.approx(sum(rows.values()) / len(rows))
    assert list((tmp_path / "ck").glob("best_step2.safetensors"))


def test_episodes_sharing_one_past_write_it_once_and_read_the_same_memory(tiny_llama):
    model = tiny_llama.seam()
    item = make_items(["Rowan"], heldout_phrasings=False, seed=0, num_distractors=1)[0]
    unrelated = Episode("unrelated", "u", item.turns, "Why is the sky blue?", None, {len(item.turns): "unrelated"})
    rows_written = []
    write_turns = model.write_turns
    model.write_turns = lambda batch, memory: rows_written.append(batch.input_ids.shape[0]) or write_turns(batch, memory)
    with torch.no_grad():
        memory = RecallLoss(model).write_episode([item, unrelated])
    assert rows_written == [1] * len(item.messages())  # one row per conversation, not two
    for state in memory:
        for name, tensor in state.tensors().items():
            assert torch.equal(tensor[0], tensor[1]), name


def test_the_rows_that_choose_a_checkpoint_are_at_least_trainings_and_build_on_the_validation_split():
    small, big = dataclasses.asdict(VALIDATION_SIZES), dataclasses.asdict(SELECTION_SIZES)
    assert all(big[k] >= v for k, v in small.items() if isinstance(v, int)) and big["retention_after"] == small["retention_after"]
    runs = SuiteBuilder("val", SELECTION_SIZES, 0).runs(("fact", "update", "abstention"))
    n = {r.key: len(r.episodes) for r in runs}
    assert min(n["fact: name"], n["fact: trained kinds"], n["update: correction after 3"], n["abstention: other facts told"]) >= 20


def test_the_validation_score_counts_told_facts_answered_not_told_as_a_row_of_their_own():
    from seam.training.trainer import TOLD_NOT_REFUSED_ROW, validation_score

    rows = [{"key": "fact: name", "n": 10, "systems": {"seam": {"accuracy": 0.6}, "no-memory": {"accuracy": 0.0}}},
            {"key": "abstention: never told", "n": 10, "systems": {"seam": {"accuracy": 1.0}}}]
    refusing = {"rows": rows, "told_answered_not_told": {"seam": {"n": 10, "share": 0.4}, "no-memory": {"n": 10, "share": 1.0}}}
    answering = {"rows": rows, "told_answered_not_told": {"seam": {"n": 10, "share": 0.0}}}
    score, parts = validation_score(refusing)
    assert parts[TOLD_NOT_REFUSED_ROW] == pytest.approx(0.6)
    assert score == pytest.approx((0.6 + 1.0 + 0.6) / 3)
    assert validation_score(answering)[0] > score  # the same recall, fewer refusals: a better checkpoint
    assert TOLD_NOT_REFUSED_ROW not in validation_score({"rows": rows})[1]  # no told facts asked: no row


def test_the_wrong_value_term_is_the_unlikelihood_of_a_forbidden_value_where_the_answer_would_turn_into_it(tiny_llama):
    torch.manual_seed(0)
    model = tiny_llama.seam()
    with torch.no_grad():
        for layer in model.memory_layers.values():
            layer.gate.fill_(0.5)
    # "Rowan" is the right value itself: it parts from the answer nowhere and is left out
    pet = Episode("confusable", "c0", ["I'm Rowan and my cat is called Pixel."], "What is my name?", "Rowan", {1: "confusable"},
                  forbidden=["Pixel", "Rowan"])
    task = RecallLoss(model, wrong_value_weight=2.0)
    [(row, at, token)] = task.wrong_value_tokens([pet])
    rows, _ = task.targets([pet])
    wrong = render_reply(model.tokenizer, model.chat_format, "Your name is Pixel")
    assert row == 0 and rows[0][:at] == wrong[:at] and token == wrong[at] != rows[0][at]
    plain_loss, plain = RecallLoss(model)([pet])
    assert plain["wrong"].isnan()  # off by default: the loss as before
    loss, parts = task([pet])
    batch, predicts = continuation_batch(model.prepare([pet.question]), rows, model.tokenizer.pad_token_id)
    with torch.no_grad():
        logits = model(batch.input_ids, batch.attention_mask, task.write_episode([pet])).logits.float()
    p = logits[0, int(predicts[0].nonzero()[at])].softmax(-1)[token]
    assert float(parts["wrong"]) == pytest.approx(float(-torch.log1p(-p)), rel=1e-4)
    assert float(loss.detach()) == pytest.approx(float(plain_loss.detach()) + 2.0 * float(parts["wrong"]), rel=1e-5)
    with pytest.raises(ValueError, match="wrong_value_weight"):
        TrainingConfig(wrong_value_weight=-1.0)


def _log_dir(root, name: str, files: dict[str, str]):
    folder = root / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text)
    return folder


def test_shipping_a_warm_start_keeps_the_lineages_archived_histories_and_archives_the_replaced_one_under_its_label(tmp_path):
    run = _log_dir(tmp_path, "run", {"training_history.json": "new", "training_history.png": "new plot", "training_1.log": "l1",
                                     "notes.txt": "not shipped"})
    shipped = _log_dir(tmp_path, "shipped", {"training_history.json": "old", "training_history.png": "old plot",
                                             "training_history_steps1-700.json": "oldest", "training_0.log": "l0"})
    files, left_out = history_files([run, shipped], archive_as="steps701-950")
    assert files == {"training_history.json": b"new", "training_history.png": b"new plot", "training_1.log": b"l1",
                     "training_history_steps701-950.json": b"old", "training_history_steps701-950.png": b"old plot",
                     "training_history_steps1-700.json": b"oldest", "training_0.log": b"l0"}
    assert left_out == []
    replace_folder(shipped, files)  # the earlier directory is the folder replaced, as when shipping over seam/pretrained/<model>
    assert sorted(f.name for f in shipped.iterdir()) == sorted(files)
    assert not list(tmp_path.glob("*.shipping")) and not list(tmp_path.glob("*.replaced"))


def test_shipping_a_resumed_run_without_a_label_leaves_the_earlier_history_out_and_says_so(tmp_path):
    run = _log_dir(tmp_path, "run", {"training_history.json": "whole lineage"})
    earlier = _log_dir(tmp_path, "earlier", {"training_history.json": "part", "training_history_steps1-5.json": "kept"})
    files, left_out = history_files([run, earlier])
    assert files == {"training_history.json": b"whole lineage", "training_history_steps1-5.json": b"kept"}
    assert len(left_out) == 1 and "earlier" in left_out[0] and "archive label" in left_out[0]


@pytest.mark.parametrize("label", ["../escape", "", "a/b", "x" * 65])
def test_an_archive_label_that_is_not_a_plain_name_is_refused(tmp_path, label):
    run = _log_dir(tmp_path, "run", {"training_history.json": "new"})
    earlier = _log_dir(tmp_path, "earlier", {"training_history.json": "old"})
    with pytest.raises(ValueError, match="archive label"):
        history_files([run, earlier], archive_as=label)


def test_an_archive_label_with_no_earlier_history_to_archive_is_refused(tmp_path):
    run = _log_dir(tmp_path, "run", {"training_history.json": "new"})
    earlier = _log_dir(tmp_path, "earlier", {"training_0.log": "l0"})
    with pytest.raises(ValueError, match="no earlier log directory holds"):
        history_files([run, earlier], archive_as="steps1-9")


def test_replacing_the_shipped_history_folder_leaves_it_intact_when_a_write_fails(tmp_path, monkeypatch):
    shipped = _log_dir(tmp_path, "shipped", {"training_history.json": "old"})
    real_write = Path.write_bytes
    def failing_write(self, data):
        if self.name == "b.log":
            raise OSError("disk full")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(OSError, match="disk full"):
        replace_folder(shipped, {"a.log": b"a", "b.log": b"b"})
    assert [f.name for f in shipped.iterdir()] == ["training_history.json"]
    assert (shipped / "training_history.json").read_text() == "old"
    assert not list(tmp_path.glob("*.shipping"))


def test_a_history_swap_stopped_between_its_renames_is_recovered_by_the_next_ship(tmp_path):
    shipped = tmp_path / "shipped"
    _log_dir(tmp_path, "shipped.replaced", {"training_history.json": "old"})  # the folder was renamed away, then a crash
    files, _ = history_files([_log_dir(tmp_path, "run", {"training_history.json": "new"}), shipped.with_name("shipped.replaced")])
    replace_folder(shipped, files)
    assert (shipped / "training_history.json").read_text() == "new"
    assert not shipped.with_name("shipped.replaced").exists()


def test_the_decision_term_trains_the_read_to_find_a_told_fact_and_the_abstain_slot_for_a_never_told_one(tiny_llama):
    """At the reply position where the told answer and the "not told" sentence part, the term is -log of what the
    read itself attends to there (the memory's slots if told, the abstain slot if not), and its gradient reaches
    the keys' and queries' projections."""
    import seam.memory.attention as attention

    torch.manual_seed(0)
    config = MemoryConfig(**{**tiny_llama.seam().config.memory.to_dict(), "abstain_slot": True})
    model = tiny_llama.seam(memory=config)
    with pytest.raises(ValueError, match="abstain slot"):
        RecallLoss(tiny_llama.seam(), decision_weight=1.0)
    told = Episode("fact", "f0", ["I live in Lyon."], "Where do I live?", "Lyon", {1: "fact"}, reply="You live in Lyon.",
                   meta={"kind": "city"})
    never = Episode("abstain", "a0", ["I live in Lyon."], "What do I do for a living?", None, {1: "abstain"}, expect="abstain",
                    reply="You haven't told me what you do.", meta={"kind": "job"})
    task = RecallLoss(model, decision_weight=2.0)
    rows, _ = task.targets([told, never])
    render = lambda text: render_reply(model.tokenizer, model.chat_format, text)  # noqa: E731
    for episode, row, other in ((told, rows[0], "You haven't told me where you live."), (never, rows[1], "You work as a x.")):
        k = decision_index(episode, row, render)
        assert row[:k] == render(other)[:k] and row[k] != render(other)[k]  # the first token where they part
    assert decision_index(Episode("fact", "e0", [], "Where do I live?", "Lyon", {0: "fact"}, meta={"kind": "city"}),
                          rows[0], render) is None  # nothing in memory: no decision to train
    later = Episode("retention", "r0", ["I live in Lyon.", Decay(3), "Hi."], "Where do I live?", "Lyon", {3: "retention"},
                    reply="You live in Lyon.", meta={"kind": "city"})
    assert decision_index(later, rows[0], render) is None  # the training's terms use single facts and never-told questions ...
    assert decision_index(later, rows[0], render, tasks=("retention",)) == decision_index(told, rows[0], render)  # ... a fit may use more

    # what the read attends to in the real forward pass, at each decision position (spying on the library's attend)
    batch, predicts = continuation_batch(model.prepare([told.question, never.question]), rows, model.tokenizer.pad_token_id)
    at = [int(predicts[i].nonzero()[decision_index(e, rows[i], render)]) for i, e in enumerate((told, never))]
    seen, real = [], attention.attend
    memory = task.write_episode([told, never])  # (its write passes read too: not spied)

    def spy(queries, slots, num_heads=1, query_tags=None, last_slot_odds=None):
        seen.append(attention.attention_logits(queries, slots, num_heads, query_tags, last_slot_odds).softmax(-1).mean(1).detach())
        return real(queries, slots, num_heads, query_tags, last_slot_odds)  # (seen: B, T, N+2)

    attention.attend = spy
    try:
        with torch.no_grad():
            model(batch.input_ids, batch.attention_mask, memory)
    finally:
        attention.attend = real
    want = torch.stack([-torch.log(torch.stack([w[0, at[0], 1:-1].sum(), w[1, at[1], -1]])) for w in seen]).mean()
    plain_loss, plain = RecallLoss(model)([told, never])
    assert plain["decision"].isnan()  # off by default: the loss as before
    model.zero_grad()
    loss, parts = task([told, never])
    assert float(parts["decision"]) == pytest.approx(float(want), rel=1e-4)
    assert float(loss.detach()) == pytest.approx(float(plain_loss.detach()) + 2.0 * float(want), rel=1e-4)
    loss.backward()
    layer = next(iter(model.memory_layers.values()))
    assert layer.key_proj.weight.grad.abs().sum() > 0 and layer.attention.query_proj.weight.grad.abs().sum() > 0
    assert layer.abstain_key.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="decision_weight"):
        TrainingConfig(decision_weight=-1.0)


def test_the_kind_match_term_ranks_a_told_questions_score_above_a_never_told_ones_and_trains_the_score(tiny_llama):
    torch.manual_seed(0)
    memory = {**tiny_llama.seam().config.memory.to_dict(), "abstain_slot": True, "abstain_match": True}
    model = tiny_llama.seam(memory=MemoryConfig(**memory))
    with pytest.raises(ValueError, match="abstain_match"):
        RecallLoss(tiny_llama.seam(memory=MemoryConfig(**{**memory, "abstain_match": False})), kind_match_weight=1.0)
    told = Episode("fact", "f0", ["I live in Lyon."], "Where do I live?", "Lyon", {1: "fact"}, reply="You live in Lyon.",
                   meta={"kind": "city"})
    never = Episode("abstain", "a0", ["I live in Lyon."], "What do I do for a living?", None, {1: "abstain"}, expect="abstain",
                    reply="You haven't told me what you do.", meta={"kind": "job"})
    scores = []  # the scores the term is built from: one per decision (rows of one position), per layer
    for layer in model.memory_layers.values():
        def spy(slots, hidden, _real=layer.kind_match):
            out = _real(slots, hidden)
            if hidden.shape[:2] == (2, 1):
                scores.append(out[:, 0].detach())
            return out

        layer.kind_match = spy
    plain_loss, _ = RecallLoss(model)([told, never])
    model.zero_grad()
    loss, parts = RecallLoss(model, kind_match_weight=3.0)([told, never])
    assert parts["decision"].isnan() and len(scores) == len(model.memory_layers)  # the term alone, every layer
    want = torch.stack([F.softplus(10.0 * (s[1] - s[0])) for s in scores]).mean()  # never-told's score above told's: a loss
    assert float(parts["kind_match"]) == pytest.approx(float(want), rel=1e-4)
    assert float(loss.detach()) == pytest.approx(float(plain_loss.detach()) + 3.0 * float(want), rel=1e-4)
    loss.backward()
    layer = next(iter(model.memory_layers.values()))
    assert layer.abstain_match_query.weight.grad.abs().sum() > 0 and layer.abstain_match_key.weight.grad.abs().sum() > 0
    _, alone = RecallLoss(model, kind_match_weight=3.0)([told])
    assert alone["kind_match"].isnan()  # no pair to rank
    with pytest.raises(ValueError, match="kind_match_weight"):
        TrainingConfig(kind_match_weight=-1.0)


def test_the_decision_term_still_has_a_gradient_when_the_read_is_sure_of_the_wrong_slot():
    """Reads pick a slot by tens to hundreds of logits: the term on such a read (-log of a mass of e^-200) is large
    and finite and its gradient moves the logits toward the wanted slots; on a mild read it is -log of the mass, mean
    over heads (null slot first, abstain slot last); a told read with every slot hidden gets a finite term, no NaN."""
    mild = torch.tensor([[[0.0, 1.0, 2.0, 0.5], [0.0, -1.0, 0.0, 1.0]]])  # (n=1, H=2, null + 2 slots + abstain)
    p = mild.softmax(-1)
    assert float(decision_nll(mild, torch.tensor([False]))) == pytest.approx(float(-torch.log(p[0, :, 1:3].sum(-1).mean())))
    assert float(decision_nll(mild, torch.tensor([True]))) == pytest.approx(float(-torch.log(p[0, :, 3].mean())))
    sure = torch.tensor([[[0.0, 200.0, -float("inf"), 0.0]]], requires_grad=True)  # a never-told read sure of slot 1
    term = decision_nll(sure, torch.tensor([True]))
    assert 150 < float(term.detach()) < 250
    term.backward()
    assert float(sure.grad[0, 0, 1]) > 0.99 and float(sure.grad[0, 0, 3]) < -0.99  # push the slot down, the abstain slot up
    assert float(sure.grad[0, 0, 2]) == 0  # a hidden slot stays out of it
    blind = torch.tensor([[[0.0, -float("inf"), -float("inf"), 1.0]]], requires_grad=True)  # told, every slot hidden
    term = decision_nll(blind, torch.tensor([False]))
    term.backward()
    assert torch.isfinite(term).all() and torch.isfinite(blind.grad).all()
