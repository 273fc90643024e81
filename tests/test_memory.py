"""Behaviour of the SEAM memory core (seam.memory) on tiny tensors.

Store- and buffer-level tests call SurpriseGatedStore.write / DecayingBuffer.write directly with
hand-made keys, values and z-scores (in DualMemoryLayer keys are projections of hidden states).
"""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
import torch.nn.functional as F
from conftest import load_script

from seam.memory import (
    DecayingBuffer,
    DualMemoryLayer,
    MemoryConfig,
    MemoryCrossAttention,
    MemoryState,
    SurpriseGatedStore,
    held_items,
    load_states,
    save_states,
)
from seam.memory.layer import abstain_match_weights
from seam.memory.state import read_metadata

HIDDEN, MEMORY, HEADS = 16, 8, 2


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def tiny_config(**overrides) -> MemoryConfig:
    values = dict(hidden_dim=HIDDEN, memory_dim=MEMORY, num_heads=HEADS, buffer_slots=4, store_slots=3)
    values.update(overrides)
    return MemoryConfig(**values)


def one_hot(i: int, dim: int = MEMORY) -> torch.Tensor:
    """(1, 1, dim) item: distinct indices give orthogonal keys, so no write matches another."""
    return F.one_hot(torch.tensor([[i]]), dim).float()


def tick(state: MemoryState) -> MemoryState:
    """Advance the owner's clock, as DualMemoryLayer.write does after each written turn."""
    return state.replace(clock=state.clock + 1)


ALL = torch.ones(1, 1, dtype=torch.bool)


def buffer_write(buffer: DecayingBuffer, state: MemoryState, key: torch.Tensor, value: torch.Tensor) -> MemoryState:
    state, _ = buffer.write(state, key, value, ALL)
    return tick(state)


def store_write(store: SurpriseGatedStore, state: MemoryState, key: torch.Tensor, value: torch.Tensor, z: float):
    state, counts = store.write(state, key, value, torch.tensor([[z]]), ALL)
    return tick(state), counts


def filled_layer_state(layer: DualMemoryLayer, batch: int = 1, turns: int = 3, tokens: int = 4) -> MemoryState:
    state = layer.empty_state(batch)
    for _ in range(turns):
        hidden = torch.randn(batch, tokens, HIDDEN)
        state, _ = layer.write(state, hidden, torch.rand(batch, tokens) * 5, torch.ones(batch, tokens, dtype=torch.bool))
    return state.detach()


def assert_states_equal(a: MemoryState, b: MemoryState) -> None:
    """The same memory: the same slots, exactly, up to empty slots after the last one in use."""
    a, b = MemoryState.padded([a, b])  # a state holds its used slots, not its capacity
    for name, tensor in a.tensors().items():
        other = b.tensors()[name]
        assert tensor.dtype == other.dtype, name
        assert torch.equal(tensor, other), name


# -- 1. decay -----------------------------------------------------------------------------------------


def test_decay_strength_after_k_cycles_is_decay_rate_to_the_k_exactly() -> None:
    # 0.5 is exact in binary, so k single cycles compound without rounding.
    halving = DecayingBuffer(tiny_config(decay_rate=0.5, forget_below=0.0))
    state = buffer_write(halving, MemoryState.empty(halving.config), one_hot(0), one_hot(1))
    for k in range(1, 6):
        state = halving.decay(state)
        assert state.buffer_strength[0, state.buffer_used[0]].tolist() == [0.5**k]

    buffer = DecayingBuffer(tiny_config(decay_rate=0.95, forget_below=0.0))
    fresh = buffer_write(buffer, MemoryState.empty(buffer.config), one_hot(0), one_hot(1))
    for k in (0, 1, 7, 20):
        strength = buffer.decay(fresh, cycles=k).buffer_strength[0, 0]
        assert torch.equal(strength, torch.tensor(0.95**k, dtype=torch.float32))


def test_decay_frees_slots_that_fall_under_forget_below() -> None:
    buffer = DecayingBuffer(tiny_config(decay_rate=0.5, forget_below=0.3))
    state = buffer_write(buffer, MemoryState.empty(buffer.config), one_hot(0), one_hot(0))
    state = buffer.decay(state)  # old slot at 0.5
    state = buffer_write(buffer, state, one_hot(1), one_hot(1))  # fresh slot at 1.0
    state = buffer.decay(state)  # old 0.25 < 0.3 -> freed; fresh 0.5 stays
    assert state.buffer_used.sum().item() == 1
    assert sorted(state.buffer_strength[0].tolist()) == [0.0, 0.5]  # the freed slot holds nothing until a write drops it
    kept = state.buffer_used[0].nonzero().item()
    assert torch.equal(state.buffer_keys[0, kept], one_hot(1)[0, 0])


def test_decay_rejects_negative_cycles() -> None:
    buffer = DecayingBuffer(tiny_config())
    with pytest.raises(ValueError, match="cycles"):
        buffer.decay(MemoryState.empty(buffer.config), cycles=-1)


def test_decayed_slot_gets_attention_weight_proportional_to_its_strength() -> None:
    # Two slots with the same key: their logits differ only by the log-strength bias, so the
    # attention weights are in the ratio of the strengths. Identity projections expose the weights.
    attention = MemoryCrossAttention(hidden_dim=MEMORY, memory_dim=MEMORY, num_heads=1)
    with torch.no_grad():
        attention.query_proj.weight.copy_(torch.eye(MEMORY))
        attention.out_proj.weight.copy_(torch.eye(MEMORY))
    config = tiny_config(buffer_slots=2, num_heads=1)
    state = MemoryState.empty(config)
    key = torch.randn(MEMORY)
    state = state.replace(
        buffer_keys=key.expand(1, 2, MEMORY).clone(),
        buffer_values=torch.stack([one_hot(0)[0, 0], one_hot(1)[0, 0]])[None],
        buffer_strength=torch.tensor([[1.0, 0.95**10]]),
    )
    hidden = torch.randn(1, 1, MEMORY)
    retrieved = attention(hidden, attention.slots(state.buffer_keys, state.buffer_values, DecayingBuffer.read_bias(state)))[0, 0]
    fresh_weight, decayed_weight = retrieved[0].item(), retrieved[1].item()
    assert decayed_weight / fresh_weight == pytest.approx(0.95**10, rel=1e-5)


def test_read_matches_manual_softmax_with_log_strength_bias() -> None:
    config = tiny_config()
    layer = DualMemoryLayer(config)
    with torch.no_grad():
        layer.gate.fill_(0.7)
    state = MemoryState.zeros(1, 4, 3, MEMORY).replace(
        buffer_keys=torch.randn(1, 4, MEMORY),
        buffer_values=torch.randn(1, 4, MEMORY),
        buffer_strength=torch.tensor([[1.0, 0.3, 0.0, 0.05]]),  # slot 2 empty
        store_keys=torch.randn(1, 3, MEMORY),
        store_values=torch.randn(1, 3, MEMORY),
        store_used=torch.tensor([[True, False, False]]),
    )
    hidden = torch.randn(1, 2, HIDDEN)
    out = layer.read(state, hidden)

    # softmax(q.k / sqrt(d) + bias) per head over [null slot, buffer, store].
    attn = layer.attention
    keys = torch.cat([torch.zeros(1, 1, MEMORY), state.buffer_keys, state.store_keys], 1)[0]  # (N+1, D)
    values = torch.cat([torch.zeros(1, 1, MEMORY), state.buffer_values, state.store_values], 1)[0]
    strength = torch.tensor([1.0, 1.0, 0.3, 0.0, 0.05, 1.0, 0.0, 0.0])  # null, buffer, store used/empty
    bias = torch.log(strength)
    q = attn.query_proj(attn.query_norm(hidden))[0]  # (T, D)
    d = MEMORY // HEADS
    heads = []
    for h in range(HEADS):
        part = slice(h * d, (h + 1) * d)
        weights = torch.softmax(q[:, part] @ keys[:, part].T / math.sqrt(d) + bias, dim=-1)  # (T, N+1)
        heads.append(weights @ values[:, part])
    expected = hidden[0] + math.tanh(0.7) * attn.out_proj(torch.cat(heads, -1))
    assert torch.allclose(out[0], expected, atol=1e-6)


