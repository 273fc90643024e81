"""The LLM memory experiment (experiment_llm.py): a name told, reinforced, corrected, and asked for later.

Three modes on a MemoryAugmentedModel with trained memory weights:

simple       "Hello! My name is {initial}. Please remember my name." is written to memory, the context is
             cleared, and "What is my name?" is asked in a new conversation.
full         The initial name is stated in `reinforcement_conversations` conversations (two turns each,
             different phrasings), corrected once in a later conversation ("Actually, my name is not
             {initial}, it's {corrected}."), with `decay_cycles` decay cycles between conversations; then
             the question in a fresh conversation. Success = the corrected name in the reply and not the
             initial one. Every turn's surprise z-scores and what it wrote to buffer and store are recorded,
             and the memory (buffer strength per source conversation, store slots) after every event.
interactive  A terminal chat with memory for one user, saved on exit and reloaded on the next start
             (seam.experiments.chat).

Outputs of simple and full: llm_experiment_results_<ts>.json and llm_experiment_<ts>.log in the output
directory; full also writes llm_experiment_<ts>.png (memory strengths and surprise over the run).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import torch

from ..cli import add_config_args, add_model_args, build_experiment_config, config_from_args
from ..lm.checkpoint import load_trained_model, resolve_checkpoint
from ..lm.model import MemoryAugmentedModel
from ..lm.prompts import Message
from ..tasks.scoring import mentions
from .chat import _stdin_reader, interactive_chat

logger = logging.getLogger(__name__)

SIMPLE_INTRO = "Hello! My name is {name}. Please remember my name."
QUESTION = "What is my name?"
# Each reinforcement conversation: the name, then an unrelated follow-up in the same conversation.
REINFORCEMENTS = (
    ("Hello! My name is {name}. Please remember my name.", "Can you recommend a good book about history?"),
    ("Hi, I'm {name}. I have another question for you.", "How do I keep basil plants alive?"),
    ("Good morning! The name's {name}.", "What's a good stretch for back pain?"),
    ("Hey there, call me {name}.", "Why is the sky blue?"),
    ("You can call me {name}, by the way.", "How do bees make honey?"),
)
CORRECTION = "Actually, my name is not {old}, it's {new}."


@dataclass
class LLMExperimentConfig:
    """What one run of the LLM experiment does."""

    initial_name: str = "Alice"
    """Name stated in the first conversations (the old fact)."""
    corrected_name: str = "Sarah"
    """Name given by the correction (the expected answer)."""
    decay_cycles: int = 10
    """Memory decay cycles between two conversations."""
    reinforcement_conversations: int = 3
    """Conversations that state the initial name before the correction."""
    user: str = "experiment"
    """The user whose memory the run uses (cleared at the start)."""
    max_new_tokens: int = 32
    """Reply length of every turn, in tokens (the chat's default is 64)."""
    output_dir: Path = Path("./experiment_results")
    """Where the JSON results, the log and the plot go."""

    def __post_init__(self) -> None:
        self.initial_name, self.corrected_name = self.initial_name.strip(), self.corrected_name.strip()
        if not self.initial_name or not self.corrected_name:
            raise ValueError("initial_name and corrected_name must not be empty.")
        if self.initial_name.casefold() == self.corrected_name.casefold():
            raise ValueError(f"initial_name and corrected_name must differ, both are {self.initial_name!r}.")
        if mentions(self.corrected_name, self.initial_name) or mentions(self.initial_name, self.corrected_name):
            raise ValueError(
                f"One name contains the other ({self.initial_name!r}, {self.corrected_name!r}): a reply could not tell them apart."
            )
        if not isinstance(self.decay_cycles, int) or self.decay_cycles < 0:
            raise ValueError(f"decay_cycles must be a whole number >= 0, got {self.decay_cycles!r}.")
        if not 1 <= self.reinforcement_conversations <= len(REINFORCEMENTS):
            raise ValueError(f"reinforcement_conversations must be 1-{len(REINFORCEMENTS)}, got {self.reinforcement_conversations}.")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}.")
        self.output_dir = Path(self.output_dir)


