"""MemoryAugmentedModel (seam.lm) on tiny random Llama, Gemma 3, Qwen2 and GPT-2 models built in code.

Fixtures and builders live in conftest.py. Every model is seeded; nothing is downloaded. The tiny models
run on one thread: with two cores and a training run beside them, a second thread only waits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import build_seam, build_tiny_model, load_script, open_gates, tiny_lm
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, BertConfig

from seam.lm import DECODER_LAYERS, ExperimentConfig, MemoryAugmentedModel, decoder_layers, trainable_parameters
from seam.lm.checkpoint import checkpoint_memory_config, option_parameters, read_metadata, save_derived_checkpoint
from seam.lm.model import position_ids
from seam.memory import MemoryConfig, MemoryState

MESSAGE = "Hello! My name is Alice. Please remember my name."
OTHER = "My favourite colour is blue and my dog is called Rex."


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# -- helpers -------------------------------------------------------------------------------------------
def snapshot(memory: list[MemoryState]) -> list[MemoryState]:
    return [state.clone() for state in memory]


def assert_same_memory(actual: list[MemoryState], expected: list[MemoryState]) -> None:
    """The same memory: the same slots, exactly, up to empty slots after the last one in use."""
    assert len(actual) == len(expected)
    for layer, (a, b) in enumerate(zip(actual, expected)):
        a, b = MemoryState.padded([a, b])  # a state holds its used slots, not its capacity
        for name, tensor in a.tensors().items():
            assert torch.equal(tensor, b.tensors()[name]), f"layer {layer}: {name} changed"


def assert_close_memory(actual: list[MemoryState], expected: list[MemoryState], atol: float = 1e-5) -> None:
    for layer, (a, b) in enumerate(zip(actual, expected)):
        a, b = MemoryState.padded([a, b])  # a state holds its used slots, not its capacity
        for name, tensor in a.tensors().items():
            other = b.tensors()[name]
            if tensor.dtype.is_floating_point:
                assert torch.allclose(tensor, other, atol=atol, rtol=0), f"layer {layer}: {name} differs"
            else:
                assert torch.equal(tensor, other), f"layer {layer}: {name} differs"


def is_empty(memory: list[MemoryState]) -> bool:
    return all(not s.buffer_used.any() and not s.store_used.any() and int(s.clock.sum()) == 0 for s in memory)


def spy_generated_tokens(model: MemoryAugmentedModel, monkeypatch: pytest.MonkeyPatch) -> list[list[list[int]]]:
    """Record the new token ids of every `model.base.generate` call (one list per row)."""
    calls: list[list[list[int]]] = []
    original = model.base.generate

    def generate(*args, **kwargs):
        out = original(*args, **kwargs)
        prompt = kwargs.get("input_ids", args[0] if args else None)
        calls.append([trim(row, model) for row in out[:, prompt.shape[1] :].tolist()])
        return out

    monkeypatch.setattr(model.base, "generate", generate)
    return calls


def eos_ids(model: MemoryAugmentedModel) -> set[int]:
    eos = model.base.generation_config.eos_token_id
    return set(eos if isinstance(eos, list) else [eos])


def trim(tokens: list[int], model: MemoryAugmentedModel) -> list[int]:
    """Tokens up to and including the first end-of-sequence; padding of a finished batch row dropped."""
    out = []
    for t in tokens:
        out.append(t)
        if t in eos_ids(model):
            break
    return out


def greedy_without_cache(model: MemoryAugmentedModel, text: str, memory: list[MemoryState], steps: int) -> list[int]:
    """Reference decoding: the whole sequence re-run at every step (no KV cache) while reading `memory`."""
    ids = model.prepare([text]).input_ids
    out: list[int] = []
    with torch.no_grad(), model.memory_pass(memory):
        for _ in range(steps):
            next_token = int(model.base(input_ids=ids, use_cache=False).logits[0, -1].argmax())
            out.append(next_token)
            if next_token in eos_ids(model):
                break
            ids = torch.cat([ids, torch.tensor([[next_token]])], 1)
    return out


def plain_logits(base, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return base(input_ids=ids, use_cache=False).logits


def prompt_ids(model: MemoryAugmentedModel, text: str = MESSAGE) -> torch.Tensor:
    return model.prepare([text]).input_ids


def fill_memory(model: MemoryAugmentedModel, user: str = "default") -> None:
    """Write turns until every layer's buffer is full (and the store holds something)."""
    texts = [MESSAGE, OTHER, "I live in Paris and I like green tea.", "Thank you very much, see you tomorrow."]
    for text in texts:
        model.remember(text, user=user)
    for layer in model.memory_stats(user).values():
        assert layer["buffer_used"] == layer["buffer_slots"], "the test meant to fill the buffer"
        assert layer["store_used"] > 0


def hook_counts(model: MemoryAugmentedModel) -> list[int]:
    return [len(layer._forward_hooks) for layer in decoder_layers(model.base)]


# -- 0. construction -------------------------------------------------------------------------------------
def test_chat_format_follows_the_tokenizer_for_unbundled_models(tiny_llama, tiny_gpt2):
    chat, plain = tiny_llama.seam(), tiny_gpt2.seam()
    assert chat.chat_format == "template"
    assert plain.chat_format == "plain"
    chat_prompt = chat.tokenizer.decode(prompt_ids(chat)[0])
    plain_prompt = plain.tokenizer.decode(prompt_ids(plain)[0])
    assert chat_prompt == f"<|im_start|>system\n<|im_end|>\n<|im_start|>user\n{MESSAGE}<|im_end|>\n<|im_start|>assistant\n"
    assert plain_prompt == f"User: {MESSAGE}\nAssistant:"


def test_memory_hidden_dim_follows_the_base_model_and_hooks_sit_only_at_memory_positions(tiny):
    model = tiny.seam()
    assert model.config.memory.hidden_dim == model.base.config.get_text_config().hidden_size
    positions = model.config.memory_layer_positions
    assert hook_counts(model) == [1 if i in positions else 0 for i in range(len(hook_counts(model)))]
    assert set(trainable_parameters(model)) and all(n.startswith("memory_layers.") for n in trainable_parameters(model))
    assert not any(p.requires_grad for p in model.base.parameters())


# -- 1. untrained memory is the identity; detach restores the plain model -----------------------------
def test_untrained_memory_leaves_logits_bit_identical_even_when_full(tiny):
    base = tiny.base()
    model = tiny.seam(base)
    ids = prompt_ids(model)
    before = plain_logits(base, ids)
    fill_memory(model)
    with torch.no_grad(), model.memory_pass(model.memory_of("default")):
        through_memory = model.base(input_ids=ids, use_cache=False).logits
    assert torch.equal(through_memory, before)


def test_untrained_memory_generates_what_the_base_model_generates(tiny, monkeypatch):
    fresh = tiny.base()  # same seed, never hooked
    model = tiny.seam()
    fill_memory(model)
    tokens = spy_generated_tokens(model, monkeypatch)
    model.generate(MESSAGE, update_memory=True, max_new_tokens=6)
    batch = model.prepare([MESSAGE])
    plain = fresh.generate(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, max_new_tokens=6, do_sample=False,
        pad_token_id=model.tokenizer.pad_token_id,
    )
    assert tokens[0][0] == trim(plain[0, batch.input_ids.shape[1] :].tolist(), model)


def test_detach_makes_the_base_model_exactly_the_plain_model_again(tiny):
    base = tiny.base()
    fresh = tiny.base()  # the same seed: the same weights, never hooked
    model = tiny.seam(base)
    ids = prompt_ids(model)
    before = plain_logits(base, ids)
    open_gates(model)
    fill_memory(model)
    with torch.no_grad(), model.memory_pass(model.memory_of("default")):
        assert not torch.equal(model.base(input_ids=ids, use_cache=False).logits, before)  # memory was really read
    model.detach()
    assert sum(hook_counts(model)) == 0
    assert torch.equal(plain_logits(base, ids), before)
    assert torch.equal(plain_logits(base, ids), plain_logits(fresh, ids))


# -- 2. hooks are owned resources ------------------------------------------------------------------------
def test_leaving_a_with_block_by_an_exception_removes_the_hooks(tiny_llama):
    model = tiny_llama.seam()
    assert sum(hook_counts(model)) == 2
    with pytest.raises(KeyError):
        with model:
            model.generate(MESSAGE, max_new_tokens=2)
            raise KeyError("boom")
    assert sum(hook_counts(model)) == 0
    assert not model.hooks.attached


