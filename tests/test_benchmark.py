"""The benchmark (seam.benchmark) runs end to end on a tiny random Llama and writes the expected results.

No timing is asserted: only that every section runs, reports what it should, and that the helpers the
numbers rest on (full memories, forced lengths, the prepared read) do what they claim.
"""

from __future__ import annotations

import json

import pytest
import torch

from seam import benchmark
from seam.benchmark import (
    BenchmarkConfig,
    filled_state,
    forced_length,
    full_memory,
    history_of_tokens,
    interleaved,
    memory_bytes,
    prepared_read,
    prepared_read_inputs,
    run_benchmark,
    text_of_tokens,
    write_results,
)


def tiny_bench_config(tmp_path) -> BenchmarkConfig:
    return BenchmarkConfig(
        model_name="tiny-llama", pretrained=False, threads=1, repeats=2, warmup=1, new_tokens=6, reply_tokens=4,
        write_tokens=(8, 20), history_tokens=(40, 1000), history_repeats=2, history_seconds=30.0, read_slots=(24, 64),
        reads_per_timing=3, train_steps=1, train_batch_size=2, profile_tokens=3, profile_rows=5, output_dir=str(tmp_path),
    )


@pytest.fixture
def seam_model(tiny_llama):
    return tiny_llama.seam()


def test_benchmark_runs_end_to_end_and_writes_expected_keys(seam_model, tmp_path):
    torch.manual_seed(0)
    cfg = tiny_bench_config(tmp_path)
    results = run_benchmark(seam_model, cfg)
    paths = write_results(results, tmp_path)

    data = json.loads(paths["json"].read_text())
    assert {"environment", "seconds", "load_average", "other_processes_cpu_share", "generation", "write", "history", "footprint", "read_scaling", "training",
            "profile", "targets"} <= set(data)
    assert data["environment"]["torch_threads"] == 1
    gen = data["generation"]
    assert {"base", "seam_read", "seam_read_write", "seam_read_speed_ratio", "seam_read_write_speed_ratio"} <= set(gen)
    assert gen["base"]["repeats"] == 2 and gen["base"]["tokens_per_s"] > 0
    assert [t["message_tokens"] for t in data["write"]["turns"]] == [8, 20]
    for turn in data["write"]["turns"]:
        assert {"reply", "reply_with_update", "remember", "remember_fraction_of_reply", "update_marginal_fraction"} <= set(turn)
    # The written user's memory stays full: the benchmark measures a steady state.
    for layer in data["write"]["memory_after_writes"].values():
        assert layer == {"buffer": 16, "store": 8}

    sizes = {row["requested_tokens"]: row for row in data["history"]["sizes"]}
    assert sizes[40]["in_context_possible"] and "in_context_over_seam" in sizes[40]
    assert not sizes[1000]["in_context_possible"] and "context" in sizes[1000]["in_context_error"]
    limit = data["history"]["largest_fitting_history"]
    assert sizes[limit]["at_context_limit"] and sizes[limit]["in_context_possible"]

    assert data["footprint"]["state_bytes"] == memory_bytes(full_memory(seam_model))
    assert [row["slots"] for row in data["read_scaling"]] == [24, 64]
    assert data["training"]["batch_size"] == 2 and data["training"]["step"]["repeats"] == 1
    assert all(isinstance(data[k]["discarded_rounds"], int) for k in ("generation", "write", "training"))
    assert {"base", "seam_read", "seam_read_write", "memory_read_x100", "remember"} == set(data["profile"])
    assert "seam.memory_write" in data["profile"]["remember"]["ops"]
    # Two memory layers read once per forward pass: once per generated token.
    assert data["profile"]["seam_read"]["memory_read_calls_per_token"] == pytest.approx(2.0)
    assert "seam.memory_read" not in data["profile"]["base"]["ops"]
    assert set(data["targets"]) == {"generation_seam_read_speed", "write_remember_8_tokens", "write_remember_20_tokens",
                                    "write_update_marginal_8_tokens", "write_update_marginal_20_tokens"}

    markdown = paths["markdown"].read_text()
    assert "| generation, 6 greedy tokens |" in markdown and "not possible in-context" in markdown
    assert "seam.memory_read" in paths["profile"].read_text()
    # The benchmark leaves no users and no changed weights behind.
    assert seam_model.memories == {}


