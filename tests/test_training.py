"""Training: data splits that measure generalisation, a loss that trains the write side, exact resume."""

from __future__ import annotations

import pytest
import torch

from seam.lm.model import trainable_parameters
from seam.tasks.data import DECAY_BETWEEN_CONVERSATIONS, RESERVED, split_names
from seam.tasks.episodes import Decay, make_items
from seam.tasks.scoring import mentions
from seam.training.loss import RecallLoss
from seam.training.trainer import Trainer, TrainingConfig


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
    loss, name_loss, acc = RecallLoss(model)(items)
    loss.backward()
    for layer in model.memory_layers.values():
        assert layer.key_proj.weight.grad is not None and layer.key_proj.weight.grad.abs().sum() > 0
        assert layer.value_proj.weight.grad.abs().sum() > 0
    assert torch.isfinite(name_loss) and 0.0 <= float(acc) <= 1.0


def _config(tmp_path, **kw) -> TrainingConfig:
    base = dict(num_train=16, num_val=2, num_test=2, batch_size=2, eval_every=100, save_every=2, max_steps=4,
                max_distractors=1, checkpoint_dir=str(tmp_path / "ck"), log_dir=str(tmp_path / "logs"))
    base.update(kw)
    return TrainingConfig(**base)


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
            for name, tensor in state.select(row).tensors().items():
                want = solo[layer].tensors()[name]
                if tensor.dtype.is_floating_point:
                    torch.testing.assert_close(tensor, want, atol=1e-5, rtol=1e-5, msg=f"row {row} layer {layer} {name}")
                else:
                    assert torch.equal(tensor, want), f"row {row} layer {layer} {name}"


def test_unrelated_questions_are_trained_toward_the_frozen_models_own_greedy_reply(tiny_llama):
    model = tiny_llama.seam()  # gates closed: the memory changes nothing yet
    task = RecallLoss(model, silence_weight=1.0)
    task.set_silence_targets(["How do bees make honey?", "Why is the sky blue?"], max_tokens=5)
    assert all(0 < len(r) <= 5 for r in task.silence_replies)
    items = make_items(["Rowan", "Ines"], heldout_phrasings=False, seed=0)
    batch, role = task.answer_batch(items, unrelated=[1, 0])
    assert batch.input_ids.shape[0] == 4
    for row, q in ((2, 1), (3, 0)):
        assert batch.input_ids[row][role[row] == 3].tolist() == task.silence_replies[q]
    with torch.no_grad():
        logits = model.base(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False).logits
    predicted = logits[:, :-1].argmax(-1)[role[:, 1:] == 3]
    assert torch.equal(predicted, batch.input_ids[:, 1:][role[:, 1:] == 3])  # the target is what the model says anyway
    loss_with, *_ = task(items, unrelated=[0, 1])
    loss_without, *_ = task(items)
    assert loss_with > loss_without


@pytest.mark.parametrize("bad", [dict(silence_weight=-0.1), dict(frame_weight=-1.0), dict(silence_tokens=0), dict(silence_fraction=1.5)])
def test_training_config_refuses_invalid_loss_settings(tmp_path, bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        _config(tmp_path, **bad)