def test_the_lm_head_sees_a_contiguous_input_and_gives_the_same_logits_when_only_the_last_positions_are_kept(tiny_llama):
    model = tiny_llama.seam()
    head = model.base.get_output_embeddings()
    contiguous: list[bool] = []
    spy = head.register_forward_pre_hook(lambda module, args: contiguous.append(args[0].is_contiguous()))
    ids = model.prepare([MESSAGE, OTHER]).input_ids  # two rows: a slice of the last positions is strided
    with torch.no_grad():
        full = model.base(input_ids=ids, use_cache=False).logits
        kept = model.base(input_ids=ids, use_cache=False, logits_to_keep=3).logits
    spy.remove()
    assert contiguous == [True, True]
    assert torch.allclose(kept, full[:, -3:], atol=1e-5)
    model.detach()
    assert len(head._forward_pre_hooks) == 0


def test_detached_model_refuses_memory_calls_instead_of_silently_ignoring_memory(tiny_llama):
    model = tiny_llama.seam()
    model.detach()
    model.detach()  # idempotent
    with pytest.raises(RuntimeError, match="detached"):
        model.generate(MESSAGE)
    with pytest.raises(RuntimeError, match="detached"):
        with model.memory_pass(None):
            pass


def test_an_exception_inside_memory_pass_resets_the_pass_so_the_next_call_works(tiny_llama):
    model = tiny_llama.seam()
    with pytest.raises(ZeroDivisionError):
        with model.memory_pass(model.memory_of("default"), capture=True):
            model.base(input_ids=prompt_ids(model), use_cache=False)
            1 / 0
    assert model._pass is None
    reply, info = model.generate(MESSAGE, max_new_tokens=3)
    assert info["tokens_written"] > 0 and isinstance(reply, str)


def test_memory_passes_are_not_reentrant(tiny_llama):
    model = tiny_llama.seam()
    with model.memory_pass(None):
        with pytest.raises(RuntimeError, match="already running"):
            with model.memory_pass(None):
                pass
    with model.memory_pass(None):  # the outer pass was released
        pass


def test_a_failure_during_generation_writes_nothing_and_the_next_call_works(tiny_llama, monkeypatch):
    model = tiny_llama.seam()
    model.remember(OTHER)
    before = snapshot(model.memory_of("default"))

    def broken(*args, **kwargs):
        raise RuntimeError("generation failed")

    with monkeypatch.context() as patch:
        patch.setattr(model.base, "generate", broken)
        with pytest.raises(RuntimeError, match="generation failed"):
            model.generate(MESSAGE, update_memory=True)
    assert model._pass is None
    assert_same_memory(model.memory_of("default"), before)
    _, info = model.generate(MESSAGE, update_memory=True, max_new_tokens=2)
    assert info["tokens_written"] > 0


# -- 3. with memory read, the KV-cache path equals decoding without a cache ----------------------------
@pytest.mark.parametrize("update_memory", [False, True])
def test_cached_generation_with_open_gate_equals_uncached_greedy_decoding(tiny, monkeypatch, update_memory):
    model = tiny.seam()
    open_gates(model)
    model.remember(OTHER)
    model.remember("I live in Paris and I like green tea.")
    memory = snapshot(model.memory_of("default"))  # what this turn reads (its own write comes after)
    ids = prompt_ids(model)

    with torch.no_grad(), model.memory_pass(memory):
        with_memory = model.base(input_ids=ids, use_cache=False).logits
    assert (with_memory - plain_logits(model.base, ids)).abs().max() > 1e-3, "memory must change the logits"

    tokens = spy_generated_tokens(model, monkeypatch)
    model.generate(MESSAGE, update_memory=update_memory, max_new_tokens=8)
    assert tokens[0][0] == greedy_without_cache(model, MESSAGE, memory, steps=8)


# -- 4. users' memories stay apart -------------------------------------------------------------------------
def test_writing_one_users_memory_leaves_another_users_memory_and_replies_unchanged(tiny, monkeypatch):
    model = tiny.seam()
    open_gates(model)
    tokens = spy_generated_tokens(model, monkeypatch)
    model.remember(OTHER, user="b")
    b_memory = snapshot(model.memory_of("b"))
    model.generate("What is my name?", user="b", update_memory=False, max_new_tokens=8)
    b_reply_before = tokens[-1]

    model.generate(MESSAGE, user="a", update_memory=True, max_new_tokens=4)
    model.remember("I live in Paris and I like green tea.", user="a")
    assert model.memory_stats("a")["layer" + str(model.config.memory_layer_positions[0])]["turns_written"] == 2

    assert_same_memory(model.memory_of("b"), b_memory)
    model.generate("What is my name?", user="b", update_memory=False, max_new_tokens=8)
    assert tokens[-1] == b_reply_before
    model.generate("What is my name?", user="a", update_memory=False, max_new_tokens=8)
    with torch.no_grad():
        ids = prompt_ids(model, "What is my name?")
        with model.memory_pass(model.memory_of("a")):
            logits_a = model.base(input_ids=ids, use_cache=False).logits
        with model.memory_pass(model.memory_of("b")):
            logits_b = model.base(input_ids=ids, use_cache=False).logits
    assert not torch.allclose(logits_a, logits_b), "a's and b's memories must read differently"


UNEQUAL = ["Hello! My name is Alice and I like green tea.", "Hi"]  # b's row is left-padded in a batch
EQUAL = ["My name is Alice.", "My name is Sarah."]  # the same number of tokens: no padding


def _batched_versus_one_by_one(lm, monkeypatch, update_memory: bool, texts: list[str]) -> None:
    model = lm.seam()
    open_gates(model)
    model.remember(OTHER, user="a")
    model.remember("I live in Paris.", user="b")
    start = {u: snapshot(model.memory_of(u)) for u in "ab"}
    tokens = spy_generated_tokens(model, monkeypatch)

    replies, infos = model.generate(texts, user=["a", "b"], update_memory=update_memory, max_new_tokens=8)
    batched_tokens = tokens[-1]
    batched_memory = {u: snapshot(model.memory_of(u)) for u in "ab"}

    for u in "ab":
        model.users.set(u, snapshot(start[u]))
    for i, (text, user) in enumerate(zip(texts, "ab")):
        reply, info = model.generate(text, user=user, update_memory=update_memory, max_new_tokens=8)
        assert tokens[-1][0] == batched_tokens[i], f"user {user}: batched tokens differ"
        assert reply == replies[i]
        assert info.get("tokens_written") == infos[i].get("tokens_written")
        assert_close_memory(model.memory_of(user), batched_memory[user])


def test_batched_generation_for_two_users_equals_one_by_one(tiny, monkeypatch):
    _batched_versus_one_by_one(tiny, monkeypatch, update_memory=False, texts=UNEQUAL)


def test_batched_generation_with_memory_update_for_two_users_equals_one_by_one_without_padding(tiny, monkeypatch):
    lengths = {len(tiny.seam().prepare([t]).input_ids[0]) for t in EQUAL}
    assert len(lengths) == 1, "the test needs prompts of equal length"
    _batched_versus_one_by_one(tiny, monkeypatch, update_memory=True, texts=EQUAL)




def test_batched_generation_with_memory_update_equals_one_by_one(tiny, monkeypatch):
    _batched_versus_one_by_one(tiny, monkeypatch, update_memory=True, texts=UNEQUAL)


def test_batched_remember_writes_what_one_by_one_writes(tiny_gpt2):
    model = tiny_gpt2.seam()
    texts = UNEQUAL
    model.remember(texts, user=["a", "b"])
    batched = {u: snapshot(model.memory_of(u)) for u in "ab"}
    for text, user in zip(texts, "ab"):
        model.clear_memory(user)
        model.remember(text, user=user)
        assert_close_memory(model.memory_of(user), batched[user])


def test_a_batch_may_not_hold_the_same_user_twice(tiny_llama):
    model = tiny_llama.seam()
    with pytest.raises(ValueError, match="each user once"):
        model.generate([MESSAGE, OTHER], user=["a", "a"])
    assert len(model.users) == 0


