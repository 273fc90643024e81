"""The LLM experiment (experiment_llm.py / seam.experiments.llm, the chat in seam.experiments.chat) on a tiny
random model: JSON schema, decay bookkeeping, the chat commands and memory persistence, and argument errors.
No trained checkpoint needed."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from seam.cli import config_from_args
from seam.experiments.chat import _stdin_reader, interactive_chat
from seam.experiments.llm import LLMExperimentConfig, build_parser, main, recalled_name, run_and_save
from seam.lm.checkpoint import NO_CHECKPOINT, read_metadata, resolve_checkpoint

TURN_KEYS = {
    "text", "reply", "prompt_tokens", "tokens", "surprise_z", "max_surprise_z", "store_threshold", "written", "conversation", "purpose",
}
WRITTEN_KEYS = {"buffer_inserted", "buffer_refreshed", "store_gated", "store_inserted", "store_updated"}


@pytest.fixture
def tiny_model(tiny_llama):
    """SEAM on conftest's tiny random Llama (ChatML prompts, as SmolLM2), with room for the run's histories."""
    return tiny_llama.seam(base=tiny_llama.base(max_position_embeddings=4096))


@pytest.fixture
def full_run(tiny_model, tmp_path) -> tuple[dict, Path]:
    out = tmp_path / "full"
    config = LLMExperimentConfig(initial_name="Alice", corrected_name="Sarah", decay_cycles=10, max_new_tokens=3, output_dir=out)
    run_and_save(tiny_model, config)
    (path,) = out.glob("llm_experiment_results_*.json")
    assert len(list(out.glob("llm_experiment_*.log"))) == 1 and len(list(out.glob("llm_experiment_*.png"))) == 1
    return json.loads(path.read_text()), out


def test_full_run_writes_json_log_and_plot_with_the_documented_schema(full_run) -> None:
    results, out = full_run
    assert results["mode"] == "full"
    assert [c["purpose"] for c in results["conversations"]] == ["reinforcement"] * 3 + ["correction"]
    assert [len(c["turns"]) for c in results["conversations"]] == [2, 2, 2, 1]
    for conversation in results["conversations"]:
        for turn in conversation["turns"]:
            assert set(turn) >= TURN_KEYS and set(turn["written"]) == WRITTEN_KEYS
            assert len(turn["tokens"]) == len(turn["surprise_z"]) > 0
            assert turn["max_surprise_z"] == pytest.approx(max(turn["surprise_z"]), abs=1e-3)
    assert "Alice" in results["conversations"][0]["turns"][0]["text"] and "Sarah" in results["conversations"][3]["turns"][0]["text"]
    query = results["query"]
    assert query["recalled"] in {"initial", "corrected", "both", "neither"}
    assert results["success"] == (query["corrected_in_reply"] and not query["initial_in_reply"])
    assert set(results["most_surprising_turn"]) == {"index", "text", "max_surprise_z"}
    assert len(results["timeline"]) == 1 + 7 + 4  # start, 7 turns, 4 decays
    files = results["files"]
    assert Path(files["log"]).read_text().count("Conversation") == 5
    assert Path(files["plot"]).stat().st_size > 0 and Path(files["results"]).parent == out


def test_decay_between_conversations_fades_every_buffer_slot_and_keeps_the_store(full_run) -> None:
    results, _ = full_run
    assert len(results["decays"]) == 4
    for decay in results["decays"]:
        assert decay["factor"] == pytest.approx(0.95**10)
        before, after = decay["before"]["by_conversation"], decay["after"]["by_conversation"]
        for conversation, entry in after.items():
            assert entry["buffer_mean_strength"] == pytest.approx(before[conversation]["buffer_mean_strength"] * 0.95**10, rel=1e-5)
            assert entry["store_slots"] == before[conversation]["store_slots"]
        assert decay["after"]["store_used"] == decay["before"]["store_used"]
    # slots are attributed to the conversation that wrote them
    assert set(results["timeline"][-1]["snapshot"]["by_conversation"]) <= {"1", "2", "3", "4"}


def test_simple_run_reports_the_introduction_the_question_and_whether_the_name_came_back(tiny_model, tmp_path) -> None:
    config = LLMExperimentConfig(initial_name="Bob", corrected_name="Sarah", max_new_tokens=3, output_dir=tmp_path)
    results = run_and_save(tiny_model, config, simple=True)
    assert results["mode"] == "simple"
    assert results["introduction"]["text"] == "Hello! My name is Bob. Please remember my name."
    assert results["question"]["text"] == "What is my name?"
    assert results["recalled"] == ("Bob" in results["question"]["reply"].split())
    assert results["memory"]["buffer_used"] > 0
    assert json.loads(Path(results["files"]["results"]).read_text())["mode"] == "simple"


def test_recalled_name_tells_which_name_the_reply_says() -> None:
    assert recalled_name("Your name is Sarah.", "Alice", "Sarah") == "corrected"
    assert recalled_name("Your name is Sarah, not Alice.", "Alice", "Sarah") == "both"
    assert recalled_name("Hello Alice!", "Alice", "Sarah") == "initial"
    assert recalled_name("Your name is Sarahbeth.", "Alice", "Sarah") == "neither"


def test_config_refuses_names_that_cannot_be_told_apart() -> None:
    with pytest.raises(ValueError, match="must differ"):
        LLMExperimentConfig(initial_name="Alice", corrected_name="alice")
    with pytest.raises(ValueError, match="contains the other"):
        LLMExperimentConfig(initial_name="Mary Ann", corrected_name="Ann")


def test_chat_commands_work_from_a_pipe_and_memory_survives_a_restart(tiny_model, tmp_path) -> None:
    memory_file = tmp_path / "memory" / "bob.safetensors"
    copy_file = tmp_path / "copy.safetensors"
    lines = io.StringIO("Hi, I'm Bob.\n/stats\n/decay 3\n/new\n/save " + str(copy_file) + "\n/forget\n/stats\n/load " + str(copy_file)
                        + "\n/decay x\n/bogus\nHow are you?\n")
    out: list[str] = []
    interactive_chat(tiny_model, "bob", memory_file, _stdin_reader(lines), out.append, max_new_tokens=2)
    text = "\n".join(out)
    assert text.count("seam> ") == 2 and "surprise max z" in text
    assert "[3 decay cycles:" in text and "[new conversation" in text and "[memory cleared]" in text
    assert "buffer 0/" in out[next(i for i, o in enumerate(out) if o == "[memory cleared]") + 1]
    assert "[error:" in text and "[unknown command /bogus]" in text
    assert memory_file.is_file() and copy_file.is_file() and out[-1] == f"[memory saved to {memory_file}]"
    saved = tiny_model.memory_stats("bob")
    tiny_model.users.drop(["bob"])  # out of RAM: the next chat must load it from the file
    assert "bob" not in tiny_model.users
    again: list[str] = []
    interactive_chat(tiny_model, "bob", memory_file, _stdin_reader(io.StringIO("/quit\n")), again.append)
    assert again[0].startswith("[loaded bob's memory") and tiny_model.memory_stats("bob") == saved


def test_checkpoint_resolution_default_glob_none_and_refusals(tiny_model, tmp_path) -> None:
    assert resolve_checkpoint(NO_CHECKPOINT, "smollm2-135m") is None
    older, newer = tmp_path / "best_step10.safetensors", tmp_path / "best_step20.safetensors"
    tiny_model.save_checkpoint(older)
    tiny_model.save_checkpoint(newer)
    os.utime(older, (time.time() - 100, time.time() - 100))
    assert resolve_checkpoint(str(tmp_path / "best_step*.safetensors"), "smollm2-135m") == newer
    assert json.loads(read_metadata(newer)["memory_layer_positions"]) == tiny_model.config.memory_layer_positions
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        resolve_checkpoint(tmp_path / "missing.safetensors", "smollm2-135m")
    with pytest.raises(FileNotFoundError, match="No shipped SEAM checkpoint"):
        resolve_checkpoint(None, "no-such-model")
    pt = tmp_path / "best.pt"
    pt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="pickled"):
        read_metadata(pt)


def test_command_line_errors_are_one_sentence_before_any_model_loads(tmp_path, capsys) -> None:
    for argv, message in (
        (["--simple", "-i"], "choose one of"),
        (["--checkpoint", str(tmp_path / "nope.safetensors")], "No checkpoint"),
        (["--initial-name", "Sarah"], "must differ"),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err


def test_flags_set_the_config_fields_and_leave_the_rest_at_the_dataclass_defaults() -> None:
    parser = build_parser()
    assert config_from_args(parser, LLMExperimentConfig, parser.parse_args([])) == LLMExperimentConfig()
    args = parser.parse_args(["--reinforcements", "2", "--decay-cycles", "4", "--user", "me", "--max-new-tokens", "8"])
    config = config_from_args(parser, LLMExperimentConfig, args)
    assert (config.reinforcement_conversations, config.decay_cycles, config.max_new_tokens) == (2, 4, 8)
    assert config.user == LLMExperimentConfig().user and args.chat_user == "me"  # --user names the chat's user, not the runs'
    assert "Conversations that state the initial name before the correction. (default: 3)" in " ".join(parser.format_help().split())