def test_training_section_restores_the_memory_weights(seam_model, tmp_path):
    from seam.benchmark import bench_training

    before = {k: v.clone() for k, v in seam_model.checkpoint_tensors().items()}
    bench_training(seam_model, tiny_bench_config(tmp_path))
    after = seam_model.checkpoint_tensors()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_full_memory_has_every_slot_in_use(seam_model):
    memory = full_memory(seam_model, seed=0)
    assert len(memory) == len(seam_model.memory_layers)
    for state in memory:
        assert bool(state.buffer_used.all()) and bool(state.store_used.all())
        state.check_compatible(seam_model.config.memory)


def test_forced_length_generates_exactly_the_requested_tokens(seam_model):
    with forced_length(seam_model, 7):
        _, info = seam_model.generate("Hello! My name is Tom.", max_new_tokens=7, update_memory=False)
    assert info["new_tokens"] == 7
    assert seam_model.base.generation_config.min_new_tokens in (None, 0)


def test_prepared_read_equals_the_layer_read(seam_model):
    torch.manual_seed(0)
    layer = next(iter(seam_model.memory_layers.values()))
    with torch.no_grad():
        layer.gate.fill_(0.5)  # an open gate, so the retrieved part counts
    state = filled_state(layer.config, torch.Generator().manual_seed(0), buffer_slots=40, store_slots=8)
    hidden = torch.randn(1, 3, layer.config.hidden_dim)
    with torch.no_grad():
        expected = layer.read(state, hidden)
        got = prepared_read(layer, prepared_read_inputs(layer, state), hidden)
    assert not torch.allclose(expected, hidden)
    torch.testing.assert_close(got, expected)


def test_text_and_history_have_about_the_requested_size(seam_model):
    text = text_of_tokens(seam_model, 30, seed=1)
    assert abs(len(seam_model.tokenizer(text, add_special_tokens=False)["input_ids"]) - 30) <= 2
    history, size = history_of_tokens(seam_model, 120, "What is my name?", seed=1)
    assert history and [m["role"] for m in history[:2]] == ["user", "assistant"]
    assert 100 <= size <= 120


def test_interleaved_runs_arms_in_turn_and_stops_on_the_time_budget():
    calls = []
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1,
                          contention_limit=None)
    assert calls == ["a", "b"] * 4
    assert {k: len(v) for k, v in timings.seconds.items()} == {"a": 3, "b": 3}
    short = interleaved({"a": lambda: None}, repeats=5, warmup=0, max_seconds=0.0, contention_limit=None)
    assert len(short["a"]) == 1


def test_interleaved_discards_and_reruns_a_round_other_processes_disturbed(monkeypatch):
    shares = iter([0.5, 0.0, 0.0])  # the first round ran beside a busy neighbour
    monkeypatch.setattr(benchmark, "_others_share", lambda start, wall: next(shares))
    calls = []
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=2, warmup=0)
    assert timings.discarded_rounds == 1
    assert calls == ["a", "b"] * 3 and len(timings["a"]) == 2


def test_interleaved_keeps_a_disturbed_round_when_out_of_retries(monkeypatch):
    monkeypatch.setattr(benchmark, "_others_share", lambda start, wall: 0.5)
    timings = interleaved({"a": lambda: None}, repeats=2, warmup=0, max_retries=1)
    assert timings.discarded_rounds == 1 and len(timings["a"]) == 2


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="repeats"):
        BenchmarkConfig(repeats=0)
    with pytest.raises(ValueError, match="read_slots"):
        BenchmarkConfig(read_slots=())