# -- 5. checkpoints and memory files -------------------------------------------------------------------------
def test_checkpoint_round_trip_is_exact_and_holds_only_memory_weights(tiny, tmp_path):
    model = tiny.seam()
    open_gates(model, 0.3)
    path = tmp_path / "ckpt.safetensors"
    model.save_checkpoint(path)

    with safe_open(str(path), framework="pt") as f:
        keys = set(f.keys())
    assert keys == set(trainable_parameters(model))
    assert all(k.startswith("memory_layers.") for k in keys)
    assert not any(k in keys for k, _ in model.base.named_parameters())
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["memory_layer_positions"] == model.config.memory_layer_positions
    assert sidecar["hidden_size"] == model.base.config.get_text_config().hidden_size

    fresh = tiny.seam(seed=1)  # other random memory weights
    assert not all(torch.equal(a, b) for a, b in zip(fresh.checkpoint_tensors().values(), model.checkpoint_tensors().values()))
    fresh.load_checkpoint(path)
    mine, theirs = model.checkpoint_tensors(), fresh.checkpoint_tensors()
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert torch.equal(mine[name], theirs[name]), name


def test_memory_file_round_trip_gives_exactly_the_memory_as_saved(tiny, tmp_path):
    model = tiny.seam()
    model.remember(MESSAGE, user="alice")
    model.decay(2, user="alice")
    model.remember(OTHER, user="alice")
    path = tmp_path / "alice.safetensors"
    model.save_memory(path, user="alice")
    model.load_memory(path, user="copy")
    assert_same_memory(model.memory_of("copy"), [s.as_saved() for s in model.memory_of("alice")])
    assert_close_memory(model.memory_of("copy"), model.memory_of("alice"), atol=2e-3)
    assert not is_empty(model.memory_of("copy"))


def test_a_reloaded_compact_memory_file_gives_the_same_replies(tiny_llama, tmp_path):
    model = tiny_llama.seam()
    open_gates(model)
    for text in (MESSAGE, OTHER):
        model.remember(text, user="alice")
    model.save_memory(tmp_path / "alice.safetensors", user="alice")
    model.load_memory(tmp_path / "alice.safetensors", user="copy")
    questions = ["What is my name?", "Tell me a short story about a cat and a dog.", "I live in Paris and I like green tea."]
    for question in questions:
        original, _ = model.generate(question, user="alice", update_memory=False, max_new_tokens=12)
        reloaded, _ = model.generate(question, user="copy", update_memory=False, max_new_tokens=12)
        assert reloaded == original


def test_a_persistent_memory_is_held_as_its_file_holds_it_so_a_restart_changes_no_reply(tiny_llama, tmp_path):
    first = tiny_llama.seam(memory_dir=str(tmp_path))
    open_gates(first)
    first.generate(MESSAGE, user="alice", update_memory=True, max_new_tokens=4)
    first.remember(OTHER, user="alice")
    before, _ = first.generate("What is my name?", user="alice", update_memory=False, max_new_tokens=12)
    second = tiny_llama.seam(memory_dir=str(tmp_path))
    open_gates(second)
    assert_same_memory(second.memory_of("alice"), first.memory_of("alice"))
    after, _ = second.generate("What is my name?", user="alice", update_memory=False, max_new_tokens=12)
    assert after == before


def test_memory_dir_keeps_a_users_memory_across_a_restart(tiny, tmp_path):
    first = tiny.seam(memory_dir=str(tmp_path))
    first.generate(MESSAGE, user="alice", update_memory=True, max_new_tokens=2)
    first.remember(OTHER, user="alice")
    assert (tmp_path / "alice.safetensors").is_file()
    written = snapshot(first.memory_of("alice"))
    first.detach()

    second = tiny.seam(memory_dir=str(tmp_path))  # a new process would build exactly this
    assert not is_empty(second.memory_of("alice"))
    assert_same_memory(second.memory_of("alice"), written)
    assert is_empty(second.memory_of("bob"))

    second.clear_memory("alice")
    third = tiny.seam(memory_dir=str(tmp_path))
    assert is_empty(third.memory_of("alice")), "clearing must persist too"


def test_loading_a_memory_file_made_for_other_layers_is_refused_and_keeps_memory(tiny_llama, tmp_path):
    model = tiny_llama.seam(positions=[1, 2])
    other = tiny_llama.seam(positions=[0, 3])
    other.remember(MESSAGE)
    other.save_memory(tmp_path / "m.safetensors")
    model.remember(OTHER)
    before = snapshot(model.memory_of("default"))
    with pytest.raises(ValueError, match="memory layers"):
        model.load_memory(tmp_path / "m.safetensors")
    assert_same_memory(model.memory_of("default"), before)


# -- 6. mismatched checkpoints are refused ----------------------------------------------------------------
@pytest.fixture
def trained_llama(tiny_llama):
    model = tiny_llama.seam()
    open_gates(model, 0.25)
    return model


def _refused(model: MemoryAugmentedModel, path: Path, error: type[Exception], match: str) -> None:
    before = model.checkpoint_tensors()
    with pytest.raises(error, match=match):
        model.load_checkpoint(path)
    after = model.checkpoint_tensors()
    assert all(torch.equal(before[k], after[k]) for k in before), "a refused load must not change the weights"


def test_checkpoint_for_another_hidden_size_is_refused_naming_the_hidden_size(trained_llama, tiny_llama, tmp_path):
    wider = tiny_llama.seam(build_tiny_model("llama", len(tiny_llama.tokenizer), hidden_size=48))
    assert wider.config.memory.hidden_dim == 48
    wider.save_checkpoint(tmp_path / "wide.safetensors")
    _refused(trained_llama, tmp_path / "wide.safetensors", ValueError, r"hidden size 48 .* has 32")


def test_checkpoint_for_other_layer_positions_is_refused_naming_the_positions(trained_llama, tiny_llama, tmp_path):
    other = tiny_llama.seam(positions=[1, 3])
    other.save_checkpoint(tmp_path / "other.safetensors")
    _refused(trained_llama, tmp_path / "other.safetensors", ValueError, r"memory layers at \[1, 3\].*\[1, 2\]")