def recalled_name(reply: str, initial: str, corrected: str) -> str:
    """'corrected', 'initial', 'both' or 'neither': which of the two names the reply says."""
    has_initial, has_corrected = mentions(reply, initial), mentions(reply, corrected)
    return {(True, False): "initial", (False, True): "corrected", (True, True): "both"}.get((has_initial, has_corrected), "neither")


# -- memory snapshots ---------------------------------------------------------------------------------


def memory_snapshot(model: MemoryAugmentedModel, user: str, turn_conversation: dict[int, int]) -> dict:
    """Fill and strengths of the user's memory, over all memory layers.

    turn_conversation maps a written turn's clock value to its conversation, so buffer strength and store
    slots can be attributed to the conversation that wrote them.
    """
    by_conversation: dict[int, dict[str, float]] = {}

    def entry_of(step: int) -> dict[str, float]:  # the entry of the conversation that wrote at this clock value (-1: unknown)
        empty = {"buffer_slots": 0, "buffer_strength_sum": 0.0, "store_slots": 0}
        return by_conversation.setdefault(turn_conversation.get(step, -1), empty)

    for state in model.memory_of(user):
        used = state.buffer_used[0]
        for step, strength in zip(state.buffer_step[0][used].tolist(), state.buffer_strength[0][used].tolist()):
            entry = entry_of(step)
            entry["buffer_slots"] += 1
            entry["buffer_strength_sum"] += strength
        for step in state.store_step[0][state.store_used[0]].tolist():
            entry_of(step)["store_slots"] += 1
    for entry in by_conversation.values():
        entry["buffer_mean_strength"] = entry["buffer_strength_sum"] / entry["buffer_slots"] if entry["buffer_slots"] else 0.0
    stats = model.memory_stats(user)
    return {
        "buffer_used": sum(s["buffer_used"] for s in stats.values()),
        "store_used": sum(s["store_used"] for s in stats.values()),
        "buffer_mean_strength": _mean([s["buffer_mean_strength"] for s in stats.values() if s["buffer_used"]]),
        "by_conversation": {str(k): v for k, v in sorted(by_conversation.items())},
        "layers": stats,
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _turn_record(text: str, reply: str, info: dict) -> dict:
    return {
        "text": text,
        "reply": reply,
        "prompt_tokens": info["prompt_tokens"],
        "tokens": info.get("tokens", []),
        "surprise_z": info.get("surprise_z", []),
        "max_surprise_z": info.get("max_surprise_z"),
        "store_threshold": info.get("store_threshold"),
        "written": info.get("written", {}),
    }


def _readable(token: str) -> str:
    """A byte-level BPE token as text ('ĠAlice' -> ' Alice')."""
    return token.replace("\u0120", " ").replace("\u010a", "\n")


def _log_turn(turn: dict, snapshot: dict) -> None:
    w = turn["written"]
    top = sorted(zip(turn["surprise_z"], turn["tokens"]), reverse=True)[:3]
    logger.info("  user: %s", turn["text"])
    logger.info("  model: %s", turn["reply"])
    logger.info(
        "  surprise: max z %.2f vs store threshold %.2f (most surprising tokens %s) | wrote: buffer +%d new, %d refreshed; "
        "store %d gated, +%d new, %d updated (summed over memory layers) | memory now: buffer %d, store %d slots",
        turn["max_surprise_z"], turn["store_threshold"], ", ".join(f"{_readable(t)!r} {z:.2f}" for z, t in top),
        w.get("buffer_inserted", 0), w.get("buffer_refreshed", 0), w.get("store_gated", 0), w.get("store_inserted", 0),
        w.get("store_updated", 0), snapshot["buffer_used"], snapshot["store_used"],
    )


# -- the experiments ----------------------------------------------------------------------------------


def run_simple(model: MemoryAugmentedModel, config: LLMExperimentConfig) -> dict:
    """Introduce, clear the context, ask. Returns the results dict."""
    user, name = config.user, config.initial_name
    model.clear_memory(user)
    intro = SIMPLE_INTRO.format(name=name)
    logger.info("Step 1 - introduction (written to memory):")
    reply, info = model.generate(intro, user=user, update_memory=True, max_new_tokens=config.max_new_tokens)
    introduction = _turn_record(intro, reply, info)
    _log_turn(introduction, memory_snapshot(model, user, {0: 1}))
    logger.info("Step 2 - context cleared: a new conversation with no history.")
    logger.info("Step 3 - question (memory read only):")
    answer, info = model.generate(QUESTION, user=user, update_memory=False, max_new_tokens=config.max_new_tokens)
    bare, _ = model.generate(QUESTION, user=user, update_memory=False, use_memory=False, max_new_tokens=config.max_new_tokens)
    recalled = mentions(answer, name)
    logger.info("  user: %s", QUESTION)
    logger.info("  model: %s", answer)
    logger.info("  (bare model, no memory: %s)", bare)
    logger.info("Result: %s", f"RECALLED - the reply says {name}." if recalled else f"NOT RECALLED - the reply does not say {name}.")
    return {
        "mode": "simple",
        "name": name,
        "introduction": introduction,
        "question": {"text": QUESTION, "reply": answer, "prompt_tokens": info["prompt_tokens"]},
        "bare_model_reply": bare,
        "recalled": recalled,
        "memory": memory_snapshot(model, user, {0: 1}),
    }


def run_full(model: MemoryAugmentedModel, config: LLMExperimentConfig) -> dict:
    """Reinforce, decay, correct, decay, ask. Returns the results dict (see the module docstring)."""
    user, initial, corrected = config.user, config.initial_name, config.corrected_name
    model.clear_memory(user)
    script: list[tuple[str, tuple[str, ...]]] = [
        ("reinforcement", tuple(t.format(name=initial) for t in REINFORCEMENTS[i])) for i in range(config.reinforcement_conversations)
    ] + [("correction", (CORRECTION.format(old=initial, new=corrected),))]
    turn_conversation: dict[int, int] = {}
    conversations, decays = [], []
    timeline = [{"event": "start", "snapshot": memory_snapshot(model, user, turn_conversation)}]

    for c, (purpose, texts) in enumerate(script, start=1):
        logger.info("Conversation %d (%s), a new conversation with no history:", c, purpose)
        history: list[Message] = []
        turns = []
        for text in texts:
            turn_conversation[int(model.memory_of(user)[0].clock[0])] = c  # the clock value this turn's slots get
            reply, info = model.generate(text, user=user, history=history, update_memory=True, max_new_tokens=config.max_new_tokens)
            turn = _turn_record(text, reply, info) | {"conversation": c, "purpose": purpose}
            snapshot = memory_snapshot(model, user, turn_conversation)
            _log_turn(turn, snapshot)
            turns.append(turn)
            timeline.append({"event": f"c{c} turn {len(turns)}", "snapshot": snapshot})
            history += [{"role": "user", "content": text}, {"role": "assistant", "content": reply or "Okay."}]
        conversations.append({"index": c, "purpose": purpose, "turns": turns})
        before = timeline[-1]["snapshot"]
        model.decay(config.decay_cycles, user=user)
        after = memory_snapshot(model, user, turn_conversation)
        factor = model.config.memory.decay_rate ** config.decay_cycles
        decays.append({"after_conversation": c, "cycles": config.decay_cycles, "factor": factor, "before": before, "after": after})
        timeline.append({"event": f"decay x{config.decay_cycles}", "snapshot": after})
        logger.info(
            "Time passes: %d decay cycles (buffer x%.3f). Buffer %d -> %d slots, mean strength %.3f -> %.3f; store keeps %d slots. "
            "Buffer strength by conversation: %s",
            config.decay_cycles, factor, before["buffer_used"], after["buffer_used"], before["buffer_mean_strength"],
            after["buffer_mean_strength"], after["store_used"],
            {k: round(v["buffer_mean_strength"], 3) for k, v in after["by_conversation"].items()},
        )

    logger.info("Conversation %d (query), a new conversation with no history (memory read only):", len(script) + 1)
    answer, info = model.generate(QUESTION, user=user, update_memory=False, max_new_tokens=config.max_new_tokens)
    bare, _ = model.generate(QUESTION, user=user, update_memory=False, use_memory=False, max_new_tokens=config.max_new_tokens)
    which = recalled_name(answer, initial, corrected)
    success = which == "corrected"
    all_turns = [t for conv in conversations for t in conv["turns"]]
    most = max(range(len(all_turns)), key=lambda i: all_turns[i]["max_surprise_z"])
    logger.info("  user: %s", QUESTION)
    logger.info("  model: %s", answer)
    logger.info("  (bare model, no memory: %s)", bare)
    logger.info("Most surprising turn: %r (max z %.2f).", all_turns[most]["text"], all_turns[most]["max_surprise_z"])
    logger.info("Result: the reply names %s. %s", which,
                f"SUCCESS: {corrected} recalled and {initial} not." if success else
                f"FAILURE: success needs {corrected} in the reply and not {initial}.")
    return {
        "mode": "full",
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "conversations": conversations,
        "decays": decays,
        "timeline": timeline,
        "query": {"text": QUESTION, "reply": answer, "prompt_tokens": info["prompt_tokens"], "recalled": which,
                  "initial_in_reply": mentions(answer, initial), "corrected_in_reply": mentions(answer, corrected)},
        "bare_model_reply": bare,
        "most_surprising_turn": {"index": most, "text": all_turns[most]["text"], "max_surprise_z": all_turns[most]["max_surprise_z"]},
        "success": success,
    }


def plot_run(results: dict, path: Path) -> Path:
    """Buffer strength by source conversation and memory fill over the run's events; surprise per turn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = results["timeline"]
    events = [e["event"] for e in timeline]
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(11, 10))
    conversations = [conv["index"] for conv in results["conversations"]]
    for conv in conversations:
        ys = [e["snapshot"]["by_conversation"].get(str(conv), {}).get("buffer_mean_strength", float("nan")) for e in timeline]
        purpose = results["conversations"][conv - 1]["purpose"]
        a.plot(range(len(events)), ys, "o-", label=f"conversation {conv} ({purpose})")
    a.set_ylabel("mean buffer strength"), a.set_ylim(0, 1.05)
    a.set_title("Buffer strength of each conversation's slots (decays between conversations)")
    a.set_xticks(range(len(events)), events, rotation=30, ha="right", fontsize=8), a.legend(fontsize=8)
    b.plot(range(len(events)), [e["snapshot"]["buffer_used"] for e in timeline], "o-", label="buffer slots used (all layers)")
    b.plot(range(len(events)), [e["snapshot"]["store_used"] for e in timeline], "s-", label="store slots used (all layers)")
    b.set_xticks(range(len(events)), events, rotation=30, ha="right", fontsize=8), b.set_ylabel("slots"), b.legend(fontsize=8)
    b.set_title("Memory fill")
    turns = [t for conv in results["conversations"] for t in conv["turns"]]
    colours = ["C3" if t["purpose"] == "correction" else "C0" for t in turns]
    c.bar(range(len(turns)), [t["max_surprise_z"] for t in turns], color=colours)
    c.plot(range(len(turns)), [t["store_threshold"] for t in turns], "k_", markersize=30, label="store threshold (z)")
    c.set_xticks(range(len(turns)), [f"c{t['conversation']}: {t['text'][:28]}" for t in turns], rotation=25, ha="right", fontsize=7)
    c.set_ylabel("max surprise z of the turn"), c.set_title("Surprise per user turn (red: the correction)"), c.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- command line -------------------------------------------------------------------------------------


CONFIG_FLAGS = ("initial_name", "corrected_name", "decay_cycles", "reinforcement_conversations", "max_new_tokens", "output_dir")
"""The fields of LLMExperimentConfig the command line sets (help and default from the dataclass)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="experiment_llm.py", description="SEAM memory experiments on a language model.")
    p.add_argument("--interactive", "-i", action="store_true", help="interactive chat with memory")
    p.add_argument("--simple", "-s", action="store_true", help="simple memory test (introduce -> clear context -> recall)")
    add_model_args(p)
    p.add_argument("--checkpoint", help="SEAM checkpoint (.safetensors; a glob picks the newest match; 'none' = untrained). "
                   "Default: the shipped checkpoint of --model")
    add_config_args(p, LLMExperimentConfig, CONFIG_FLAGS, flags={"reinforcement_conversations": "--reinforcements"})
    # The chat's user is not the config's `user` (the runs' own, cleared at their start), so it has another dest.
    p.add_argument("--user", dest="chat_user", metavar="USER", default="default", help="chat: whose memory (default: default)")
    p.add_argument("--memory-dir", type=Path, default=Path("./memory"), help="chat: where <user>.safetensors is kept (default: ./memory)")
    return p