def test_decay_moves_the_read_toward_the_fresh_slot() -> None:
    attention = MemoryCrossAttention(hidden_dim=MEMORY, memory_dim=MEMORY, num_heads=1)
    with torch.no_grad():
        attention.out_proj.weight.copy_(torch.eye(MEMORY))
    buffer = DecayingBuffer(tiny_config(num_heads=1, forget_below=0.0))
    state = buffer_write(buffer, MemoryState.empty(buffer.config), one_hot(0), one_hot(0))
    state = buffer_write(buffer, state, one_hot(1), one_hot(1))
    old_slot = (state.buffer_step[0] == 0) & state.buffer_used[0]
    hidden = torch.randn(1, 1, MEMORY)
    shares = []
    for cycles in (0, 5, 20):
        decayed = state.replace(buffer_strength=torch.where(old_slot, 0.9**cycles, state.buffer_strength))
        retrieved = attention(hidden, attention.slots(decayed.buffer_keys, decayed.buffer_values, DecayingBuffer.read_bias(decayed)))[0, 0]
        shares.append((retrieved[1] / (retrieved[0] + retrieved[1])).item())  # fresh value's share
    assert shares[0] < shares[1] < shares[2]


# -- 2. store threshold under capacity pressure -------------------------------------------------------


def test_store_threshold_is_base_plus_capacity_pressure_times_fullness() -> None:
    store = SurpriseGatedStore(tiny_config(store_slots=4, z_score_threshold=1.0, capacity_pressure=0.5))
    state = MemoryState.empty(store.config)
    assert store.threshold(state).item() == 1.0
    for i in range(3):
        state, _ = store_write(store, state, one_hot(i), one_hot(i), z=5.0)
    assert state.store_used.sum().item() == 3
    assert store.threshold(state).item() == pytest.approx(1.0 + 0.5 * 3 / 4)


def test_item_just_above_base_threshold_enters_empty_store_but_not_nearly_full_one() -> None:
    store = SurpriseGatedStore(tiny_config(store_slots=4, z_score_threshold=1.0, capacity_pressure=0.5))
    empty = MemoryState.empty(store.config)
    entered, counts = store_write(store, empty, one_hot(7), one_hot(7), z=1.1)
    assert counts["store_inserted"].item() == 1 and entered.store_used.sum().item() == 1

    nearly_full = empty
    for i in range(3):
        nearly_full, _ = store_write(store, nearly_full, one_hot(i), one_hot(i), z=5.0)
    after, counts = store_write(store, nearly_full, one_hot(7), one_hot(7), z=1.1)
    assert counts["store_gated"].item() == 0
    assert after.store_used.sum().item() == 3
    assert torch.equal(after.store_keys, nearly_full.store_keys)


# -- 3. reads are pure --------------------------------------------------------------------------------


def test_read_leaves_state_and_statistics_unchanged() -> None:
    layer = DualMemoryLayer(tiny_config())
    with torch.no_grad():
        layer.gate.fill_(0.5)
    state = filled_layer_state(layer)
    before = state.clone()
    assert before.surprise_count.item() > 0 and before.store_used.any()
    for _ in range(3):
        layer.read(state, torch.randn(1, 5, HIDDEN))
    assert_states_equal(state, before)


def test_unmeasurable_surprise_scores_zero_and_leaves_statistics_alone() -> None:
    store = SurpriseGatedStore(tiny_config())
    state = MemoryState.empty(store.config).replace(
        surprise_mean=torch.tensor([0.4]), surprise_var=torch.tensor([0.01]), surprise_count=torch.tensor([3])
    )
    nan = torch.tensor([[float("nan")]])
    assert store.z_scores(state, nan, ALL).item() == 0.0
    after = store.update_statistics(state, nan, ALL)
    assert_states_equal(after, state)


# -- 4. corrections update, they do not add rivals ----------------------------------------------------


def test_store_correction_with_matching_key_updates_the_slot_instead_of_adding_one() -> None:
    store = SurpriseGatedStore(tiny_config())
    key, old_value, new_value = torch.randn(1, 1, MEMORY), torch.randn(1, 1, MEMORY), torch.randn(1, 1, MEMORY)
    state, _ = store_write(store, MemoryState.empty(store.config), key, old_value, z=3.0)
    state, counts = store_write(store, state, key * 1.01, new_value, z=6.0)  # same direction: cosine 1
    assert counts["store_updated"].item() == 1 and counts["store_inserted"].item() == 0
    assert state.store_used.sum().item() == 1
    slot = state.store_used[0].nonzero().item()
    assert torch.equal(state.store_values[0, slot], new_value[0, 0])
    assert state.store_importance[0, slot].item() == 6.0
    assert state.store_usage[0, slot].item() == 2


def test_unsurprising_correction_does_not_touch_the_store() -> None:
    store = SurpriseGatedStore(tiny_config())
    key, old_value = torch.randn(1, 1, MEMORY), torch.randn(1, 1, MEMORY)
    state, _ = store_write(store, MemoryState.empty(store.config), key, old_value, z=3.0)
    state, counts = store_write(store, state, key, torch.randn(1, 1, MEMORY), z=0.5)
    assert counts["store_gated"].item() == 0
    assert torch.equal(state.store_values[0, state.store_used[0]], old_value[0])


def test_buffer_repeat_refreshes_its_slot_to_full_strength() -> None:
    buffer = DecayingBuffer(tiny_config(decay_rate=0.5, forget_below=0.0))
    key = torch.randn(1, 1, MEMORY)
    state = buffer_write(buffer, MemoryState.empty(buffer.config), key, one_hot(0))
    state = buffer.decay(state, 3)
    state, counts = buffer.write(state, key, one_hot(1), ALL)
    assert counts["buffer_refreshed"].item() == 1 and counts["buffer_inserted"].item() == 0
    assert state.buffer_used.sum().item() == 1
    slot = state.buffer_used[0].nonzero().item()
    assert state.buffer_strength[0, slot].item() == 1.0
    assert torch.equal(state.buffer_values[0, slot], one_hot(1)[0, 0])


# -- 5. eviction order --------------------------------------------------------------------------------


def test_full_buffer_replaces_the_weakest_slot() -> None:
    buffer = DecayingBuffer(tiny_config(buffer_slots=4, decay_rate=0.5, forget_below=0.0))
    state = buffer_write(buffer, MemoryState.empty(buffer.config), one_hot(0), one_hot(0))
    state = buffer.decay(state)  # item 0 is now the weakest
    for i in (1, 2, 3):
        state = buffer_write(buffer, state, one_hot(i), one_hot(i))
    state = buffer.decay(state)  # item 0 at 0.25, the others at 0.5
    state = buffer_write(buffer, state, one_hot(4), one_hot(4))
    held = sorted(state.buffer_keys[0].argmax(-1).tolist())
    assert held == [1, 2, 3, 4]


def test_full_buffer_replaces_the_oldest_among_equally_weak_slots() -> None:
    buffer = DecayingBuffer(tiny_config(buffer_slots=4))
    state = MemoryState.empty(buffer.config)
    for i in range(4):
        state = buffer_write(buffer, state, one_hot(i), one_hot(i))  # all at strength 1, steps 0..3
    state = buffer_write(buffer, state, one_hot(4), one_hot(4))
    assert sorted(state.buffer_keys[0].argmax(-1).tolist()) == [1, 2, 3, 4]
    state = buffer_write(buffer, state, one_hot(5), one_hot(5))
    assert sorted(state.buffer_keys[0].argmax(-1).tolist()) == [2, 3, 4, 5]


def test_full_store_evicts_the_least_important_item() -> None:
    store = SurpriseGatedStore(tiny_config(store_slots=3, capacity_pressure=0.5))
    state = MemoryState.empty(store.config)
    for i, z in enumerate((5.0, 2.0, 8.0)):
        state, _ = store_write(store, state, one_hot(i), one_hot(i), z=z)
    state, counts = store_write(store, state, one_hot(3), one_hot(3), z=3.0)  # threshold 1.5 when full
    assert counts["store_inserted"].item() == 1
    held = {int(k.argmax()): round(float(z), 3)
            for k, z, used in zip(state.store_keys[0], state.store_importance[0], state.store_used[0]) if used}
    assert held == {0: 5.0, 2: 8.0, 3: 3.0}


# -- 6. empty slots are masked ------------------------------------------------------------------------


def test_empty_memory_retrieves_exactly_zero() -> None:
    layer = DualMemoryLayer(tiny_config())
    with torch.no_grad():
        layer.gate.fill_(1.0)
    hidden = torch.randn(2, 3, HIDDEN)
    assert torch.equal(layer.read(layer.empty_state(2), hidden), hidden)


