"""The benchmark (seam.benchmark) runs end to end on a tiny random Llama and writes the expected results.

No timing is asserted: only that every section runs, reports what it should, and that the helpers the
numbers rest on (full memories, forced lengths, interleaved timing, the profiler labels, loading the
model, the command line) do what they claim. The tests that load the real bundled model are marked slow.
"""

from __future__ import annotations

import json
import logging

import pytest
import torch
from conftest import load_script

from seam.benchmark import (
    BenchmarkConfig,
    bench_profile,
    bench_training,
    forced_length,
    full_memory,
    history_of_tokens,
    interleaved,
    load_model,
    memory_bytes,
    run_benchmark,
    runner,
    text_of_tokens,
    timing,
    write_results,
)
from seam.benchmark.sections import READ_USER, WRITE_USER


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
    assert {"environment", "seconds", "load_average", "other_processes_cpu_share", "generation", "write", "history", "footprint",
            "read_scaling", "training", "profile", "targets"} <= set(data)
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
    assert all(row["us_per_read"] > 0 and not any("prepared" in k for k in row) for row in data["read_scaling"])
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
    assert "| slots | state bytes / layer | us / read |" in markdown
    assert "Inside generation" in markdown and isinstance(gen["read_us_per_token_and_layer"], float)
    assert "seam.memory_read" in paths["profile"].read_text()
    # The benchmark leaves no users behind.
    assert len(seam_model.users) == 0


def test_profile_finds_the_model_labels_without_patching_the_layers(seam_model, tmp_path):
    cfg = tiny_bench_config(tmp_path)
    memory = full_memory(seam_model)
    seam_model.users.set(READ_USER, memory)
    seam_model.users.set(WRITE_USER, [s.clone() for s in memory])
    results, text = bench_profile(seam_model, cfg)
    layers = len(seam_model.memory_layers)

    # generate() of n tokens is n forward calls (prefill + n-1 decode steps), each reading every memory layer once.
    assert results["seam_read"]["ops"]["seam.memory_read"]["calls"] == layers * cfg.profile_tokens
    assert "seam.memory_write" not in results["seam_read"]["ops"]
    assert results["seam_read_write"]["ops"]["seam.memory_write"]["calls"] == layers  # one write per layer per turn
    assert results["remember"]["ops"]["seam.memory_write"]["calls"] == layers
    assert results["remember"]["ops"]["seam.memory_read"]["calls"] == layers  # the write pass reads too
    assert results["memory_read_x100"]["ops"]["seam.memory_read"]["calls"] == 100
    assert not {"seam.memory_read", "seam.memory_write"} & set(results["base"]["ops"])
    assert 0 < results["seam_read"]["memory_read_share_of_cpu"] < 1
    assert "==== remember" in text
    # The labels come from the model itself: nothing shadows the layers' methods.
    for layer in seam_model.memory_layers.values():
        assert not {"read", "write"} & set(vars(layer))


def test_training_section_restores_the_memory_weights(seam_model, tmp_path):
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
    monkeypatch.setattr(timing, "_others_share", lambda start, wall: next(shares))
    calls = []
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=2, warmup=0)
    assert timings.discarded_rounds == 1
    assert calls == ["a", "b"] * 3 and len(timings["a"]) == 2


def test_interleaved_keeps_a_disturbed_round_when_out_of_retries(monkeypatch):
    monkeypatch.setattr(timing, "_others_share", lambda start, wall: 0.5)
    timings = interleaved({"a": lambda: None}, repeats=2, warmup=0, max_retries=1)
    assert timings.discarded_rounds == 1 and len(timings["a"]) == 2


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="repeats"):
        BenchmarkConfig(repeats=0)
    with pytest.raises(ValueError, match="read_slots"):
        BenchmarkConfig(read_slots=())


def test_load_model_takes_a_given_checkpoint_else_the_shipped_one_else_untrained_memory(monkeypatch, tmp_path, caplog):
    loaded = []

    def fake_load(config, checkpoint):
        loaded.append((config.model_name, checkpoint))
        return "model", {}

    monkeypatch.setattr(runner, "load_trained_model", fake_load)
    monkeypatch.setattr(runner, "pretrained_checkpoint", lambda name: tmp_path / f"{name}.safetensors")
    with caplog.at_level(logging.WARNING):
        assert load_model(BenchmarkConfig(model_name="tiny-llama")) == ("model", "untrained")
    assert "No shipped SEAM checkpoint" in caplog.text
    (tmp_path / "tiny-llama.safetensors").write_bytes(b"")
    assert load_model(BenchmarkConfig(model_name="tiny-llama")) == ("model", str(tmp_path / "tiny-llama.safetensors"))
    assert load_model(BenchmarkConfig(model_name="tiny-llama", pretrained=False)) == ("model", "untrained")
    assert loaded == [("tiny-llama", None), ("tiny-llama", tmp_path / "tiny-llama.safetensors"), ("tiny-llama", None)]
    other = tmp_path / "other.safetensors"
    with pytest.raises(FileNotFoundError, match="No SEAM checkpoint at"):
        load_model(BenchmarkConfig(model_name="tiny-llama", checkpoint=str(other)))
    other.write_bytes(b"")
    assert load_model(BenchmarkConfig(model_name="tiny-llama", checkpoint=str(other))) == ("model", str(other))  # not the shipped one
    assert loaded[-1] == ("tiny-llama", other)
    with pytest.raises(ValueError, match="untrained"):
        BenchmarkConfig(checkpoint=str(other), pretrained=False)


def bench_script():
    return load_script("bench/run.py", "bench_run")


def test_bench_command_line_builds_the_config_and_keeps_the_defaults(tmp_path):
    from seam.cli import config_from_args

    script = bench_script()
    parser = script.build_parser()
    args = parser.parse_args(["--model", "tiny-llama", "--untrained", "--threads", "2", "--write-tokens", "8,20",
                              "--history-seconds", "1.5", "--output-dir", str(tmp_path)])
    cfg = config_from_args(parser, BenchmarkConfig, args, pretrained=not args.untrained)
    assert cfg == BenchmarkConfig(model_name="tiny-llama", pretrained=False, threads=2, write_tokens=(8, 20), history_seconds=1.5,
                                  output_dir=str(tmp_path))
    assert config_from_args(parser, BenchmarkConfig, parser.parse_args([]), pretrained=True) == BenchmarkConfig()
    assert "Lengths of the user turns written to memory. (default: 32,256)" in " ".join(parser.format_help().split())
    with pytest.raises(SystemExit) as exit_info:
        config_from_args(parser, BenchmarkConfig, parser.parse_args(["--repeats", "0"]), pretrained=True)
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_load_model_loads_the_shipped_checkpoint_or_untrained_layers():
    from seam.lm.checkpoint import pretrained_checkpoint

    path = pretrained_checkpoint("smollm2-135m")
    if not path.is_file():
        pytest.skip(f"no shipped checkpoint at {path}")
    model, checkpoint = load_model(BenchmarkConfig(model_name="smollm2-135m"))
    try:
        assert checkpoint == str(path)
        assert any(float(layer.gate.detach().abs().max()) > 0 for layer in model.memory_layers.values())  # trained: gates open
    finally:
        model.detach()
    model, checkpoint = load_model(BenchmarkConfig(model_name="smollm2-135m", pretrained=False))
    try:
        assert checkpoint == "untrained"
        assert all(float(layer.gate.detach().abs().max()) == 0 for layer in model.memory_layers.values())
    finally:
        model.detach()