def test_a_checkpoint_with_another_read_scale_is_refused_even_as_a_warm_start(tiny_llama, tmp_path):
    sizes = dict(buffer_slots=16, store_slots=8, num_heads=2)
    tiny_llama.seam(memory=MemoryConfig(**sizes)).save_checkpoint(tmp_path / "absolute.safetensors")
    relative = tiny_llama.seam(memory=MemoryConfig(**sizes, relative_read=True))
    for new_options in (False, True):  # the same tensors would read at another scale: never loaded silently
        with pytest.raises(ValueError, match=r"memory design differs: relative_read=False \(model: True\)"):
            relative.load_checkpoint(tmp_path / "absolute.safetensors", new_options=new_options)
    relative.save_checkpoint(tmp_path / "relative.safetensors")
    with safe_open(str(tmp_path / "relative.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert MemoryAugmentedModel.config_for_checkpoint(ExperimentConfig(), meta).memory.relative_read  # from_pretrained reads it


def test_a_checkpoint_restores_the_system_prompt_it_was_trained_with_and_warns_on_another(tiny_llama, tmp_path, caplog):
    trained = tiny_llama.seam(system_prompt="Be brief.")
    trained.save_checkpoint(tmp_path / "brief.safetensors")
    with safe_open(str(tmp_path / "brief.safetensors"), framework="pt") as f:
        meta = f.metadata()
    assert MemoryAugmentedModel.config_for_checkpoint(ExperimentConfig(), meta).system_prompt == "Be brief."
    meta.pop("system_prompt")  # checkpoints from before it was recorded were trained on the template as it is
    assert MemoryAugmentedModel.config_for_checkpoint(ExperimentConfig(), meta).system_prompt is None
    with caplog.at_level("WARNING", logger="seam.lm.model"):
        tiny_llama.seam().load_checkpoint(tmp_path / "brief.safetensors")
    assert "trained with system prompt 'Be brief.'" in caplog.text


def test_pickled_checkpoint_is_refused_without_being_unpickled(trained_llama, tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save(trained_llama.checkpoint_tensors(), path)
    _refused(trained_llama, path, ValueError, "safetensors")


def test_missing_checkpoint_raises_file_not_found(trained_llama, tmp_path):
    _refused(trained_llama, tmp_path / "nowhere.safetensors", FileNotFoundError, "No checkpoint")


def test_corrupt_checkpoint_is_refused(trained_llama, tmp_path):
    good = tmp_path / "good.safetensors"
    trained_llama.save_checkpoint(good)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    _refused(trained_llama, corrupt, ValueError, "not a readable safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01 this is not safetensors")
    _refused(trained_llama, garbage, ValueError, "not a readable safetensors")


def test_safetensors_file_that_is_not_a_seam_checkpoint_is_refused(trained_llama, tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file(trained_llama.checkpoint_tensors(), str(path))  # right tensors, no SEAM metadata
    _refused(trained_llama, path, ValueError, "not a SEAM checkpoint")


# -- 7. invalid input to generate ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("", ValueError, "empty"),
        ("  \n\t ", ValueError, "empty"),
        (42, TypeError, "string"),
        (None, TypeError, "string"),
        ([], ValueError, "No message"),
    ],
    ids=["empty", "whitespace", "int", "None", "empty-list"],
)
def test_invalid_message_is_refused_and_memory_is_unchanged(tiny, text, error, match):
    model = tiny.seam()
    model.remember(OTHER)
    before = snapshot(model.memory_of("default"))
    with pytest.raises(error, match=match):
        model.generate(text, update_memory=True)
    with pytest.raises(error, match=match):
        model.remember(text)
    assert_same_memory(model.memory_of("default"), before)


@pytest.mark.parametrize("user", ["../etc", "a/b", "", ".hidden", "-x", "x" * 200, 5, None])
def test_invalid_user_id_is_refused_and_nothing_is_written(tiny_llama, tmp_path, user):
    memory_dir = tmp_path / "memory"
    model = tiny_llama.seam(memory_dir=str(memory_dir))
    model.remember(OTHER)
    before = snapshot(model.memory_of("default"))
    with pytest.raises(ValueError, match="User id"):
        model.generate(MESSAGE, user=user, update_memory=True)
    with pytest.raises(ValueError, match="User id"):
        model.remember(MESSAGE, user=user)
    with pytest.raises(ValueError, match="User id"):
        model.clear_memory(user)
    assert_same_memory(model.memory_of("default"), before)
    assert set(model.users) == {"default"}
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["default.safetensors"]


def test_text_longer_than_the_context_is_refused_naming_the_context(tiny_llama):
    model = tiny_llama.seam(tiny_llama.base(max_position_embeddings=40))
    assert model.max_context == 40
    model.generate("Hi", max_new_tokens=4)  # a short one fits
    before = snapshot(model.memory_of("default"))
    long_text = " ".join(["Please remember my name."] * 10)
    with pytest.raises(ValueError, match="context"):
        model.generate(long_text, update_memory=True, max_new_tokens=4)
    with pytest.raises(ValueError, match="context"):
        model.generate("Hi", update_memory=True, max_new_tokens=40)  # fits alone, not with the reply
    assert_same_memory(model.memory_of("default"), before)


@pytest.mark.parametrize("max_new_tokens", [-1, 2.5, "3"])
def test_invalid_max_new_tokens_is_refused(tiny_llama, max_new_tokens):
    model = tiny_llama.seam()
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(MESSAGE, max_new_tokens=max_new_tokens)
    assert is_empty(model.memory_of("default"))


# -- 8. what update_memory writes; decay and clear -----------------------------------------------------------
def test_update_memory_writes_the_users_message_tokens_once_per_turn(tiny):
    model = tiny.seam(memory=MemoryConfig(buffer_slots=32, store_slots=8, num_heads=2))  # room for both turns
    positions = model.config.memory_layer_positions
    fill = {p: 0 for p in positions}
    for turn, text in enumerate(["Hi, I am Bob.", "I like green tea."], start=1):
        reply, info = model.generate(text, update_memory=True, max_new_tokens=10)
        n = len(message_tokens(model, text))
        assert info["tokens_written"] == n
        assert info["tokens"] == message_tokens(model, text)
        assert info["new_tokens"] == 10 != n
        # Each message token is written once per layer: it takes a new slot or refreshes a matching one
        # (a turn's first token is keyed by the same prompt prefix every turn, so it refreshes).
        written = info["written"]
        assert written["buffer_inserted"] + written["buffer_refreshed"] == n * len(positions)
        stats = model.memory_stats()
        grown = sum(stats[f"layer{p}"]["buffer_used"] - fill[p] for p in positions)
        assert grown == written["buffer_inserted"]
        for p in positions:
            if turn == 1:
                assert stats[f"layer{p}"]["buffer_used"] == n, "into an empty memory, every message token and no generated one"
            assert stats[f"layer{p}"]["turns_written"] == turn
            fill[p] = stats[f"layer{p}"]["buffer_used"]


def message_tokens(model: MemoryAugmentedModel, text: str) -> list[str]:
    """The message's tokens as they sit in the prompt (plain prompts put "User: " before it)."""
    spaced = " " + text if model.chat_format == "plain" else text
    return model.tokenizer.convert_ids_to_tokens(model.tokenizer(spaced, add_special_tokens=False)["input_ids"])


def test_only_the_current_message_is_written_when_history_repeats_it(tiny):
    model = tiny.seam()
    history = [{"role": "user", "content": MESSAGE}, {"role": "assistant", "content": "Nice to meet you, Alice!"}]
    _, info = model.generate(MESSAGE, history=history, update_memory=True, max_new_tokens=3)
    assert info["tokens"] == message_tokens(model, MESSAGE)
    assert info["prompt_tokens"] > 2 * len(info["tokens"])  # the history is in the prompt, just not written




@pytest.mark.parametrize(("arch", "text"), [("llama", "a"), ("llama", "is"), ("gpt2", "Assistant"), ("gpt2", "a")])
def test_written_tokens_are_the_message_even_when_its_text_recurs_in_the_generation_prompt(arch, text, tokenizer_backend):
    lm = tiny_lm(arch, tokenizer_backend)
    try:
        model = lm.seam()
        (info,) = model.remember(text)
        assert info["tokens"] == message_tokens(model, text)
    finally:
        lm.close()


@pytest.mark.parametrize("system", [None, "", MESSAGE])
def test_the_system_turn_is_rendered_as_configured_and_never_written(tiny_llama, system):
    model = tiny_llama.seam(system_prompt=system)
    prompt = model.tokenizer.decode(model.render_prompt([], MESSAGE).input_ids)
    user_turn = f"<|im_start|>user\n{MESSAGE}<|im_end|>\n<|im_start|>assistant\n"
    # the tiny ChatML template has no default system turn of its own: None renders none
    assert prompt == user_turn if system is None else prompt == f"<|im_start|>system\n{system}<|im_end|>\n" + user_turn
    (info,) = model.remember(MESSAGE)  # a system turn that says the message too is still not written
    assert info["tokens"] == message_tokens(model, MESSAGE)


def test_system_prompt_must_be_a_string_or_none():
    with pytest.raises(ValueError, match="system_prompt must be a string or None"):
        ExperimentConfig(system_prompt=3)


def test_update_memory_false_leaves_memory_unchanged(tiny):
    model = tiny.seam()
    model.remember(OTHER)
    before = snapshot(model.memory_of("default"))
    _, info = model.generate(MESSAGE, update_memory=False, max_new_tokens=5)
    assert "tokens_written" not in info
    assert_same_memory(model.memory_of("default"), before)


def test_decay_fades_buffer_strengths_by_decay_rate_to_the_cycles_and_keeps_the_store(tiny_llama):
    model = tiny_llama.seam()
    model.remember(MESSAGE)
    before = snapshot(model.memory_of("default"))
    model.decay(3)
    rate = model.config.memory.decay_rate
    for old, new in zip(before, model.memory_of("default")):
        assert old.buffer_used.any()
        assert torch.allclose(new.buffer_strength, old.buffer_strength * rate**3, rtol=1e-6, atol=0)
        assert torch.equal(new.store_keys, old.store_keys) and torch.equal(new.store_used, old.store_used)
    with pytest.raises(ValueError, match="cycles"):
        model.decay(-1)


def test_clear_memory_empties_the_users_memory_only(tiny_llama):
    model = tiny_llama.seam()
    model.remember(MESSAGE, user="a")
    model.remember(OTHER, user="b")
    b_before = snapshot(model.memory_of("b"))
    model.clear_memory("a")
    assert is_empty(model.memory_of("a"))
    assert_same_memory(model.memory_of("b"), b_before)


# -- 9. unsupported architectures and positions ----------------------------------------------------------
def test_unsupported_model_type_is_refused_listing_the_supported_types(tiny_llama):
    torch.manual_seed(0)
    bert = AutoModelForCausalLM.from_config(
        BertConfig(vocab_size=len(tiny_llama.tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64, is_decoder=True)
    )
    with pytest.raises(ValueError, match="'bert'") as err:
        build_seam(bert, tiny_llama.tokenizer, positions=[0])
    for model_type in DECODER_LAYERS:
        assert model_type in str(err.value)
    assert all(len(m._forward_hooks) == 0 for m in bert.modules())


def test_out_of_range_layer_position_is_refused_and_attaches_nothing(tiny_llama):
    base = tiny_llama.base()
    with pytest.raises(ValueError, match=r"out of range.*4 decoder layers"):
        build_seam(base, tiny_llama.tokenizer, positions=[1, 4])
    assert all(len(layer._forward_hooks) == 0 for layer in decoder_layers(base))


@pytest.mark.parametrize("positions", [[], [-1], [1, 1], [1.5]])
def test_invalid_layer_positions_are_refused_by_the_config(positions):
    with pytest.raises(ValueError, match="memory_layer_positions"):
        ExperimentConfig(model_name="tiny", memory_layer_positions=positions)


def test_tokenizer_is_required_with_a_base_model(tiny_llama):
    with pytest.raises(ValueError, match="tokenizer"):
        MemoryAugmentedModel(ExperimentConfig(model_name="tiny", memory_layer_positions=[1]), base_model=tiny_llama.base())


def test_write_replies_also_writes_the_reply_tokens_as_a_second_turn(tiny_llama):
    quiet = tiny_llama.seam()
    chatty = tiny_llama.seam(write_replies=True)
    _, info = quiet.generate("Hello my name is Rowan", max_new_tokens=4)
    reply, chatty_info = chatty.generate("Hello my name is Rowan", max_new_tokens=4)
    reply_tokens = len(chatty.tokenizer(reply, add_special_tokens=False)["input_ids"])
    assert chatty_info["memory"]["layer1"]["buffer"] == chatty.memory_stats()["layer1"]["buffer_used"]  # the reply's slots too
    assert quiet.memory_stats()["layer1"]["turns_written"] == 1
    assert chatty.memory_stats()["layer1"]["turns_written"] == 2
    assert chatty.memory_stats()["layer1"]["buffer_used"] > quiet.memory_stats()["layer1"]["buffer_used"] or reply_tokens == 0


# -- 9. tags: a token never reads back its own memory item -------------------------------------------
def test_written_items_are_tagged_with_the_token_ids_they_store(tiny):
    model = tiny.seam(memory=MemoryConfig(buffer_slots=32, store_slots=8, num_heads=2))
    model.remember(MESSAGE)
    spaced = " " + MESSAGE if model.chat_format == "plain" else MESSAGE
    message_ids = set(model.tokenizer(spaced, add_special_tokens=False)["input_ids"])
    for state in model.memory_of():
        tags = state.buffer_tags[0][state.buffer_used[0]].tolist()
        assert tags and set(tags) <= message_ids
        assert state.store_tags[0][state.store_used[0]].ge(0).all()


def test_a_prompt_made_only_of_the_stored_token_reads_nothing_but_another_token_reads_memory(tiny_llama):
    model = tiny_llama.seam()
    open_gates(model)
    x, y = 11, 12
    hidden = model.config.memory.hidden_dim * model.config.memory.key_inputs
    memory = []
    for layer in model.memory_layers.values():
        state, _ = layer.write(layer.empty_state(), torch.randn(1, 3, hidden), torch.ones(1, 3), torch.ones(1, 3, dtype=torch.bool),
                               content=torch.randn(1, 3, model.config.memory.hidden_dim), tags=torch.full((1, 3), x))
        memory.append(state)
    for token, reads in ((x, False), (y, True)):
        ids = torch.full((1, 4), token)
        with torch.no_grad(), model.memory_pass(memory):
            with_memory = model.base(input_ids=ids, use_cache=False).logits
        assert torch.equal(with_memory, plain_logits(model.base, ids)) != reads


def test_message_surprisal_from_the_last_hidden_states_equals_minus_log_softmax_of_the_full_logits(tiny):
    model = tiny.seam()
    model.surprisal_bf16 = False  # the head as it is (float32), both ways
    if hasattr(model.base.config, "final_logit_softcapping"):
        model.base.config.final_logit_softcapping = 3.0  # Gemma 2's cap on the logits: the head must apply it too
    batch = model.prepare(["Hi, I am Bob.", "My favourite colour is blue and my dog is called Rex."])
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask, None, logits_to_keep=1, capture=True)
        logits = model.base(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                            position_ids=position_ids(batch.attention_mask), use_cache=False).logits.float()
    assert out.final.shape[:2] == batch.input_ids.shape
    expected = -torch.log_softmax(logits[:, :-1], -1).gather(-1, batch.input_ids[:, 1:, None]).squeeze(-1)
    mask = batch.message_mask
    span = model.surprisal_span(mask)
    assert 0 < span < batch.input_ids.shape[1]  # two short messages: the prefill keeps their logits, not the whole prompt's
    with torch.no_grad():
        kept = model(batch.input_ids, batch.attention_mask, None, logits_to_keep=span).logits
    for surprisal in (model.message_surprisal(out.final, batch.input_ids, mask),  # the message rows through the head
                      model.message_surprisal(None, batch.input_ids, mask, kept)):  # the prefill's own kept logits
        torch.testing.assert_close(surprisal[:, 1:][mask[:, 1:]], expected[mask[:, 1:]], atol=1e-4, rtol=1e-4)
        assert surprisal[~mask].isnan().all()
    with pytest.raises(ValueError, match="kept logits cover the last"):
        model.message_surprisal(None, batch.input_ids, mask, kept[:, -2:])


def test_bf16_surprisal_is_within_a_few_hundredths_of_a_nat_of_float32_and_writes_a_turn_alike_alone_or_in_a_batch(tiny_llama):
    model = tiny_llama.seam(surprisal_bf16=True)
    open_gates(model)
    batch = model.prepare(["Hi, I am Bob.", "My favourite colour is blue and my dog is called Rex."])
    assert model.surprisal_span(batch.message_mask) == 0  # the message rows go through the bf16 head, alone or batched
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask, None, logits_to_keep=1, capture=True)
    fast = model.message_surprisal(out.final, batch.input_ids, batch.message_mask)
    model.surprisal_bf16 = False
    exact = model.message_surprisal(out.final, batch.input_ids, batch.message_mask)
    model.surprisal_bf16 = True
    assert model._head_bf16[1].dtype == torch.bfloat16
    torch.testing.assert_close(fast, exact, atol=0.05, rtol=0.01, equal_nan=True)
    alone = model.generate("My name is Alice.", user="a", max_new_tokens=3)[1]["surprise_z"]
    batched = model.generate(["My name is Alice.", "I live in Oslo."], user=["b", "c"], max_new_tokens=3)[1][0]["surprise_z"]
    torch.testing.assert_close(torch.tensor(alone), torch.tensor(batched), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="surprisal_bf16"):
        ExperimentConfig(surprisal_bf16="yes")


def test_a_turn_written_in_generate_is_the_same_with_its_surprisal_from_the_prefill_logits_or_from_the_message_rows(tiny_llama,
                                                                                                                  monkeypatch):
    import seam.lm.model as model_module

    written = {}
    for rows in (0, 10_000):  # spare rows allowed: 0, the message rows always go through the head; 10 000, the prefill keeps logits
        monkeypatch.setattr(model_module, "SPAN_SPARE_ROWS", rows)
        model = tiny_llama.seam()
        model.surprisal_bf16 = False  # the float32 head, where the prefill's kept logits are used
        open_gates(model)
        history = [{"role": "user", "content": "Tell me about the sea."}, {"role": "assistant", "content": "It is big."}]
        assert (model.surprisal_span(model.prepare(["My name is Alice."], [history]).message_mask) > 0) == bool(rows)
        replies, infos = model.generate(["My name is Alice.", "I live in Oslo, by the fjord."], user=["a", "b"],
                                        history=[history, []], max_new_tokens=3)
        written[rows] = (replies, [i["surprise_z"] for i in infos], [s.tensors() for u in ("a", "b") for s in model.memory_of(u)])
    (r0, z0, m0), (r1, z1, m1) = written[0], written[10_000]
    assert r0 == r1 and len(m0) == len(m1)
    for a, b in zip(z0, z1):
        torch.testing.assert_close(torch.tensor(a), torch.tensor(b), atol=1e-4, rtol=1e-4)
    for a, b in zip(m0, m1):
        for name in a:
            torch.testing.assert_close(a[name].float(), b[name].float(), atol=1e-4, rtol=1e-4, msg=name)


def test_query_windows_carry_the_last_tokens_from_the_prefill_into_each_decode_step(tiny_llama):
    model = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2, hide_recent_tokens=3))
    with model.memory_pass(None) as p:
        model._on_input_ids(torch.tensor([[5, 6, 7], [8, 9, 10]]))  # prefill
        assert p.query_tags.tolist() == [[[-1, -1, 5], [-1, 5, 6], [5, 6, 7]], [[-1, -1, 8], [-1, 8, 9], [8, 9, 10]]]
        model._on_input_ids(torch.tensor([[11], [12]]))  # one decode step
        assert p.query_tags.tolist() == [[[6, 7, 11]], [[9, 10, 12]]]
    with model.memory_pass(None) as p:  # a new pass starts with an empty window
        model._on_input_ids(torch.tensor([[13]]))
        assert p.query_tags.tolist() == [[[-1, -1, 13]]]


