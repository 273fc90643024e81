"""The embedding-only experiment (experiment.py / seam.experiments.embedding) with the real bundled MiniLM.

The encoder loads once per test process (a few seconds); each run then takes well under a second. The
memory's own write and read are pinned on tiny random vectors, without the encoder.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seam.cli import config_from_args
from seam.experiments.embedding import STATE_NAME, EmbeddingExperimentConfig, EmbeddingMemory, build_parser, main, memory_config
from seam.memory import DecayingBuffer, MemoryConfig, MemoryState, SurpriseGatedStore, save_states, write_items

REPO = Path(__file__).resolve().parents[1]
TURN_KEYS = {
    "index", "conversation", "role", "text", "stated_name", "key_novelty", "prediction_error", "surprise", "z",
    "threshold", "buffer_inserted", "buffer_refreshed", "store_gated", "store_inserted", "store_updated", "buffer_fill", "store_fill",
}


TINY = MemoryConfig(hidden_dim=16, memory_dim=16, num_heads=1, buffer_slots=4, store_slots=2)


def results_file(output_dir: Path) -> dict:
    (path,) = output_dir.glob("experiment_results_*.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[dict, Path]:
    output_dir = tmp_path_factory.mktemp("default_run")
    main(["--output-dir", str(output_dir)])
    return results_file(output_dir), output_dir


def test_results_json_has_the_documented_schema(default_run) -> None:
    results, output_dir = default_run
    assert isinstance(results["recalled_name"], str)
    assert results["expected_name"] == "Sarah"
    assert isinstance(results["success"], bool)
    assert isinstance(results["margin"], float)
    assert set(results["most_surprising_turn"]) >= {"index", "text"}
    assert len(results["turns"]) == 5 + 1
    for turn in results["turns"]:
        assert set(turn) >= TURN_KEYS
    assert [t["role"] for t in results["turns"]] == ["reinforcement"] * 5 + ["correction"]
    snapshots = results["memory"]["snapshots"]
    assert list(snapshots) == ["start", "after_conversation_1", "after_decay_1", "after_conversation_2", "after_decay_2"]
    decay = results["memory"]["decay_between_conversations"]
    assert [d["strength"] for d in decay["buffer_strengths_after"]] == pytest.approx(
        [d["strength"] * 0.95**10 for d in decay["buffer_strengths_before"]], rel=1e-5
    )
    assert len(list(output_dir.glob("experiment_*.log"))) == 1


def test_default_run_recalls_the_corrected_name_and_flags_the_correction_as_most_surprising(default_run) -> None:
    results, _ = default_run
    assert results["recalled_name"] == "Sarah"
    assert results["success"] is True
    assert results["margin"] > 0
    correction = results["turns"][-1]
    assert results["most_surprising_turn"]["index"] == correction["index"]
    assert results["most_surprising_turn"]["text"] == "Actually, my name is not Alice, it's Sarah."
    assert correction["store_inserted"] == 1
    assert all(t["store_gated"] == 0 for t in results["turns"][:-1])  # repeats never reach the store


def test_first_turn_surprise_is_unmeasurable_and_scores_zero(default_run) -> None:
    first = default_run[0]["turns"][0]
    assert first["surprise"] is None and first["z"] == 0.0


def test_key_novelty_surprise_misses_the_correction(tmp_path) -> None:
    # Why prediction error is the default: mean-pooled MiniLM puts the correction close to
    # "Alice is my name.", so by key novelty it is less novel than earlier repeats.
    main(["--output-dir", str(tmp_path), "--surprise", "key-novelty"])
    results = results_file(tmp_path)
    assert results["most_surprising_turn"]["index"] != results["turns"][-1]["index"]
    assert results["turns"][-1]["store_gated"] == 0


def test_saved_memory_lets_a_second_run_continue(tmp_path) -> None:
    memory_path = tmp_path / "memory.safetensors"
    main(["--output-dir", str(tmp_path / "first"), "--save-memory", str(memory_path)])
    assert memory_path.is_file()
    first = results_file(tmp_path / "first")
    main(["--output-dir", str(tmp_path / "second"), "--load-memory", str(memory_path)])
    second = results_file(tmp_path / "second")
    start = second["memory"]["snapshots"]["start"]
    assert start == first["memory"]["snapshots"]["after_decay_2"]
    assert start["buffer_fill"] > 0 and start["store_fill"] > 0
    assert second["turns"][0]["surprise"] is not None  # memory was not empty, so surprise is measurable
    assert second["turns"][0]["buffer_refreshed"] == 1  # the same sentence refreshes its old slot


def test_auto_save_writes_a_memory_file_into_the_output_dir(tmp_path) -> None:
    results = main(["--output-dir", str(tmp_path), "--auto-save", "--reinforcement-turns", "1", "--decay-cycles", "0"])
    (saved,) = tmp_path.glob("memory_*.safetensors")
    assert results["memory"]["saved_to"] == [str(saved)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--initial-name", "  "], "initial_name must not be empty"),
        (["--corrected-name", ""], "corrected_name must not be empty"),
        (["--initial-name", "Sarah", "--corrected-name", "sarah"], "must differ"),
        (["--decay-cycles", "-1"], "--decay-cycles: must be >= 0"),
        (["--reinforcement-turns", "0"], "--reinforcement-turns: must be >= 1"),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(argv, message, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing ran


def _bad_memory_files(directory: Path) -> dict[str, tuple[Path, str]]:
    garbage = directory / "garbage.safetensors"
    garbage.write_bytes(b"this is not a memory file")
    small = directory / "small.safetensors"
    config = MemoryConfig(**{**memory_config().to_dict(), "buffer_slots": 8})
    save_states(small, {STATE_NAME: MemoryState.empty(config)}, config)
    foreign = directory / "foreign.safetensors"
    save_states(foreign, {"layer_3": MemoryState.empty(memory_config())}, memory_config())
    return {
        "unreadable": (garbage, "not a readable SEAM memory file"),
        "wrong size": (small, "buffer_slots is 8 in the file but 256"),
        "not this experiment's": (foreign, f"holds no '{STATE_NAME}' memory"),
        "missing": (directory / "nowhere.safetensors", "No memory file at"),
    }


@pytest.mark.parametrize("case", ["unreadable", "wrong size", "not this experiment's", "missing"])
def test_bad_memory_file_exits_with_a_clear_message(case, tmp_path) -> None:
    path, message = _bad_memory_files(tmp_path)[case]
    with pytest.raises(SystemExit) as exit_info:
        main(["--load-memory", str(path), "--output-dir", str(tmp_path / "out")])
    assert message in str(exit_info.value.code)
    assert str(exit_info.value.code).startswith("experiment.py: error: cannot load memory:")


def test_command_line_error_is_one_line_without_traceback(tmp_path) -> None:
    path, _ = _bad_memory_files(tmp_path)["unreadable"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "experiment.py"), "--load-memory", str(path), "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "not a readable SEAM memory file" in proc.stderr


def test_interactive_mode_takes_the_config_from_stdin(tmp_path, monkeypatch) -> None:
    answers = iter(["Bob", "Maria", "3", ""])  # empty answer keeps the default decay cycles
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    results = main(["-i", "--output-dir", str(tmp_path)])
    assert results["config"]["initial_name"] == "Bob" and results["expected_name"] == "Maria"
    assert results["config"]["reinforcement_turns"] == 3 and results["config"]["decay_cycles"] == 10
    assert len(results["turns"]) == 4


# -- the memory over embeddings, on tiny random vectors ----------------------------------------------


def _items(seed: int, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    vectors = torch.nn.functional.normalize(torch.randn(n, 2, TINY.width, generator=generator), dim=-1)
    return [(v[0], v[1]) for v in vectors]


def test_embedding_memory_write_gives_the_state_and_report_of_the_memory_cores_write_step() -> None:
    items = _items(seed=0, n=7)
    items[3] = items[1]  # a repeat refreshes its buffer slot
    surprises = [float("nan"), 0.1, 0.12, 0.11, 0.9, 0.1, 0.95]  # first unmeasurable; two surprising items
    memory = EmbeddingMemory(TINY)
    buffer, store, state = DecayingBuffer(TINY), SurpriseGatedStore(TINY), MemoryState.empty(TINY)
    for (key, value), surprise in zip(items, surprises):
        report = memory.write(key, value, surprise)
        state, expected = write_items(
            buffer, store, state, key.view(1, 1, -1), value.view(1, 1, -1), torch.tensor([[surprise]]), torch.ones(1, 1, dtype=torch.bool)
        )
        assert report == {"z": float(expected.z[0, 0]), "threshold": float(expected.threshold[0]),
                          **{name: int(count[0]) for name, count in expected.counts.items()}}
        for name, tensor in state.tensors().items():
            assert torch.equal(memory.state.tensors()[name], tensor), name
    assert int(memory.state.clock[0]) == len(items)
    assert int(memory.state.surprise_count[0]) == len(items) - 1  # the NaN left the statistics alone
    assert memory.state.fill()["store"][0] >= 1  # a surprising item reached the store


def test_embedding_memory_read_is_softmax_of_scaled_dot_products_plus_bias_with_a_zero_null_slot() -> None:
    memory = EmbeddingMemory(TINY)
    (query, _), *items = _items(seed=1, n=6)
    assert torch.equal(memory.read(query), torch.zeros(TINY.width))  # empty memory: exactly zero
    for (key, value), surprise in zip(items, [float("nan"), 0.1, 0.2, 3.0, 0.1]):
        memory.write(key, value, surprise)
    memory.decay(5)
    keys, values, bias = memory.slots()  # (N, D), (N, D), (N,)
    logits = torch.cat([torch.zeros(1), keys @ query / math.sqrt(TINY.width) + bias])  # null slot first
    weights = torch.softmax(logits, 0)
    assert torch.allclose(memory.attention_weights(query), weights, atol=1e-6)
    assert torch.allclose(memory.read(query), weights[1:] @ values, atol=1e-6)
    assert torch.isfinite(bias).sum() == memory.state.fill()["buffer"][0] + memory.state.fill()["store"][0]


def test_flags_not_given_leave_the_config_dataclass_defaults() -> None:
    parser = build_parser()
    assert config_from_args(parser, EmbeddingExperimentConfig, parser.parse_args([])) == EmbeddingExperimentConfig()
    config = config_from_args(parser, EmbeddingExperimentConfig, parser.parse_args(["--reinforcement-turns", "2", "--auto-save"]))
    assert (config.reinforcement_turns, config.auto_save, config.initial_name) == (2, True, "Alice")
    assert "Name stated in conversation 1 (the old fact). (default: Alice)" in " ".join(parser.format_help().split())