def test_garbage_in_empty_slots_does_not_change_the_read() -> None:
    layer = DualMemoryLayer(tiny_config())
    with torch.no_grad():
        layer.gate.fill_(1.0)
    clean = MemoryState.zeros(1, 4, 3, MEMORY).replace(
        buffer_keys=torch.zeros(1, 4, MEMORY).index_fill(1, torch.tensor([0]), 1.0),
        buffer_values=torch.zeros(1, 4, MEMORY).index_fill(1, torch.tensor([0]), 2.0),
        buffer_strength=torch.tensor([[0.6, 0.0, 0.0, 0.0]]),
    )
    garbage = 1e4 * torch.randn(1, 4, MEMORY)
    dirty = clean.replace(
        buffer_keys=torch.where(clean.buffer_used[..., None], clean.buffer_keys, garbage),
        buffer_values=torch.where(clean.buffer_used[..., None], clean.buffer_values, -garbage),
        store_keys=1e4 * torch.randn(1, 3, MEMORY),
        store_values=1e4 * torch.randn(1, 3, MEMORY),
        store_importance=torch.randn(1, 3),
    )
    hidden = torch.randn(1, 3, HIDDEN)
    assert not torch.equal(layer.read(clean, hidden), hidden)  # the one real slot is read
    assert torch.equal(layer.read(dirty, hidden), layer.read(clean, hidden))


# -- 7. untrained layer is the identity ---------------------------------------------------------------


def test_untrained_layer_is_exact_identity_even_with_filled_memory() -> None:
    layer = DualMemoryLayer(tiny_config())
    state = filled_layer_state(layer)
    assert state.buffer_used.any() and state.store_used.any()
    hidden = torch.randn(1, 6, HIDDEN)
    assert torch.equal(layer.read(state, hidden), hidden)


# -- 8. gradients reach the write projections ---------------------------------------------------------


def test_loss_on_a_read_trains_the_write_projections() -> None:
    layer = DualMemoryLayer(tiny_config())
    with torch.no_grad():
        layer.gate.fill_(0.5)
    state, report = layer.write(layer.empty_state(), torch.randn(1, 4, HIDDEN), torch.tensor([[0.1, 0.2, 5.0, 0.1]]),
                                torch.ones(1, 4, dtype=torch.bool))
    out = layer.read(state, torch.randn(1, 2, HIDDEN))
    out.pow(2).sum().backward()
    for name, param in (("key_proj", layer.key_proj.weight), ("value_proj", layer.value_proj.weight),
                        ("query_proj", layer.attention.query_proj.weight)):
        assert param.grad is not None and param.grad.abs().sum().item() > 0, name


# -- 9. saving and loading states ---------------------------------------------------------------------


def test_a_batch_as_saved_equals_each_owner_as_saved_on_its_own_even_when_one_overflows_fp16(tmp_path) -> None:
    layer = DualMemoryLayer(tiny_config())
    state = filled_layer_state(layer, batch=3)
    used = state.buffer_used[1].nonzero()[0, 0]
    state = state.replace(buffer_keys=state.buffer_keys.clone().index_put_((torch.tensor(1), used, torch.tensor(0)),
                                                                            torch.tensor(70000.0)))
    batch = state.as_saved()
    for i in range(3):
        assert_states_equal(batch.select(i), state.select(i).as_saved())
    assert batch.buffer_keys[1, used, 0] == 70000.0  # the owner whose value fp16 cannot hold keeps its own dtype's values
    assert torch.equal(batch.buffer_keys[0], batch.buffer_keys[0].half().float())  # the others are rounded
    save_states(tmp_path / "m.safetensors", {"layer": state.select(1)}, tiny_config())  # the file keeps the value fp16 cannot hold
    assert_states_equal(load_states(tmp_path / "m.safetensors")[0]["layer"], state.select(1).as_saved())


def test_each_owners_file_packed_from_the_batch_equals_that_owner_packed_alone_even_when_one_overflows_fp16() -> None:
    from seam.memory import pack_owners, pack_states

    layer = DualMemoryLayer(tiny_config())
    states = {"a": filled_layer_state(layer, batch=3), "b": filled_layer_state(layer, batch=3, turns=1)}
    state = states["a"]
    used = state.store_used[2].nonzero()[0, 0]
    states["a"] = state.replace(store_values=state.store_values.clone().index_put_((torch.tensor(2), used, torch.tensor(1)),
                                                                                   torch.tensor(-1e6)))
    emptied = states["b"].buffer_strength.clone().index_fill_(0, torch.tensor(1), 0.0)  # owner 1: an empty buffer
    states["b"] = states["b"].replace(buffer_strength=emptied)
    saved, files, shared = pack_owners(states, tiny_config())
    for name, state in states.items():
        assert_states_equal(saved[name], state.as_saved())
    for i in range(3):
        alone, meta = pack_states({name: state.select(i) for name, state in states.items()}, tiny_config())
        assert shared == meta
        assert sorted(files[i]) == sorted(alone)
        for key, tensor in alone.items():
            assert files[i][key].dtype == tensor.dtype and torch.equal(files[i][key], tensor), (i, key)
    assert files[2]["a.store_values"].dtype == torch.float32 and files[0]["a.store_values"].dtype == torch.float16
    assert files[1]["b.buffer_index"].numel() == 0


def test_save_load_round_trip_gives_exactly_the_state_as_saved_and_leaves_no_temp_files(tmp_path) -> None:
    layer = DualMemoryLayer(tiny_config())
    states = {"layer_3": filled_layer_state(layer, batch=2), "layer_6": filled_layer_state(layer, batch=2, turns=1)}
    path = tmp_path / "memory.safetensors"
    save_states(path, states, tiny_config(), metadata={"owner": "alice"})
    save_states(path, states, tiny_config())  # overwriting goes through a temp file too
    assert os.listdir(tmp_path) == ["memory.safetensors"]
    loaded, meta = load_states(path)
    assert sorted(loaded) == ["layer_3", "layer_6"]
    assert meta["format"] == "seam-memory" and meta["format_version"] == "3"
    for name in states:
        assert_states_equal(loaded[name], states[name].as_saved())
        for field in ("buffer_keys", "buffer_values", "store_keys", "store_values"):  # fp16: within 1 part in 2,000
            torch.testing.assert_close(getattr(loaded[name], field), getattr(states[name], field), rtol=1e-3, atol=1e-3)
        for field in ("buffer_strength", "store_importance", "store_used", "buffer_tags", "store_tags", "clock", "surprise_mean"):
            assert torch.equal(getattr(loaded[name], field), getattr(states[name], field)), field
    save_states(tmp_path / "again.safetensors", loaded, tiny_config())
    again, _ = load_states(tmp_path / "again.safetensors")
    for name in states:
        assert_states_equal(again[name], loaded[name])  # saving what was loaded changes nothing


def test_ram_and_file_hold_only_the_slots_in_use_so_five_short_turns_at_smollm2_size_take_under_a_megabyte(tmp_path) -> None:
    # SmolLM2's memory: 3 layers of width 576, 256 buffer + 128 store slots (5.1 MiB per user in fp32 when every slot is held).
    config = MemoryConfig(hidden_dim=576, key_inputs=2, buffer_slots=256, store_slots=128, num_heads=4)
    layer = DualMemoryLayer(config)
    states = {}
    for name in ("layer21", "layer24", "layer27"):
        state = layer.empty_state()
        for _ in range(5):  # five turns of 12 tokens
            state, _ = layer.write(state, torch.randn(1, 12, 2 * 576), torch.rand(1, 12) * 8, torch.ones(1, 12, dtype=torch.bool),
                                   content=torch.randn(1, 12, 576), tags=torch.randint(0, 1000, (1, 12)))
        states[name] = state.detach()
    path = tmp_path / "user.safetensors"
    save_states(path, states, config)
    capacity = MemoryState.zeros(1, 256, 128, 576)
    assert 3 * sum(t.nbytes for t in capacity.tensors().values()) > 5 * 2**20
    held = sum(t.nbytes for s in states.values() for t in s.tensors().values())
    assert held < 2**20, f"{held} bytes in RAM"
    assert path.stat().st_size < 2**20, f"{path.stat().st_size} bytes"
    used = sum(int(s.buffer_used.sum() + s.store_used.sum()) for s in states.values())
    assert path.stat().st_size < used * 2 * 576 * 2 + 50_000  # keys and values of the used slots in fp16, plus little else


def _v2_file(path, states: dict[str, MemoryState]) -> None:
    """What format version 2 wrote: every slot of every field, in its own dtype."""
    from safetensors.torch import save_file

    tensors = {f"{name}.{k}": t.contiguous() for name, s in states.items() for k, t in s.tensors().items()}
    save_file(tensors, str(path), metadata={"format": "seam-memory", "format_version": "2", "states": json.dumps(sorted(states))})