def test_hide_recent_tokens_zero_reads_every_slot(tiny_llama):
    model = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2, hide_recent_tokens=0))
    with model.memory_pass(None) as p:
        model._on_input_ids(torch.tensor([[5, 6, 7]]))
        assert p.query_tags is None


def test_generate_reports_each_users_slots_in_use_as_their_memory_stats_count_them(tiny_llama):
    model = tiny_llama.seam()
    open_gates(model)
    model.remember("I live in Paris and I like green tea.", user="a")
    _, infos = model.generate([MESSAGE, "Hi."], user=["a", "b"], max_new_tokens=2)
    _, read_only = model.generate(["Hi.", MESSAGE], user=["b", "a"], update_memory=False, max_new_tokens=2)
    for info in (*infos, *read_only):
        stats = model.memory_stats(info["user"])
        assert info["memory"] == {k: {"buffer": v["buffer_used"], "store": v["store_used"]} for k, v in stats.items()}
    assert infos[0]["memory"] != infos[1]["memory"]


def test_the_bare_model_through_generate_creates_no_memory_for_its_users(tiny_llama):
    model = tiny_llama.seam()
    reply, info = model.generate(MESSAGE, user="passer-by", use_memory=False, update_memory=False, max_new_tokens=2)
    assert "passer-by" not in model.users and "memory" not in info
    model.generate(MESSAGE, user="reader", update_memory=False, max_new_tokens=2)  # reading memory opens it
    assert "reader" in model.users


