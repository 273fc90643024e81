"""MemoryAugmentedModel on the real bundled base models (SmolLM2-135M-Instruct, Gemma 3 270M).

Marked slow: each loads a real model (a few seconds from the ~/.cache/seam conversion; the first Gemma
load converts its GGUF once, ~40 s). Run with `pytest -m slow tests/test_bundled_models.py`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from seam.lm import BUNDLED, ExperimentConfig, MemoryAugmentedModel, decoder_layers
from seam.lm.prompts import continuation_batch

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
MESSAGE = "Hi! My name is Alice. Please remember my name."


def require(model_name: str) -> None:
    bundled = BUNDLED[model_name]
    if importlib.util.find_spec(bundled.package) is None:
        pytest.skip(f"{model_name} is not installed ({bundled.install})")


@pytest.mark.parametrize(("model_name", "chat_format"), [("smollm2-135m", "template"), ("gemma3-270m", "plain")])
def test_bundled_model_writes_memory_and_untrained_memory_is_the_plain_model(model_name, chat_format):
    require(model_name)
    torch.manual_seed(0)
    config = ExperimentConfig() if model_name == "smollm2-135m" else ExperimentConfig(model_name=model_name)
    model = MemoryAugmentedModel(config)
    assert model.config.model_name == model_name and model.chat_format == chat_format
    positions = model.config.memory_layer_positions
    assert all(len(decoder_layers(model.base)[p]._forward_hooks) == 1 for p in positions)

    reply, info = model.generate(MESSAGE, update_memory=True, max_new_tokens=8)
    assert isinstance(reply, str) and info["new_tokens"] > 0
    spaced = " " + MESSAGE if chat_format == "plain" else MESSAGE
    assert info["tokens_written"] == len(model.tokenizer(spaced, add_special_tokens=False)["input_ids"])
    stats = model.memory_stats()
    for p in positions:
        assert 0 < stats[f"layer{p}"]["buffer_used"] <= info["tokens_written"]
        assert stats[f"layer{p}"]["turns_written"] == 1

    # Read through the filled memory: with the gate at 0 the logits are the plain model's, bit for bit.
    batch = model.prepare(["What is my name?"])
    with torch.no_grad(), model.memory_pass(model.memory_of("default")):
        through_memory = model.base(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    second_reply, _ = model.generate("What is my name?", update_memory=False, max_new_tokens=8)

    model.detach()
    assert all(len(layer._forward_hooks) == 0 for layer in decoder_layers(model.base))
    with torch.no_grad():
        plain = model.base(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        plain_ids = model.base.generate(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, max_new_tokens=8, do_sample=False,
            pad_token_id=model.tokenizer.pad_token_id,
        )
    assert torch.equal(through_memory, plain)
    plain_reply = model.tokenizer.decode(plain_ids[0, batch.input_ids.shape[1] :], skip_special_tokens=True).strip()
    if chat_format == "plain":
        plain_reply = plain_reply.split("\nUser:")[0].strip()
    assert second_reply == plain_reply


RESTART_SCRIPT = """
import hashlib, json, sys
import torch
from seam.lm import ExperimentConfig, MemoryAugmentedModel

memory_dir, role = sys.argv[1], sys.argv[2]
model = MemoryAugmentedModel(ExperimentConfig(memory_dir=memory_dir, max_new_tokens=4))
if role == "write":
    model.generate("Hi! My name is Alice. Please remember my name.", user="alice", update_memory=True)
digest = hashlib.sha256()
for state in model.memory_of("alice"):
    for name, tensor in sorted(state.tensors().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
stats = model.memory_stats("alice")
print(json.dumps({"digest": digest.hexdigest(), "buffer": [s["buffer_used"] for s in stats.values()]}))
"""


def run_process(memory_dir: Path, role: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", RESTART_SCRIPT, str(memory_dir), role],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_users_memory_survives_a_process_restart_through_memory_dir(tmp_path):
    require("smollm2-135m")
    written = run_process(tmp_path, "write")
    assert (tmp_path / "alice.safetensors").is_file()
    assert all(n > 0 for n in written["buffer"])
    read = run_process(tmp_path, "read")
    assert read == written


@pytest.mark.parametrize("model_name", ["smollm2-135m", "gemma3-270m"])
def test_the_shipped_checkpoint_is_fp16_trained_on_the_memory_task_and_loads_with_from_pretrained(model_name):
    from safetensors import safe_open

    from seam.lm.checkpoint import pretrained_checkpoint, read_metadata

    require(model_name)
    path = pretrained_checkpoint(model_name)
    assert path.is_file(), f"no shipped checkpoint for {model_name} at {path}"
    with safe_open(str(path), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    assert json.loads(read_metadata(path)["training_config"])["task"] == "memory"
    assert (path.parent / model_name / "training_history.png").is_file()
    model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(model_name=model_name))
    try:
        assert model.config.model_name == model_name
        layers = model.memory_layers.values()
        assert all(p.dtype == torch.float32 for layer in layers for p in layer.parameters())
        assert all(float(layer.gate.detach().abs().max()) > 0 for layer in layers)  # trained: the gates are open
        # gemma's residual stream is 50-60x SmolLM2's: its memory reads in proportion to it, restored from the checkpoint
        assert model.config.memory.relative_read == (model_name == "gemma3-270m")
    finally:
        model.detach()


def test_gemmas_shipped_memory_makes_the_told_name_the_likely_answer_after_a_context_clear():
    """The gemma3-270m checkpoint's read (relative to its 50-60x larger residual stream) carries the told value:
    after "My name is Hannah Okafor." and a context clear, the reply naming her is far more likely than for a
    new user, and than a reply naming someone else."""
    require("gemma3-270m")
    model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(model_name="gemma3-270m"))
    try:
        model.remember("My name is Hannah Okafor.", user="hannah")

        def answer_nll(user: str, answer: str) -> float:
            reply = model.tokenizer(answer, add_special_tokens=False)["input_ids"]
            batch, predicts = continuation_batch(model.prepare(["What is my name?"]), [reply], model.tokenizer.pad_token_id)
            with torch.no_grad():
                logits = model(batch.input_ids, batch.attention_mask, model.users.stack([user])).logits
            targets = batch.input_ids[:, 1:][predicts[:, :-1]]  # the position before each reply token predicts it
            return float(torch.nn.functional.cross_entropy(logits[predicts].float(), targets, reduction="sum"))

        told = answer_nll("hannah", "Your name is Hannah Okafor.")
        assert told < answer_nll("stranger", "Your name is Hannah Okafor.") - 3.0
        assert told < answer_nll("hannah", "Your name is Maria Lopez.") - 3.0
    finally:
        model.detach()