def test_a_version_2_file_still_loads_exactly(tmp_path) -> None:
    layer = DualMemoryLayer(tiny_config())
    state = filled_layer_state(layer)
    _v2_file(tmp_path / "old.safetensors", {"layer": state})
    loaded, _ = load_states(tmp_path / "old.safetensors", config=tiny_config(), batch_size=1)
    assert_states_equal(loaded["layer"], state)


def _hostile(state: MemoryState, field: str) -> MemoryState:
    t = getattr(state, field)
    bad = {
        "buffer_keys": lambda: t.clone().fill_(float("nan")),
        "buffer_strength": lambda: t + 2.0,
        "store_tags": lambda: t - 5,
        "buffer_step": lambda: t + 1000,
        "store_used": lambda: t.long(),
        "surprise_var": lambda: -(t + 1.0),
        "clock": lambda: t.float(),
        "store_values": lambda: t[:, :1],
    }[field]()
    return state.replace(**{field: bad})


@pytest.mark.parametrize("field", ["buffer_keys", "buffer_strength", "store_tags", "buffer_step", "store_used", "surprise_var", "clock",
                                   "store_values"])
def test_a_file_with_values_no_write_could_produce_is_refused_naming_the_field(tmp_path, field) -> None:
    state = filled_layer_state(DualMemoryLayer(tiny_config()))
    path = tmp_path / "bad.safetensors"
    _v2_file(path, {"layer": _hostile(state, field)})
    with pytest.raises(ValueError, match=f"not a valid SEAM memory file: memory 'layer': {field} "):
        load_states(path)


def test_a_compact_file_claiming_other_sizes_is_refused_before_anything_is_allocated(tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    path = tmp_path / "m.safetensors"
    save_states(path, {"layer": filled_layer_state(DualMemoryLayer(tiny_config()))}, tiny_config())
    meta = read_metadata(path)
    shapes = json.loads(meta["shapes"])
    shapes["layer"]["buffer_slots"] = 10**12
    save_file(load_file(str(path)), str(path), metadata={**meta, "shapes": json.dumps(shapes)})
    with pytest.raises(ValueError, match="buffer_slots"):
        load_states(path, config=tiny_config())
    with pytest.raises(ValueError, match="implausible sizes"):
        load_states(path)


def test_a_compact_file_with_slot_indices_out_of_range_or_repeated_is_refused(tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    path = tmp_path / "m.safetensors"
    save_states(path, {"layer": filled_layer_state(DualMemoryLayer(tiny_config()))}, tiny_config())
    meta, tensors = read_metadata(path), load_file(str(path))
    for index in (tensors["layer.buffer_index"] + 100, torch.zeros_like(tensors["layer.buffer_index"])):
        save_file({**tensors, "layer.buffer_index": index}, str(path), metadata=meta)
        with pytest.raises(ValueError, match="out of range or twice"):
            load_states(path)


def test_failed_save_keeps_the_old_file_and_leaves_no_temp_files(tmp_path, monkeypatch) -> None:
    import seam.memory.state as state_module

    path = tmp_path / "memory.safetensors"
    old = MemoryState.empty(tiny_config())
    save_states(path, {"m": old}, tiny_config())
    original = path.read_bytes()

    def crash(filename):  # the temporary file's flush fails with half of it written
        open(filename, "wb").write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(state_module, "_fsync", crash)
    with pytest.raises(OSError):
        save_states(path, {"m": filled_layer_state(DualMemoryLayer(tiny_config()))}, tiny_config())
    assert os.listdir(tmp_path) == ["memory.safetensors"]
    assert path.read_bytes() == original


def test_file_bytes_are_the_files_safetensors_torch_front_end_writes(tmp_path) -> None:
    import struct

    import safetensors.torch

    from seam.memory.state import file_bytes

    def parts(data: bytes) -> tuple[dict, bytes]:  # (header, tensor bytes): the metadata map's order is the library's own
        n = struct.unpack("<Q", data[:8])[0]
        return json.loads(data[8 : 8 + n]), data[8 + n :]

    torch.manual_seed(0)
    rows = torch.randn(6, 4)
    tensors = {"half": rows.half(), "view": rows[2:4], "index": torch.arange(5, dtype=torch.int32), "used": torch.tensor([True, False]),
               "step": torch.arange(3), "scalar": torch.tensor(1.5), "empty": torch.zeros(0, 4)}
    meta = {"format": "seam-memory", "receipts": "[]"}
    assert parts(file_bytes(tensors, meta)) == parts(safetensors.torch.save(tensors, metadata=meta))
    bf16 = {"w": torch.randn(3, 2).bfloat16()}  # numpy has no bfloat16: the torch front end writes it
    assert parts(file_bytes(bf16)) == parts(safetensors.torch.save(bf16))
    state = filled_layer_state(DualMemoryLayer(tiny_config()))
    save_states(tmp_path / "m.safetensors", {"m": state}, tiny_config())
    assert_states_equal(load_states(tmp_path / "m.safetensors")[0]["m"], state.as_saved())


def test_corrupt_memory_file_raises_a_readable_value_error(tmp_path) -> None:
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not safetensors at all")
    with pytest.raises(ValueError, match="not a readable SEAM memory file"):
        load_states(garbage)
    truncated = tmp_path / "truncated.safetensors"
    save_states(truncated, {"m": MemoryState.empty(tiny_config())}, tiny_config())
    truncated.write_bytes(truncated.read_bytes()[:-40])
    with pytest.raises(ValueError, match="not a readable SEAM memory file"):
        load_states(truncated)


def test_non_seam_safetensors_file_raises_value_error(tmp_path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(ValueError, match="not a SEAM memory file"):
        load_states(path)


def test_check_compatible_allows_fewer_slots_than_the_capacity_and_names_the_field_that_differs() -> None:
    state = MemoryState.zeros(1, 4, 2, MEMORY)
    state.check_compatible(tiny_config(buffer_slots=4))
    state.check_compatible(tiny_config(buffer_slots=6))  # a memory holds its used slots, up to the capacity
    with pytest.raises(ValueError, match="buffer_slots is 4 in the memory but at most 3"):
        state.check_compatible(tiny_config(buffer_slots=3))
    with pytest.raises(ValueError, match="memory_dim"):
        state.check_compatible(tiny_config(memory_dim=12, num_heads=2))


def test_a_memory_held_at_its_used_slots_writes_and_reads_exactly_as_the_same_memory_padded_to_its_capacity() -> None:
    # Owners write 0-3 items a turn into 4 buffer and 3 store slots, with decay between turns: the buffer fills and
    # evicts, a slot is freed in the middle, an owner stays empty. Held at its used slots or padded with empty
    # slots to the capacity before every write, the memory writes the same slots, reports the same, reads the same.
    torch.manual_seed(0)
    layer = DualMemoryLayer(tiny_config(decay_rate=0.5, forget_below=0.2))
    with torch.no_grad():
        layer.gate.fill_(0.9)
    held = padded = layer.empty_state(3)
    query = torch.randn(3, 2, HIDDEN)
    widest = 0
    for turn in range(8):
        hidden, surprise = torch.randn(3, 3, HIDDEN), torch.rand(3, 3) * 6
        mask = torch.rand(3, 3) > 0.4
        mask[2] = False  # the third owner never writes
        with torch.no_grad():
            held, report = layer.write(held, hidden, surprise, mask)
            padded, padded_report = layer.write(padded.widen(4, 3), hidden, surprise, mask)
        assert held.widths == padded.widths  # both come back as wide as the fullest owner
        assert held.widths[0] <= 4 and held.widths[1] <= 3
        widest = max(widest, held.widths[0])
        assert_states_equal(held, padded)
        assert torch.equal(report.z, padded_report.z) and all(torch.equal(report.counts[k], padded_report.counts[k]) for k in report.counts)
        assert torch.equal(layer.read(held, query), layer.read(padded.widen(4, 3), query))
        if turn % 2:
            held, padded = layer.decay(held), layer.decay(padded)
    assert widest == 4  # the buffer reached its capacity, so writes evicted
    assert int(held.buffer_used[2].sum()) == 0 and held.batch_size == 3


def test_an_empty_memory_holds_no_slots_and_a_batch_is_padded_to_its_widest_owner() -> None:
    layer = DualMemoryLayer(tiny_config())
    empty = layer.empty_state()
    assert empty.widths == (0, 0)
    assert torch.equal(layer.read(empty, torch.ones(1, 2, HIDDEN)), torch.ones(1, 2, HIDDEN))
    written, _ = layer.write(empty, torch.randn(1, 2, HIDDEN), torch.tensor([[9.0, 0.0]]), torch.ones(1, 2, dtype=torch.bool))
    assert written.widths[0] == 2
    batch = MemoryState.stack([empty, written, empty])
    assert batch.widths == written.widths
    assert_states_equal(batch.select(1), written)
    assert not bool(batch.buffer_used[0].any()) and bool((batch.buffer_tags[2] == -1).all())


# -- 10. owners in a batch do not interact ------------------------------------------------------------


def test_batch_of_owners_equals_the_same_owners_one_by_one() -> None:
    layer = DualMemoryLayer(tiny_config(buffer_slots=3, store_slots=2))
    with torch.no_grad():
        layer.gate.fill_(0.8)
    B, T, turns = 3, 4, 3
    hiddens = [torch.randn(B, T, HIDDEN) for _ in range(turns)]
    surprises = [torch.rand(B, T) * 4 for _ in range(turns)]
    masks = [torch.rand(B, T) > 0.3 for _ in range(turns)]
    surprises[1][0, 1] = float("nan")  # an unmeasurable item in one owner only
    query = torch.randn(B, 2, HIDDEN)

    def run(rows: slice) -> tuple[MemoryState, torch.Tensor, list[torch.Tensor]]:
        state, zs = layer.empty_state(rows.stop - rows.start), []
        with torch.no_grad():
            for hidden, surprise, mask in zip(hiddens, surprises, masks):
                state, report = layer.write(state, hidden[rows], surprise[rows], mask[rows])
                zs.append(report.z)
                state = layer.decay(state, 2)
            return state, layer.read(state, query[rows]), zs

    batched_state, batched_out, batched_z = run(slice(0, B))
    singles = [run(slice(b, b + 1)) for b in range(B)]
    assert batched_state.store_used.any()
    assert torch.allclose(batched_out, torch.cat([s[1] for s in singles]), atol=1e-6)
    for turn in range(turns):
        assert torch.allclose(batched_z[turn], torch.cat([s[2][turn] for s in singles]), atol=1e-5)
    stacked = MemoryState.stack([s[0] for s in singles])
    for name, tensor in batched_state.tensors().items():
        other = stacked.tensors()[name]
        if tensor.is_floating_point():
            assert torch.allclose(tensor, other, atol=1e-6), name
        else:
            assert torch.equal(tensor, other), name


# -- 11. config validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"decay_rate": 1.5}, "decay_rate"),
        ({"decay_rate": 0.0}, "decay_rate"),
        ({"buffer_slots": 0}, "buffer_slots"),
        ({"store_slots": -2}, "store_slots"),
        ({"memory_dim": 10, "num_heads": 4}, "memory_dim"),
        ({"forget_below": 1.0}, "forget_below"),
        ({"ema_alpha": 0.0}, "ema_alpha"),
        ({"capacity_pressure": -0.1}, "capacity_pressure"),
        ({"match_similarity": 1.5}, "match_similarity"),
    ],
)
def test_invalid_config_value_raises_value_error_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        tiny_config(**overrides)


def test_config_from_dict_rejects_unknown_keys_by_name_and_round_trips_known_ones() -> None:
    config = tiny_config(decay_rate=0.9)
    assert MemoryConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="decay_rat"):
        MemoryConfig.from_dict({**config.to_dict(), "decay_rat": 0.9})