def test_a_batch_commit_writes_each_users_file_and_a_failed_write_leaves_only_that_user_as_before(tiny_llama, tmp_path, monkeypatch):
    import seam.lm.users as users_module

    model = tiny_llama.seam(memory_dir=str(tmp_path))
    model.remember(OTHER, user="b")
    before_b, file_b = snapshot(model.memory_of("b")), (tmp_path / "b.safetensors").read_bytes()
    original = users_module.save_file_atomic

    def failing_for_b(tensors, path, metadata, **kwargs):
        if Path(path).name == "b.safetensors":
            raise OSError("disk full")
        original(tensors, path, metadata, **kwargs)

    monkeypatch.setattr(users_module, "save_file_atomic", failing_for_b)
    with pytest.raises(OSError, match="disk full"):
        model.remember([MESSAGE, MESSAGE, MESSAGE], user=["a", "b", "c"])
    assert_same_memory(model.memory_of("b"), before_b)
    assert (tmp_path / "b.safetensors").read_bytes() == file_b
    for user in ("a", "c"):  # written, on disk and in RAM alike
        assert model.memory_stats(user)["layer1"]["turns_written"] == 1
        assert_same_memory(model.users.read_file(tmp_path / f"{user}.safetensors"), model.memory_of(user))


def test_stacking_the_same_users_again_reuses_the_batch_until_a_memory_changes(tiny_llama):
    model = tiny_llama.seam()
    model.remember(MESSAGE, user="a")
    first = model.users.stack(["a", "b"])
    assert model.users.stack(["a", "b"]) is first
    assert model.users.stack(["b", "a"]) is not first
    model.remember(OTHER, user="b")
    again = model.users.stack(["a", "b"])
    assert again is not first
    assert_same_memory(again, [MemoryState.stack([a, b]) for a, b in zip(model.memory_of("a"), model.memory_of("b"))])


@pytest.mark.parametrize("persistent", [False, True])
def test_a_batch_just_written_is_the_next_stack_of_the_same_users_in_the_same_order(tiny_llama, tmp_path, persistent):
    model = tiny_llama.seam(memory_dir=str(tmp_path) if persistent else None)
    open_gates(model)
    users = ["ann", "bob", "cy"]
    model.generate([MESSAGE, OTHER, "Cy here."], user=users, max_new_tokens=2)
    batch = model.users.stack(users)
    for i, user in enumerate(users):  # the written batch itself, whose rows the users now hold: no slot copied
        for state, batched in zip(model.memory_of(user), batch):
            assert state.buffer_keys.data_ptr() == batched.buffer_keys[i].data_ptr()
            assert state.store_values.data_ptr() == batched.store_values[i].data_ptr()
    assert_same_memory(batch, [MemoryState.stack(list(states)) for states in zip(*(model.memory_of(u) for u in users))])
    reordered = model.users.stack(["cy", "ann", "bob"])
    assert reordered is not batch
    assert_same_memory(reordered, [MemoryState.stack(list(states)) for states in zip(*(model.memory_of(u) for u in ["cy", "ann", "bob"]))])
    if persistent:  # what the next batch reads is what a restarted process loads
        fresh = tiny_llama.seam(memory_dir=str(tmp_path))
        assert_same_memory(batch, [MemoryState.stack(list(states)) for states in zip(*(fresh.memory_of(u) for u in users))])


def test_with_token_keys_generation_reads_with_the_current_token_and_a_checkpoint_round_trips(tiny_llama, tmp_path):
    model = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2, token_keys=True))
    open_gates(model)
    model.remember("My name is Rowan Okafor.")
    seen = []
    with model.memory_pass(model.memory_of()) as p:
        model._on_input_ids(torch.tensor([[5, 6]]))
        seen.append(p.tokens)
    want = model.base.get_input_embeddings().weight[torch.tensor([[5, 6]])]
    torch.testing.assert_close(seen[0], want)
    reply, _ = model.generate("What is my name?", update_memory=False, max_new_tokens=4)
    path = tmp_path / "tk.safetensors"
    model.save_checkpoint(path, dtype=torch.float16)
    plain = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2))
    with pytest.raises(ValueError, match="token_keys"):
        plain.load_checkpoint(path)
    again = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2, token_keys=True))
    again.load_checkpoint(path)
    for name, p in again.named_parameters():
        if name.startswith("memory_layers."):
            assert p.dtype == torch.float32
            torch.testing.assert_close(p, dict(model.named_parameters())[name].half().float())


def test_a_derived_checkpoint_keeps_its_sources_training_record_and_chains_how_it_was_made(tiny_llama, tmp_path):
    model = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2))
    source, once, twice = tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "c.safetensors"
    model.save_checkpoint(source, extra_metadata={"training_config": "{}", "step": "7", "note": "not kept"})
    assert save_derived_checkpoint(model, once, source, "with x on") == f"{source} with x on"
    chain = save_derived_checkpoint(model, twice, once, "then fitted", {"kind_match_fit": "[]"})
    assert chain == f"{source} with x on; then {once} then fitted"
    meta = read_metadata(twice)
    assert (meta["step"], meta["training_config"], meta["derived_from"], meta["kind_match_fit"]) == ("7", "{}", chain, "[]")
    assert "note" not in meta
    with safe_open(str(twice), "pt") as f:
        assert all(f.get_tensor(k).dtype == torch.float16 for k in f.keys())