def _unique_stamp(output_dir: Path) -> str:
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    candidate, n = stamp, 1
    while (output_dir / f"llm_experiment_results_{candidate}.json").exists():
        n += 1
        candidate = f"{stamp}_{n}"
    return candidate


def run_and_save(model: MemoryAugmentedModel, config: LLMExperimentConfig, simple: bool = False, extra: dict | None = None) -> dict:
    """Run one mode, logging to the console and llm_experiment_<ts>.log; write JSON (and the plot)."""
    config.output_dir.mkdir(parents=True, exist_ok=True)
    stamp = _unique_stamp(config.output_dir)
    log_path = config.output_dir / f"llm_experiment_{stamp}.log"
    handlers = [logging.StreamHandler(sys.stdout), logging.FileHandler(log_path)]
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("SEAM LLM experiment (%s) on %s, memory layers %s, %s", "simple" if simple else "full",
                    model.config.model_name, model.config.memory_layer_positions, json.dumps(extra or {}))
        with torch.no_grad():
            results = run_simple(model, config) if simple else run_full(model, config)
        results["model"] = {"base_model": model.config.model_name, "memory_layer_positions": model.config.memory_layer_positions,
                            "memory_config": model.config.memory.to_dict(), **(extra or {})}
        files = {"results": str(config.output_dir / f"llm_experiment_results_{stamp}.json"), "log": str(log_path)}
        if not simple:
            files["plot"] = str(plot_run(results, config.output_dir / f"llm_experiment_{stamp}.png"))
        results["files"] = files
        Path(files["results"]).write_text(json.dumps(results, indent=1))
        logger.info("Results in %s, log in %s%s.", files["results"], log_path, f", plot in {files['plot']}" if "plot" in files else "")
        return results
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate


def main(argv: list[str] | None = None) -> dict | None:
    """Command-line entry point: the full run, --simple, or the -i chat. Returns the results dict (None after a chat)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interactive and args.simple:
        parser.error("choose one of --interactive and --simple.")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = config_from_args(parser, LLMExperimentConfig, args)
    try:
        experiment_config = build_experiment_config(args)
        checkpoint = resolve_checkpoint(args.checkpoint, args.model)
        model, meta = load_trained_model(experiment_config, checkpoint)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    extra = {"checkpoint": str(checkpoint) if checkpoint else None, "checkpoint_step": meta.get("step")}
    if args.interactive:
        try:
            model.memory_of(args.chat_user)  # checks the user id
        except ValueError as err:
            parser.error(str(err))
        reply_length = {"max_new_tokens": config.max_new_tokens} if "max_new_tokens" in args else {}  # else the chat's own default
        memory_file = args.memory_dir / f"{args.chat_user}.safetensors"
        interactive_chat(model, args.chat_user, memory_file, _stdin_reader(), **reply_length)
        return None
    return run_and_save(model, config, simple=args.simple, extra=extra)