def test_items_the_gate_or_mask_rejects_leave_no_trace_in_the_state() -> None:
    # Regression: a gated-out store item (or a masked-out buffer item) used to be copied into an
    # empty slot's key/value tensors (unused, but saved to disk with the memory).
    config = tiny_config(store_slots=3, buffer_slots=3)
    store, buffer = SurpriseGatedStore(config), DecayingBuffer(config)
    state, _ = store_write(store, MemoryState.empty(config), one_hot(0), one_hot(0), z=5.0)
    before = state.clone()
    after, counts = store.write(state, one_hot(1), one_hot(1), torch.tensor([[0.2]]), ALL)
    assert counts["store_gated"].item() == 0
    assert_states_equal(after, before)
    masked, counts = buffer.write(state, one_hot(2), one_hot(2), torch.zeros(1, 1, dtype=torch.bool))
    assert counts["buffer_inserted"].item() == 0
    assert_states_equal(masked, before)


# -- tags: an item is never read back by a query that carries its own tag ---------------------------
def test_tags_follow_their_items_through_insert_update_and_decay():
    config = tiny_config(decay_rate=0.1, forget_below=0.05)
    buffer = DecayingBuffer(config)
    state = MemoryState.empty(config)
    state, _ = buffer.write(state, one_hot(0), one_hot(0), ALL, tags=torch.tensor([[7]]))
    state, _ = buffer.write(tick(state), one_hot(1), one_hot(1), ALL, tags=torch.tensor([[8]]))
    assert sorted(state.buffer_tags[0][state.buffer_used[0]].tolist()) == [7, 8]
    assert state.buffer_tags[0][~state.buffer_used[0]].eq(-1).all()
    state, _ = buffer.write(tick(state), one_hot(0), one_hot(2), ALL, tags=torch.tensor([[9]]))  # same key: update
    assert sorted(state.buffer_tags[0][state.buffer_used[0]].tolist()) == [8, 9]
    state = buffer.decay(state, 2)  # strength 0.01 < forget_below: every slot freed, tags wiped
    assert state.buffer_tags.eq(-1).all()


def test_store_keeps_the_tag_of_a_gated_item_and_leaves_rejected_items_out():
    config = tiny_config(z_score_threshold=1.0, capacity_pressure=0.0)
    store = SurpriseGatedStore(config)
    state = MemoryState.empty(config)
    keys = torch.cat([one_hot(0), one_hot(1)], 1)
    state, _ = store.write(state, keys, keys, torch.tensor([[3.0, 0.2]]), torch.ones(1, 2, dtype=torch.bool), tags=torch.tensor([[5, 6]]))
    assert state.store_tags[0][state.store_used[0]].tolist() == [5]
    assert state.store_tags[0][~state.store_used[0]].eq(-1).all()


def test_a_query_never_reads_a_slot_with_its_own_tag():
    attention = MemoryCrossAttention(HIDDEN, MEMORY, HEADS)
    keys, values = torch.randn(1, 2, MEMORY), torch.randn(1, 2, MEMORY)
    slots = attention.slots(keys, values, torch.zeros(1, 2), torch.tensor([[4, 5]]))
    only_second = attention.slots(keys[:, 1:], values[:, 1:], torch.zeros(1, 1))
    only_first = attention.slots(keys[:, :1], values[:, :1], torch.zeros(1, 1))
    hidden = torch.randn(1, 3, HIDDEN)
    out = attention(hidden, slots, query_tags=torch.tensor([[4, 5, 6]]))
    torch.testing.assert_close(out[:, 0], attention(hidden, only_second)[:, 0])  # tag 4 hides slot 0
    torch.testing.assert_close(out[:, 1], attention(hidden, only_first)[:, 1])  # tag 5 hides slot 1
    torch.testing.assert_close(out[:, 2], attention(hidden, slots)[:, 2])  # tag 6 hides nothing


def test_a_query_whose_tag_hides_every_slot_reads_exactly_zero():
    attention = MemoryCrossAttention(HIDDEN, MEMORY, HEADS)
    slots = attention.slots(torch.randn(1, 2, MEMORY), torch.randn(1, 2, MEMORY), torch.zeros(1, 2), torch.tensor([[4, 4]]))
    out = attention(torch.randn(1, 1, HIDDEN), slots, query_tags=torch.tensor([[4]]))
    assert torch.equal(out, torch.zeros_like(out))


def test_a_memory_file_from_before_tags_loads_with_every_item_untagged(tmp_path):
    from safetensors.torch import save_file

    config = tiny_config()
    layer = DualMemoryLayer(config)
    state, _ = layer.write(layer.empty_state(), torch.randn(1, 2, HIDDEN), torch.tensor([[1.0, 5.0]]),
                           torch.ones(1, 2, dtype=torch.bool), tags=torch.tensor([[3, 4]]))
    path = tmp_path / "m.safetensors"
    old = {f"layer.{k}": v.detach() for k, v in state.tensors().items() if not k.endswith("_tags")}  # what version 1 wrote
    save_file(old, str(path), metadata={"format": "seam-memory", "format_version": "1", "states": '["layer"]'})
    loaded, _ = load_states(path)
    assert loaded["layer"].buffer_tags.eq(-1).all() and loaded["layer"].store_tags.eq(-1).all()
    torch.testing.assert_close(loaded["layer"].buffer_keys, state.buffer_keys)