def test_a_token_keys_checkpoint_from_before_token_channel_loads_as_the_projection_channel_it_was_made_with(tiny_llama, tmp_path):
    sizes = dict(buffer_slots=16, store_slots=8, num_heads=2, token_keys=True)
    model = tiny_llama.seam(memory=MemoryConfig(**sizes, token_channel="projection"))
    open_gates(model)
    path = tmp_path / "old.safetensors"
    model.save_checkpoint(path)
    with safe_open(str(path), "pt") as f:  # as written before the field existed: no token_channel in its memory config
        tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    old_memory = json.loads(meta["memory_config"])
    del old_memory["token_channel"]
    save_file(tensors, str(path), metadata={**meta, "memory_config": json.dumps(old_memory, sort_keys=True)})
    memory = MemoryConfig.from_dict(checkpoint_memory_config(read_metadata(path)))
    assert memory.token_channel == "projection"
    tiny_llama.seam(memory=memory).load_checkpoint(path)
    with pytest.raises(ValueError, match="token_channel=projection"):  # today's default channel does not fit it
        tiny_llama.seam(memory=MemoryConfig(**sizes)).load_checkpoint(path)


def test_a_warm_start_loads_a_checkpoint_into_a_model_with_a_new_option_and_refuses_other_differences(tiny_llama, tmp_path):
    sizes = dict(buffer_slots=16, store_slots=8, num_heads=2)
    model = tiny_llama.seam(memory=MemoryConfig(**sizes))
    open_gates(model)
    path = tmp_path / "plain.safetensors"
    model.save_checkpoint(path)
    gated = tiny_llama.seam(memory=MemoryConfig(**sizes, query_gate=True))
    with pytest.raises(ValueError, match="query_gate"):  # a plain load still refuses the difference
        gated.load_checkpoint(path)
    gated.load_checkpoint(path, new_options=True)
    theirs = dict(model.named_parameters())
    for name, p in gated.named_parameters():
        if name.startswith("memory_layers."):
            if "query_gate" in name and not name.split(".")[-2].endswith("_norm"):
                assert torch.count_nonzero(p) == 0  # the new option keeps its initialisation
            elif "query_gate" not in name:
                torch.testing.assert_close(p, theirs[name])
    model.remember("My name is Rowan.")
    gated.remember("My name is Rowan.")
    assert gated.generate("What is my name?", update_memory=False, max_new_tokens=4)[0] == \
        model.generate("What is my name?", update_memory=False, max_new_tokens=4)[0]  # and reads as before
    other = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=1, query_gate=True))
    with pytest.raises(ValueError, match="num_heads"):  # a shape change is never a warm start
        other.load_checkpoint(path, new_options=True)
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    tensors.pop(next(k for k in tensors if k.endswith("key_proj.weight")))
    save_file(tensors, str(tmp_path / "damaged.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match="tensors differ"):  # only the new option's parameters may be missing
        tiny_llama.seam(memory=MemoryConfig(**sizes, query_gate=True)).load_checkpoint(tmp_path / "damaged.safetensors", new_options=True)


def _warm_started(tiny_llama, tmp_path, sizes: dict, option: str):
    """A model (gates open) saved without `option`, and one with it on that refuses that file as it is and loads it as a
    warm start (new_options)."""
    model = tiny_llama.seam(memory=MemoryConfig(**sizes))
    open_gates(model)
    path = tmp_path / "without.safetensors"
    model.save_checkpoint(path)
    warm = tiny_llama.seam(memory=MemoryConfig(**sizes, **{option: True}))
    with pytest.raises(ValueError, match=option):
        warm.load_checkpoint(path)
    warm.load_checkpoint(path, new_options=True)
    return model, warm


def _assert_answer_alike(model, warm, told: tuple[str, ...]) -> None:
    """Both told the same, both answer the same (a warm start whose new option starts as no change)."""
    for text in told:
        model.remember(text)
        warm.remember(text)
    for question in ("What is my name?", "Where do I live?"):
        assert warm.generate(question, update_memory=False, max_new_tokens=4)[0] == \
            model.generate(question, update_memory=False, max_new_tokens=4)[0]


def test_a_checkpoint_with_the_abstain_slot_warm_starts_the_abstain_match_and_reads_as_before(tiny_llama, tmp_path):
    sizes = dict(buffer_slots=16, store_slots=8, num_heads=2, abstain_slot=True)
    model, matched = _warm_started(tiny_llama, tmp_path, sizes, "abstain_match")
    new = option_parameters(matched, ["abstain_match"])
    assert new and all(".abstain_match_" in n for n in new)
    assert new < option_parameters(matched, ["abstain_slot"])  # the match goes with the slot it scores
    _assert_answer_alike(model, matched, ("My name is Rowan.", "I have a dog called Pip."))
    matched.save_checkpoint(tmp_path / "matched.safetensors")
    again = tiny_llama.seam(memory=MemoryConfig(**sizes, abstain_match=True, abstain_match_dim=8))
    with pytest.raises(ValueError, match="abstain_match_dim"):  # another width is another design, never a warm start
        again.load_checkpoint(tmp_path / "matched.safetensors", new_options=True)


def test_a_message_key_warm_start_answers_as_before_and_once_trained_keys_a_turn_by_its_last_message_token(tiny_llama, tmp_path):
    model, keyed = _warm_started(tiny_llama, tmp_path, dict(buffer_slots=16, store_slots=8, num_heads=2), "message_key")
    assert option_parameters(keyed, ["message_key"]) and all(".message_key_" in n for n in option_parameters(keyed, ["message_key"]))
    _assert_answer_alike(model, keyed, ("My name is Rowan.", "Thimphu, not Salzburg."))
    layer = next(iter(keyed.memory_layers.values()))
    with torch.no_grad():
        layer.message_key_proj.weight.normal_()
    seen = []
    original = layer.write
    layer.write = lambda *a, **kw: seen.append(kw["message"]) or original(*a, **kw)
    batch = keyed.prepare(["Hi.", "I live in Oslo now."])  # left-padded: the rows' last message tokens differ in position
    captured = keyed(batch.input_ids, batch.attention_mask, keyed.empty_memory(2), capture=True).hidden
    keyed.write_captured(keyed.empty_memory(2), captured, batch.input_ids, torch.zeros(batch.input_ids.shape), batch.message_mask)
    p = int(next(iter(keyed.memory_layers)))
    for row in range(2):
        last = int(batch.message_mask[row].nonzero().max())
        torch.testing.assert_close(seen[0][row], captured[p][row, last].float())


@pytest.mark.parametrize("positions", [0, 1, 2])
def test_the_abstain_floor_is_kept_to_the_prompts_last_position_and_the_replys_first_tokens_in_generate(tiny_llama, positions):
    """abstain_floor_positions = n: in generate, the floor applies at the prompt's last position (whose next token
    opens the reply) and the n - 1 decode steps after it, nowhere else; 0: every read (no mask)."""
    model = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2, abstain_slot=True, abstain_match=True,
                                                abstain_floor_positions=positions))
    open_gates(model)
    model.remember("My name is Rowan.")
    masks: list[torch.Tensor | None] = []
    layer = next(iter(model.memory_layers.values()))
    plain_read = layer.read

    def spy(state, hidden, query_tags=None, tokens=None, floor_at=None):
        masks.append(floor_at.clone() if isinstance(floor_at, torch.Tensor) else floor_at)
        return plain_read(state, hidden, query_tags, tokens, floor_at)

    layer.read = spy
    model.generate(["What is my name?", "Where do I live now?"], user=["default", "other"], update_memory=False,
                   max_new_tokens=5, min_new_tokens=5)
    assert len(masks) == 5  # the prefill, then one call per generated token after the first
    if positions == 0:
        assert all(m is None for m in masks)
        return
    prefill = masks[0]
    assert prefill.shape[0] == 2 and prefill.shape[1] > 1
    assert prefill[:, -1].all() and not prefill[:, :-1].any()  # left-padded prompts: the last column opens every reply
    for step, mask in enumerate(masks[1:], start=2):  # past the reply's first n tokens the model says "none" without a mask
        if step <= positions:
            assert mask.shape == (2, 1) and bool(mask.all())
        else:
            assert mask is False