def test_a_query_hides_every_tag_in_its_window_and_negative_tags_hide_nothing():
    attention = MemoryCrossAttention(HIDDEN, MEMORY, HEADS)
    keys, values = torch.randn(1, 3, MEMORY), torch.randn(1, 3, MEMORY)
    slots = attention.slots(keys, values, torch.zeros(1, 3), torch.tensor([[4, 5, -1]]))  # the third slot is untagged
    only_untagged = attention.slots(keys[:, 2:], values[:, 2:], torch.zeros(1, 1))
    hidden = torch.randn(1, 2, HIDDEN)
    out = attention(hidden, slots, query_tags=torch.tensor([[[4, 5], [-1, -1]]]))  # (B, T, W)
    torch.testing.assert_close(out[:, 0], attention(hidden, only_untagged)[:, 0])  # 4 and 5 hidden, -1 is no tag
    torch.testing.assert_close(out[:, 1], attention(hidden, slots)[:, 1])  # window of padding: nothing hidden


def test_hide_recent_tokens_must_be_a_non_negative_integer():
    with pytest.raises(ValueError, match="hide_recent_tokens"):
        tiny_config(hide_recent_tokens=-1)


@pytest.mark.parametrize("shape", [(3, 7), (3, 7, 5), (3, 7, 2, 4)])
def test_slot_row_selection_equals_gather_and_passes_gradient_back(shape) -> None:
    from seam.memory.slots import _gather_rows

    torch.manual_seed(0)
    x = torch.randn(*shape, requires_grad=True)
    index = torch.randint(0, shape[1], (shape[0], 4))  # repeats allowed: their gradients add up
    expanded = index.view(*index.shape, *[1] * (len(shape) - 2)).expand(*index.shape, *shape[2:])
    want = x.gather(1, expanded)
    got = _gather_rows(x, index)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    (grad_want,) = torch.autograd.grad((want * torch.arange(want.numel()).view_as(want)).sum(), x)
    (grad_got,) = torch.autograd.grad((got * torch.arange(got.numel()).view_as(got)).sum(), x)
    torch.testing.assert_close(grad_got, grad_want)


def test_gathering_kept_slots_from_old_slots_and_new_items_equals_gathering_from_their_concatenation() -> None:
    from seam.memory.slots import _gather_pool_rows, _gather_rows

    torch.manual_seed(0)
    old, new = torch.randn(3, 5, 4, requires_grad=True), torch.randn(3, 2, 4, requires_grad=True)
    rows = torch.tensor([[0, 5, 6, 1, 2], [4, 3, 2, 1, 0], [6, 6, 5, 0, 4]])  # >= 5: the new items (a row may repeat)
    want = _gather_rows(torch.cat([old, new], 1), rows)
    got = _gather_pool_rows(old, new, rows)
    assert torch.equal(got, want)
    weights = torch.arange(want.numel(), dtype=torch.float32).view_as(want)
    grads_want = torch.autograd.grad((want * weights).sum(), [old, new])
    grads_got = torch.autograd.grad((got * weights).sum(), [old, new])
    for a, b in zip(grads_got, grads_want):
        assert torch.equal(a, b)


def test_an_item_updates_the_used_slot_it_matches_even_behind_empty_ones_and_never_an_empty_slot() -> None:
    from seam.memory.slots import upsert

    keys = torch.eye(4)[None].repeat(2, 1, 1) * 3  # slot j's key along axis j
    used = torch.tensor([[False, False, True, False], [False, False, False, False]])  # owner 0: slot 2 only (0 and 1 freed)
    new_keys = torch.stack([torch.eye(4)[[2, 0]], torch.eye(4)[[2, 0]]])  # items like slot 2's key and slot 0's key
    zeros, long = torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.long)
    up = upsert(keys, torch.zeros(2, 4, 4), zeros, long, long - 1, used, new_keys, torch.ones(2, 2, 4), torch.ones(2, 2),
                torch.ones(2, 2, dtype=torch.long), torch.tensor([[7, 8], [7, 8]]), torch.ones(2, 2, dtype=torch.bool), 0.9)
    assert up.matched.tolist() == [[True, False], [False, False]]  # slot 0's key matches nothing: that slot is empty
    assert up.updated[0].tolist() == [False, False, True, False]
    assert up.inserted.tolist() == [[False, True], [True, True]]
    assert int(up.used.sum()) == 2 + 2


# -- 10. token keys: a read at a token finds the item that followed that token --------------------------


@pytest.mark.parametrize("channel", ["scale", "projection"])
def test_with_token_keys_a_read_at_a_token_retrieves_what_followed_that_token(channel: str) -> None:
    config = tiny_config(hidden_dim=MEMORY, memory_dim=MEMORY, num_heads=1, token_keys=True, token_channel=channel)
    layer = DualMemoryLayer(config)
    with torch.no_grad():
        layer.gate.fill_(10.0)  # tanh(10) = 1
        layer.key_proj.weight.zero_()  # no context at all: only the previous token's identity can match
        layer.attention.query_proj.weight.zero_()
        for side in ("key", "query"):
            (getattr(layer, f"token_{side}_scale") if channel == "scale" else getattr(layer, f"token_{side}_proj").weight).mul_(4.0)
    tokens = torch.eye(MEMORY)[[1, 2, 3]][None]  # embeddings of the tokens "1 2 3" as said
    previous = torch.cat([torch.zeros(1, 1, MEMORY), tokens[:, :-1]], 1)  # before 2 came 1, before 3 came 2
    values = torch.eye(MEMORY)[[5, 6, 7]][None] * 10
    state, _ = layer.write(layer.empty_state(), torch.randn(1, 3, MEMORY * config.key_inputs), torch.ones(1, 3),
                           torch.ones(1, 3, dtype=torch.bool), content=values, previous=previous)
    for at, follows in ((1, 6), (2, 7)):  # reading at token 1 brings back what followed 1 (the value stored for 2)
        query_token = torch.eye(MEMORY)[[at]][None]
        out = layer.read(state, torch.zeros(1, 1, MEMORY), tokens=query_token)
        assert int(out[0, 0].argmax()) == follows


def test_the_scale_token_channel_reads_and_writes_exactly_as_a_projection_of_that_scale_times_identity() -> None:
    torch.manual_seed(0)
    scaled = DualMemoryLayer(tiny_config(hidden_dim=MEMORY, memory_dim=MEMORY, token_keys=True, token_channel="scale"))
    projected = DualMemoryLayer(tiny_config(hidden_dim=MEMORY, memory_dim=MEMORY, token_keys=True, token_channel="projection"))
    shared = {k: v for k, v in scaled.state_dict().items() if "_scale" not in k}
    projected.load_state_dict(shared, strict=False)
    with torch.no_grad():
        scaled.gate.fill_(1.0)
        projected.gate.fill_(1.0)
        scaled.token_key_scale.fill_(1.5)
        scaled.token_query_scale.fill_(0.75)
        projected.token_key_proj.weight.copy_(1.5 * torch.eye(MEMORY))
        projected.token_query_proj.weight.copy_(0.75 * torch.eye(MEMORY))
    hidden, previous, tokens = torch.randn(2, 5, MEMORY), torch.randn(2, 5, MEMORY), torch.randn(2, 3, MEMORY)
    surprise, mask, at = torch.randn(2, 5), torch.ones(2, 5, dtype=torch.bool), torch.randn(2, 3, MEMORY)
    reads = []
    for layer in (scaled, projected):
        state, _ = layer.write(layer.empty_state(2), hidden, surprise, mask, previous=previous)
        reads.append((state.buffer_keys, layer.read(state, at, tokens=tokens)))
    torch.testing.assert_close(reads[0][0], reads[1][0])
    torch.testing.assert_close(reads[0][1], reads[1][1])
    assert sum(p.numel() for p in scaled.parameters()) == sum(p.numel() for p in projected.parameters()) - 2 * MEMORY * MEMORY + 2


def test_the_scale_token_channel_refuses_a_memory_width_other_than_the_hidden_width() -> None:
    with pytest.raises(ValueError, match="token_channel='scale'.*memory_dim"):
        MemoryConfig(hidden_dim=HIDDEN, memory_dim=MEMORY, token_keys=True, token_channel="scale")
    MemoryConfig(hidden_dim=HIDDEN, memory_dim=MEMORY, token_keys=True, token_channel="projection")  # a matrix maps any width
    with pytest.raises(ValueError, match="token_channel must be one of"):
        MemoryConfig(token_channel="diagonal")


def test_token_keys_need_the_previous_tokens_on_write() -> None:
    layer = DualMemoryLayer(tiny_config(hidden_dim=MEMORY, token_keys=True))
    with pytest.raises(ValueError, match="previous"):
        layer.write(layer.empty_state(), torch.randn(1, 2, MEMORY), torch.ones(1, 2), torch.ones(1, 2, dtype=torch.bool))


# -- 11. recency and the abstain slot -------------------------------------------------------------------


def test_with_recency_bias_a_newer_item_gets_a_higher_read_logit_than_an_older_one() -> None:
    config = tiny_config(hidden_dim=MEMORY, memory_dim=MEMORY, num_heads=1, recency_bias=True)
    layer = DualMemoryLayer(config)
    old, new = torch.eye(MEMORY)[[1]][None] * 10, torch.eye(MEMORY)[[2]][None] * 10
    state = layer.empty_state()
    for value in (old, new):  # two turns: an older item, then a newer one
        state, _ = layer.write(state, torch.randn(1, 1, MEMORY), torch.zeros(1, 1), torch.ones(1, 1, dtype=torch.bool), content=value)
    slots = layer.slots(state)
    used = torch.isfinite(slots.bias[0])
    assert int(used.sum()) == 3 and torch.equal(slots.bias[0][used], torch.zeros(3))  # null + 2 items; w starts at 0
    holds = {int(slots.values[0, i].argmax()): i for i in used.nonzero().flatten().tolist()[1:]}  # value index -> slot
    with torch.no_grad():
        layer.recency.fill_(3.0)
    biased = layer.slots(state).bias[0]
    assert biased[holds[2]] > biased[holds[1]]  # the newer item (age 1) over the older (age 2)
    assert int(torch.isfinite(biased).sum()) == 3  # empty slots stay unreadable


def test_the_message_key_starts_as_no_change_then_adds_the_same_message_state_to_every_key_of_a_row() -> None:
    torch.manual_seed(0)
    plain, keyed = DualMemoryLayer(tiny_config()), DualMemoryLayer(tiny_config(message_key=True))
    keyed.load_state_dict(plain.state_dict(), strict=False)
    hidden, surprise, mask = torch.randn(2, 3, HIDDEN), torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.bool)
    message = torch.randn(2, HIDDEN)
    with pytest.raises(ValueError, match="message_key"):
        keyed.write(keyed.empty_state(2), hidden, surprise, mask)
    before, _ = plain.write(plain.empty_state(2), hidden, surprise, mask)
    start, _ = keyed.write(keyed.empty_state(2), hidden, surprise, mask, message=message)
    torch.testing.assert_close(start.buffer_keys, before.buffer_keys)  # zero projection: the keys as without it
    with torch.no_grad():
        keyed.message_key_proj.weight.normal_()
    after, _ = keyed.write(keyed.empty_state(2), hidden, surprise, mask, message=message)
    shift = after.buffer_keys - before.buffer_keys  # (B, slots, D): the message's part of each key
    used = before.buffer_keys.abs().sum(-1) > 0
    for row in range(2):
        moved = shift[row][used[row]]
        assert moved.abs().sum() > 0 and torch.allclose(moved, moved[:1].expand_as(moved), atol=1e-5)  # one vector per message
    assert not torch.allclose(shift[0][used[0]][0], shift[1][used[1]][0])  # another message, another part
    after.buffer_keys.sum().backward()
    assert keyed.message_key_proj.weight.grad.abs().sum() > 0  # trained through the keys it writes


def test_the_abstain_slot_is_read_with_an_empty_memory_and_retrieves_nothing_until_trained() -> None:
    layer = DualMemoryLayer(tiny_config(abstain_slot=True))
    with torch.no_grad():
        layer.gate.fill_(1.0)
    hidden = torch.randn(1, 3, HIDDEN)
    empty = layer.empty_state()
    assert torch.equal(layer.read(empty, hidden), hidden)  # its value starts at zero
    with torch.no_grad():
        layer.abstain_value.fill_(1.0)
    assert not torch.equal(layer.read(empty, hidden), hidden)
    layer.read(empty, hidden).pow(2).sum().backward()
    assert layer.abstain_key.grad is not None and layer.abstain_value.grad.abs().sum() > 0