def test_a_checkpoint_keeps_where_its_abstain_floor_applies_and_older_files_read_it_at_every_position(tiny_llama, tmp_path):
    from seam.lm.checkpoint import config_for_checkpoint, read_metadata

    sizes = dict(buffer_slots=16, store_slots=8, num_heads=2, abstain_slot=True, abstain_match=True)
    model = tiny_llama.seam(memory=MemoryConfig(**sizes, abstain_floor_positions=2))
    model.save_checkpoint(tmp_path / "floor.safetensors")
    meta = read_metadata(tmp_path / "floor.safetensors")
    assert config_for_checkpoint(model.config, meta).memory.abstain_floor_positions == 2
    older = json.loads(meta["memory_config"])
    del older["abstain_floor_positions"]  # a file written before the field: its floor was at every position
    assert config_for_checkpoint(model.config, {**meta, "memory_config": json.dumps(older)}).memory.abstain_floor_positions == 0
    tiny_llama.seam(memory=MemoryConfig(**sizes)).load_checkpoint(tmp_path / "floor.safetensors")  # a reading choice, not a shape


def test_design_probe_sets_the_fitted_floor_only_in_the_layers_asked_and_leaves_the_others_reading_as_the_source(tiny_llama):
    from seam.memory.layer import abstain_match_weights

    probe = load_script("scripts/design_probe.py")
    model = tiny_llama.seam(memory=MemoryConfig(buffer_slots=16, store_slots=8, num_heads=2, abstain_slot=True, abstain_match=True))
    positions = [int(p) for p in model.memory_layers]
    assert len(positions) >= 2
    fits = [{"temperature": 10.0 + i, "threshold": 3.0 - i} for i in range(len(positions))]
    probe.set_weight(model, "abstain_match", 1.0, fits=fits, shift=-2.0, layers={positions[-1]})
    weights = [layer.abstain_match_weights.detach() for layer in model.memory_layers.values()]
    assert torch.equal(weights[-1], abstain_match_weights(fits[-1]["temperature"], fits[-1]["threshold"], 1.0, -2.0))
    for w in weights[:-1]:
        assert torch.equal(w, torch.tensor([-1.0, 0.0]))  # the floor off: e^-100, the source's reads
    probe.set_weight(model, "abstain_match", 1.0, fits=fits, shift=-2.0)  # no layers given: every memory layer
    for i, layer in enumerate(model.memory_layers.values()):
        assert torch.equal(layer.abstain_match_weights, abstain_match_weights(fits[i]["temperature"], fits[i]["threshold"], 1.0, -2.0))


def test_streaming_reports_each_users_reply_as_it_grows_and_ends_with_the_reply(tiny_llama):
    model = tiny_llama.seam(max_new_tokens=10)
    open_gates(model)
    model.generate("My name is Alice.", user="alice")
    reports: dict[int, list[str]] = {0: [], 1: []}
    replies, _ = model.generate(["What is my name?", "Tell me a joke."], user=["alice", "bob"],
                                on_text=lambda row, text: reports[row].append(text))
    fresh = tiny_llama.seam(max_new_tokens=10)
    open_gates(fresh)
    fresh.generate("My name is Alice.", user="alice")
    assert fresh.generate(["What is my name?", "Tell me a joke."], user=["alice", "bob"])[0] == replies  # streaming changes nothing
    for row, reply in enumerate(replies):
        assert (reports[row][-1] if reports[row] else "") == reply  # the last report is the reply
    assert max(len(r) for r in reports.values()) >= 3  # reported as it grew, not once at the end


def test_a_turn_receipt_is_saved_with_the_memory_it_changed_and_found_after_a_reload(tiny_llama, tmp_path):
    from seam.lm.users import MAX_RECEIPTS

    model = tiny_llama.seam(memory_dir=str(tmp_path), max_new_tokens=3)
    reply, _ = model.generate("My name is Alice.", user="alice", receipts=[("turn-1", {"fingerprint": "f1"})])
    reloaded = tiny_llama.seam(memory_dir=str(tmp_path), max_new_tokens=3)  # a restarted process
    record = reloaded.users.receipt("alice", "turn-1")
    assert record["reply"] == reply and record["fingerprint"] == "f1" and record["tokens_written"] > 0
    assert reloaded.users.receipt("alice", "turn-2") is None and reloaded.users.receipt("bob", "turn-1") is None
    reloaded.decay(1, user="alice")  # other changes keep the receipts
    assert reloaded.users.receipt("alice", "turn-1") is not None
    for i in range(MAX_RECEIPTS):
        reloaded.generate("Hello.", user="alice", receipts=[(f"later-{i}", {})])
    assert reloaded.users.receipt("alice", "turn-1") is None and reloaded.users.receipt("alice", f"later-{MAX_RECEIPTS - 1}")
    reloaded.users.save(tmp_path / "export.safetensors", "alice")
    reloaded.clear_memory("alice")  # forgetting forgets the receipts; a loaded file brings none
    assert reloaded.users.receipt("alice", f"later-{MAX_RECEIPTS - 1}") is None
    with pytest.raises(ValueError, match="receipts"):
        reloaded.generate("Hi.", user="alice", update_memory=False, receipts=[("t", {})])


def test_a_write_after_a_long_conversation_equals_writing_every_prompt_position_with_the_message_masked(tiny_llama):
    model = tiny_llama.seam()
    open_gates(model)
    model.remember("I like green tea.", user="u")
    history = [{"role": "user", "content": "Tell me about the sea. " * 6}, {"role": "assistant", "content": "It is big and blue. " * 6}]
    batch = model.prepare(["My name is Alice.", "Hi."], [history, []])
    memory = model.users.stack(["u", "v"])
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask, memory, logits_to_keep=1, capture=True)
        surprisal = model.message_surprisal(out.final, batch.input_ids, batch.message_mask)
        written, reports = model.write_captured(memory, out.hidden, batch.input_ids, surprisal, batch.message_mask)
        ids, mask = batch.input_ids, batch.message_mask
        for (p, layer), state, new, report in zip(model.memory_layers.items(), memory, written, reports):
            hidden = out.hidden[int(p)].float()
            context = torch.cat([torch.zeros_like(hidden[:, :1]), hidden[:, :-1]], 1)
            if model.config.memory.key_inputs == 2:
                context = torch.cat([context, hidden], -1)
            expected, expected_report = layer.write(state, context, surprisal, mask, content=model.base.get_input_embeddings()(ids).float(),
                                                    tags=ids)
            for name, tensor in expected.tensors().items():
                assert torch.allclose(new.tensors()[name].float(), tensor.float(), atol=1e-5), name
            assert torch.allclose(report.z, expected_report.z, atol=1e-5)


def test_a_batchs_memory_files_are_each_flushed_then_their_directory_once_before_the_batch_counts_as_written(tiny_llama, tmp_path,
                                                                                                              monkeypatch):
    import seam.memory.state as state_module

    model = tiny_llama.seam(memory_dir=str(tmp_path))
    users = ["ann", "bob", "cy"]
    flushed = []
    real = state_module._fsync

    def recording(path):
        path = Path(path)
        flushed.append(("dir", sorted(p.name for p in path.glob("*.safetensors"))) if path.is_dir() else ("file", path.name))
        real(path)

    monkeypatch.setattr(state_module, "_fsync", recording)
    model.generate(["Hi, I'm Ann.", "I'm Bob.", "Cy here."], user=users, max_new_tokens=2)
    files = [name for kind, name in flushed if kind == "file"]
    assert len(files) == len(users) and all(name.endswith(".tmp") for name in files)  # each file's bytes, before its rename
    assert flushed[-1] == ("dir", [f"{u}.safetensors" for u in users])  # then one flush of the directory, every rename in it
    assert [kind for kind, _ in flushed].count("dir") == 1
    flushed.clear()
    model.remember("I'm Ann, again.", user="ann")  # one user's file: flushed, then its directory
    assert [kind for kind, _ in flushed] == ["file", "dir"]