def test_the_abstain_match_starts_as_no_change_then_floors_the_abstain_share_as_the_best_kind_match_falls() -> None:
    """abstain_match gives the abstain slot at least sigmoid(100 (w0 - w1 m)) of every head's attention, m the best
    cosine of the query's and a readable slot's kind-match projections (-1 for an empty memory): the other slots keep
    their proportions, times (1 - that floor). At the start (w0 = -1, w1 = 0) the read is the one without it."""
    torch.manual_seed(0)
    plain = DualMemoryLayer(tiny_config(abstain_slot=True))
    matched = DualMemoryLayer(tiny_config(abstain_slot=True, abstain_match=True))
    matched.load_state_dict(plain.state_dict(), strict=False)  # the same weights; the match's own at their start
    with torch.no_grad():
        for layer in (plain, matched):
            layer.gate.fill_(1.0)
            layer.abstain_value.fill_(1.0)
    state = plain.empty_state()
    state, _ = plain.write(state, torch.randn(1, 4, HIDDEN), torch.ones(1, 4), torch.ones(1, 4, dtype=torch.bool))
    hidden = torch.randn(1, 3, HIDDEN)
    torch.testing.assert_close(matched.read(state, hidden), plain.read(state, hidden))  # a floor of e^-100: the same read

    slots = matched.slots(state)
    readable = torch.isfinite(slots.bias[0])
    readable[0] = readable[-1] = False  # the memory's own slots: not the null slot, not the abstain slot
    q = torch.nn.functional.normalize(matched.abstain_match_query(matched.abstain_match_norm(hidden)), dim=-1)[0]
    k = torch.nn.functional.normalize(matched.abstain_match_key(slots.keys[0, readable]), dim=-1)
    best = (q @ k.T).amax(-1)  # (T,)
    torch.testing.assert_close(matched.kind_match(slots, hidden)[0], best)
    assert torch.equal(matched.kind_match(matched.slots(matched.empty_state()), hidden), torch.full((1, 3), -1.0))

    with torch.no_grad():
        matched.abstain_match_weights.copy_(torch.tensor([0.01, 0.02]))  # odds of 1 - 2 m: floors of 0.27-0.95
    floor = torch.sigmoid(100 * (0.01 - 0.02 * best))  # (T,)
    before = plain.read_logits(plain.slots(state), hidden).softmax(-1)  # (1, H, T, N+2)
    after = matched.read_logits(slots, hidden).softmax(-1)
    torch.testing.assert_close(after[..., :-1], (1 - floor)[:, None] * before[..., :-1])  # every other slot: scaled down
    torch.testing.assert_close(after[..., -1], floor + (1 - floor) * before[..., -1])  # the abstain slot: at least the floor
    v = slots.values[0].view(-1, HEADS, slots.values.shape[-1] // HEADS).transpose(0, 1)  # (H, N+2, D/H)
    expected = matched.attention.out_proj((after[0] @ v).transpose(0, 1).reshape(3, -1))  # the read follows those weights
    torch.testing.assert_close(matched.read(state, hidden)[0], hidden[0] + torch.tanh(matched.gate) * expected)
    matched.read(state, hidden).pow(2).sum().backward()
    assert matched.abstain_match_weights.grad.abs().sum() > 0  # the read learns how far to trust the score ...
    for name in ("abstain_match_query", "abstain_match_key"):  # ... and the score learns only from its own term
        assert getattr(matched, name).weight.grad is None
    with pytest.raises(ValueError, match="abstain_slot"):
        tiny_config(abstain_match=True)
    with pytest.raises(ValueError, match="abstain_match_dim"):
        tiny_config(abstain_slot=True, abstain_match=True, abstain_match_dim=0)
    with pytest.raises(ValueError, match="abstain_match is off"):
        plain.kind_match(plain.slots(state), hidden)


def test_the_abstain_floor_applies_only_at_the_positions_asked_and_elsewhere_reads_as_without_it() -> None:
    """read(..., floor_at) keeps abstain_match's floor to the positions marked True: the others read exactly as a
    layer whose floor is off (MemoryConfig.abstain_floor_positions puts it at a reply's first positions)."""
    torch.manual_seed(0)
    layer = DualMemoryLayer(tiny_config(abstain_slot=True, abstain_match=True))
    with torch.no_grad():
        layer.gate.fill_(1.0)
        layer.abstain_value.fill_(1.0)
    state = layer.empty_state()
    state, _ = layer.write(state, torch.randn(1, 4, HIDDEN), torch.ones(1, 4), torch.ones(1, 4, dtype=torch.bool))
    hidden = torch.randn(1, 3, HIDDEN)
    off = layer.read(state, hidden)  # w0 = -1, w1 = 0: a floor of e^-100
    with torch.no_grad():
        layer.abstain_match_weights.copy_(torch.tensor([0.05, 0.0]))  # a floor of sigmoid(5) = 0.99 at every position
    on = layer.read(state, hidden)
    assert not torch.allclose(on, off)
    where = torch.tensor([[False, True, False]])
    some = layer.read(state, hidden, floor_at=where)
    torch.testing.assert_close(some[where], on[where])
    torch.testing.assert_close(some[~where], off[~where])
    torch.testing.assert_close(layer.read(state, hidden, floor_at=torch.ones_like(where)), on)
    torch.testing.assert_close(layer.read(state, hidden, floor_at=False), off)  # no floor in this call: the plain read
    torch.testing.assert_close(layer.read(state, hidden, floor_at=torch.zeros_like(where)), off)
    with pytest.raises(ValueError, match="abstain_floor_positions"):
        tiny_config(abstain_slot=True, abstain_match=True, abstain_floor_positions=-1)


def test_abstain_match_weights_from_a_fitted_score_give_the_trust_times_its_log_odds_of_never_told() -> None:
    """A score fitted as the logistic "told" = T m - b sets the floor's odds to trust (b - T m) + shift; trust 0 is the start."""
    torch.manual_seed(0)
    layer = DualMemoryLayer(tiny_config(abstain_slot=True, abstain_match=True))
    state, _ = layer.write(layer.empty_state(), torch.randn(1, 4, HIDDEN), torch.ones(1, 4), torch.ones(1, 4, dtype=torch.bool))
    slots, hidden = layer.slots(state), torch.randn(1, 3, HIDDEN)
    m = layer.kind_match(slots, hidden)
    with torch.no_grad():
        layer.abstain_match_weights.copy_(abstain_match_weights(temperature=8.0, threshold=2.0, trust=3.0, shift=-1.5))
    torch.testing.assert_close(layer.abstain_odds(slots, hidden), 3.0 * (2.0 - 8.0 * m) - 1.5)
    assert torch.equal(abstain_match_weights(8.0, 2.0, trust=0.0), DualMemoryLayer(layer.config).abstain_match_weights.detach())


def test_the_query_gate_starts_as_a_factor_of_one_and_can_close_a_positions_read() -> None:
    torch.manual_seed(0)
    plain, gated = DualMemoryLayer(tiny_config()), DualMemoryLayer(tiny_config(query_gate=True))
    gated.load_state_dict(plain.state_dict(), strict=False)  # the same weights; the gate's own start at zero
    with torch.no_grad():
        plain.gate.fill_(1.0)
        gated.gate.fill_(1.0)
    state = plain.empty_state()
    state, _ = plain.write(state, torch.randn(1, 4, HIDDEN), torch.ones(1, 4), torch.ones(1, 4, dtype=torch.bool))
    hidden = torch.randn(1, 3, HIDDEN)
    read = plain.read(state, hidden)
    assert not torch.equal(read, hidden)  # memory changes this read
    assert torch.equal(gated.read(state, hidden), read)  # an untrained query gate reads exactly as without it
    with torch.no_grad():
        gated.query_gate.bias.fill_(-30.0)  # the factor 1 + tanh(-30) = 0: this position reads nothing
    assert torch.allclose(gated.read(state, hidden), hidden, atol=1e-6)
    with torch.no_grad():
        gated.query_gate.bias.zero_()
    gated.read(state, hidden).pow(2).sum().backward()
    assert gated.query_gate.weight.grad.abs().sum() > 0  # a loss on the read trains it


def test_a_relative_read_adds_in_proportion_to_the_hidden_states_scale_and_starts_as_the_identity() -> None:
    torch.manual_seed(0)
    plain, relative = DualMemoryLayer(tiny_config()), DualMemoryLayer(tiny_config(relative_read=True))
    relative.load_state_dict(plain.state_dict())  # relative_read adds no parameter
    state = plain.empty_state()
    state, _ = plain.write(state, torch.randn(1, 4, HIDDEN), torch.ones(1, 4), torch.ones(1, 4, dtype=torch.bool))
    hidden = torch.randn(1, 3, HIDDEN)
    assert torch.equal(relative.read(state, hidden), hidden)  # gate 0: the identity, whatever the scale
    with torch.no_grad():
        plain.gate.fill_(1.0)
        relative.gate.fill_(1.0)
    added = plain.read(state, hidden) - hidden
    rms = hidden.pow(2).mean(-1, keepdim=True).sqrt()
    torch.testing.assert_close(relative.read(state, hidden) - hidden, added * rms)
    for scale in (30.0, 1000.0):  # a residual stream 30x or 1000x larger (Gemma 3's): the same read, scaled with it
        big = hidden * scale
        torch.testing.assert_close((relative.read(state, big) - big) / scale, added * rms, rtol=1e-4, atol=1e-4)
        assert torch.allclose(plain.read(state, big) - big, added, atol=1e-4)  # an absolute read stays the same size
    relative.read(state, hidden).pow(2).sum().backward()
    assert relative.gate.grad.abs().sum() > 0 and relative.attention.out_proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("recency_bias", [False, True])
def test_a_read_over_only_the_slots_in_use_equals_the_read_over_every_slot(recency_bias) -> None:
    layer = DualMemoryLayer(tiny_config(buffer_slots=8, store_slots=6, recency_bias=recency_bias))
    with torch.no_grad():
        layer.gate.fill_(1.0)
        if recency_bias:
            layer.recency.fill_(0.7)
    state = layer.empty_state(3)
    for _ in range(2):  # owners write 3, 1 and 0 items a turn: some slots are used by one owner, some by none
        mask = torch.tensor([[True] * 3, [True, False, False], [False] * 3])
        state, _ = layer.write(state, torch.randn(3, 3, HIDDEN), torch.randn(3, 3).abs() * 5, mask)
    state = state.widen(8, 6)  # slots no owner uses (a batch padded to its widest owner, a slot freed by decay)
    assert 0 < int((state.buffer_used.any(0)).sum()) < 8
    hidden = torch.randn(3, 5, HIDDEN)
    keys, values, bias, tags = held_items(layer.buffer, layer.store, state)  # every slot, the unused ones at -inf
    if recency_bias:
        age = (state.clock[:, None] - torch.cat([state.buffer_step, state.store_step], 1)).clamp(min=0).float()
        bias = bias - 0.7 * torch.log1p(age)
    every = hidden + torch.tanh(layer.gate) * layer.attention(hidden, layer.attention.slots(keys, values, bias, tags))
    assert layer.slots(state).keys.shape[1] < keys.shape[1] + 1  # the read did drop slots
    torch.testing.assert_close(layer.read(state, hidden), every, rtol=1e-5, atol=1e-6)


def test_fit_score_keep_best_leaves_the_weights_of_the_step_with_the_highest_validation_auc() -> None:
    """results/design/abstain_match/fit_score.py --keep-best: an early stop on the validation AUC. The layer is left
    with the weights of the best of the scored steps, so its validation AUC after the fit is the curve's maximum."""
    fit_score = load_script("results/design/abstain_match/fit_score.py")
    torch.manual_seed(0)
    layer = DualMemoryLayer(tiny_config(abstain_slot=True, abstain_match=True))

    def episodes(n: int) -> dict:  # told when the state leans on the first key's direction; noisy labels: the fit overfits
        keys = torch.randn(n, 3, MEMORY)
        told = torch.rand(n) < 0.5
        states = torch.randn(n, HIDDEN) + 0.5 * told[:, None].float() * F.pad(keys[:, 0], (0, HIDDEN - MEMORY))
        told = told ^ (torch.rand(n) < 0.3)
        return {"told": told, "states": {0: states}, "keys": {0: keys}, "readable": {0: torch.ones(n, 3, dtype=torch.bool)},
                "other_states": {0: states[:0]}, "other_episode": torch.zeros(0, dtype=torch.long)}

    train, val = episodes(40), episodes(200)
    fit = fit_score.fit_layer(layer, train, val, 0, steps=300, lr=3e-2, other_weight=0.0, keep_best=True)
    best = max(curve[3] for curve in fit["curve"])
    assert fit["val_auc"] == pytest.approx(best)
    assert fit["kept_step"] == next(step for step, _, _, v in fit["curve"] if v == best) < 300  # not the last: restored
    last = fit_score.fit_layer(DualMemoryLayer(tiny_config(abstain_slot=True, abstain_match=True)), train, val, 0, steps=300,
                               lr=3e-2, other_weight=0.0)
    assert last["kept_step"] == 300 and last["val_auc"] == pytest.approx(last["curve"][-1][3])
