"""The evaluation harness: every system on the same held-out episodes, scored by real greedy generation.

Tasks (seam.evaluation.tasks builds the episodes):
  recall        introduction, context cleared, question
  retention     introduction, k unrelated conversations, question (k = 0 is `recall`)
  decay         introduction, n decay cycles, question (n = 0 is `recall`)
  correction    a name stated in several conversations, corrected once; the new name must win
  multi_user    groups of users talking in turns; each must get their own name and no one else's
  facts         city, pet's name, favourite colour, job, each stated once

Costs per system: prompt tokens per query (from generate's info), latency per query (wall clock of a
batched generate call divided by its batch size; retrieval includes embedding the question), write time
per remembered message, and bytes held per user.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..lm.model import MemoryAugmentedModel
from ..training.data import split_names
from .systems import InContextSystem, NoMemorySystem, RetrievalSystem, SeamSystem, SentenceEncoderLike, System
from .tasks import (
    FACT_KINDS,
    Decay,
    Episode,
    correction_episodes,
    fact_episodes,
    multi_user_episodes,
    recall_episodes,
    score_episode,
)

log = logging.getLogger(__name__)

SYSTEMS = ("seam", "no-memory", "in-context", "retrieval")
TASKS = ("recall", "retention", "decay", "correction", "multi_user", "facts")


@dataclass
class EvalConfig:
    """What one evaluation run does."""

    items: int = 100
    """Episodes per task and variant (per fact kind for `facts`)."""
    systems: tuple[str, ...] = SYSTEMS
    tasks: tuple[str, ...] = TASKS
    retention_distractors: tuple[int, ...] = (0, 1, 5, 20)
    """Unrelated conversations between the introduction and the question."""
    decay_cycles: tuple[int, ...] = (0, 10, 50)
    """Decay cycles between the introduction and the question."""
    correction_reinforcements: int = 3
    """Conversations stating the initial name before the single correction."""
    group_size: int = 4
    """Users per interleaved group in the multi-user task."""
    fact_kinds: tuple[str, ...] = tuple(FACT_KINDS)
    retrieval_top_k: int = 3
    batch_size: int = 50
    """Users per batched generate / remember call (about: batches are balanced and never split a user group)."""
    max_new_tokens: int = 20
    seed: int = 0
    """Seed of the episodes (names, phrasings, distractors, fact values)."""
    name_split: dict[str, int] = field(default_factory=lambda: {"num_train": 500, "num_val": 50, "num_test": 200, "seed": 0})
    """split_names() arguments of the training run; the test names are what the evaluation asks about."""

    def __post_init__(self) -> None:
        self.systems, self.tasks = tuple(self.systems), tuple(self.tasks)
        unknown = [s for s in self.systems if s not in SYSTEMS] + [t for t in self.tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"Unknown system or task: {', '.join(unknown)}. Systems: {', '.join(SYSTEMS)}; tasks: {', '.join(TASKS)}.")
        bad_kinds = [k for k in self.fact_kinds if k not in FACT_KINDS]
        if bad_kinds:
            raise ValueError(f"Unknown fact kind(s) {', '.join(bad_kinds)}; known: {', '.join(FACT_KINDS)}.")
        for name in ("items", "batch_size", "max_new_tokens", "retrieval_top_k", "group_size", "correction_reinforcements"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if any(k < 0 for k in self.retention_distractors) or any(c < 0 for c in self.decay_cycles):
            raise ValueError("Distractor counts and decay cycles must be >= 0.")
        if "multi_user" in self.tasks and self.items % self.group_size:
            raise ValueError(f"items ({self.items}) must be a multiple of group_size ({self.group_size}) for the multi-user task.")


@dataclass
class TaskSpec:
    """One row of the results: a task variant and its episodes."""

    key: str
    task: str
    label: str
    episodes: list[Episode]
    same_as: str | None = None
    """Key of a row with identical episodes (retention k=0, decay 0): not run again, reported from it."""
    no_op_unless_decays: str | None = None
    """Key of a row with the same episodes minus the decay: systems where decay changes nothing are reported from it."""


def build_tasks(config: EvalConfig, test_names: list[str]) -> list[TaskSpec]:
    n, seed = config.items, config.seed
    specs: list[TaskSpec] = []
    if {"recall", "retention", "decay"} & set(config.tasks):
        specs.append(TaskSpec("recall", "recall", "name recall after a context clear", recall_episodes(test_names, n, seed)))
    if "retention" in config.tasks:
        for k in config.retention_distractors:
            specs.append(TaskSpec(
                f"retention k={k}", "retention", f"retention, {k} unrelated conversations between",
                recall_episodes(test_names, n, seed, distractors=k, task="retention", variant=f"k={k}"),
                same_as="recall" if k == 0 else None,
            ))
    if "decay" in config.tasks:
        for c in config.decay_cycles:
            specs.append(TaskSpec(
                f"decay {c}", "decay", f"recall after {c} decay cycles",
                recall_episodes(test_names, n, seed, decay_cycles=c, task="decay", variant=f"cycles={c}"),
                same_as="recall" if c == 0 else None, no_op_unless_decays="recall" if c else None,
            ))
    if "correction" in config.tasks:
        specs.append(TaskSpec("correction", "correction",
                              f"correction after {config.correction_reinforcements} reinforcements (old name in reply = miss)",
                              correction_episodes(test_names, n, seed + 1, config.correction_reinforcements)))
    if "multi_user" in config.tasks:
        specs.append(TaskSpec("multi_user", "multi_user", f"{config.group_size} users interleaved (other user's name = miss)",
                              multi_user_episodes(test_names, n, seed + 2, config.group_size)))
    if "facts" in config.tasks:
        for j, kind in enumerate(config.fact_kinds):
            specs.append(TaskSpec(f"facts {kind}", "facts", f"fact stated once: {kind}", fact_episodes(kind, test_names, n, seed + 3 + j)))
    return specs


def batches(episodes: Sequence[Episode], batch_size: int) -> list[list[Episode]]:
    """ceil(N / batch_size) batches of nearly equal size; the users of a group always share a batch."""
    units: list[list[Episode]] = []
    for e in episodes:
        if units and e.group is not None and units[-1][0].group == e.group:
            units[-1].append(e)
        else:
            units.append([e])
    count = max(1, math.ceil(len(episodes) / batch_size))
    out: list[list[Episode]] = [[]]
    placed = 0
    for unit in units:
        if placed >= len(episodes) * len(out) / count - 1e-9:  # batch k is full once k/count of all are placed
            out.append([])
        out[-1] += unit
        placed += len(unit)
    return out


def run_episodes(system: System, episodes: Sequence[Episode], batch_size: int, max_new_tokens: int,
                 progress: Callable[[int], None] | None = None) -> list[dict]:
    """Play the episodes through a system in batches (turn t of every episode in one call); one record each."""
    records: list[dict] = []
    for chunk in batches(episodes, batch_size):
        users = [e.user for e in chunk]
        system.reset(users)
        write_seconds, writes = 0.0, 0
        retrieved_turns = {}
        for t in range(max(len(e.turns) for e in chunk)):
            speaking = [e for e in chunk if t < len(e.turns) and isinstance(e.turns[t], str)]
            if speaking:
                t0 = time.perf_counter()
                system.observe([e.user for e in speaking], [e.turns[t] for e in speaking])
                write_seconds += time.perf_counter() - t0
                writes += len(speaking)
            waiting: dict[int, list[str]] = {}
            for e in chunk:
                if t < len(e.turns) and isinstance(e.turns[t], Decay):
                    waiting.setdefault(e.turns[t].cycles, []).append(e.user)
            for cycles, who in waiting.items():
                system.decay(who, cycles)
        held = {u: system.memory_bytes(u) for u in users}
        replies, infos, seconds = system.ask(users, [e.question for e in chunk], max_new_tokens)
        if isinstance(system, RetrievalSystem):
            retrieved_turns = system.last_retrieved
        for e, reply, info in zip(chunk, replies, infos):
            record = {
                "user": e.user, "task": e.task, "variant": e.variant, "question": e.question, "expected": e.expected,
                "forbidden": e.forbidden, "turns": [t if isinstance(t, str) else {"decay_cycles": t.cycles} for t in e.turns],
                "reply": reply, "hit": score_episode(e, reply), "prompt_tokens": info["prompt_tokens"],
                "new_tokens": info["new_tokens"], "latency_s": seconds / len(chunk),
                "write_s_per_message": write_seconds / writes if writes else 0.0, **held[e.user],
            }
            if e.user in retrieved_turns:
                record["retrieved"] = retrieved_turns[e.user]
            records.append(record)
        system.release(users)
        if progress:
            progress(len(chunk))
    return records


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sensible at 0% and 100%, unlike the normal one)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarise(records: list[dict]) -> dict:
    n, hits = len(records), sum(r["hit"] for r in records)
    low, high = wilson_interval(hits, n)
    mean = lambda key: sum(r[key] for r in records) / n if n else float("nan")  # noqa: E731
    out = {
        "n": n, "hits": hits, "accuracy": hits / n if n else float("nan"), "ci95": [low, high],
        "prompt_tokens_per_query": mean("prompt_tokens"), "latency_ms_per_query": 1000 * mean("latency_s"),
        "write_ms_per_message": 1000 * mean("write_s_per_message"), "memory_bytes_per_user": mean("bytes"),
    }
    if records and "bytes_used" in records[0]:
        out["memory_bytes_used_per_user"] = mean("bytes_used")
    if records and "retrieved" in records[0]:
        out["retrieved_the_fact"] = sum(any(r["expected"] in t for t in r["retrieved"]) for r in records) / n
    return out


def build_systems(config: EvalConfig, model: MemoryAugmentedModel, encoder: SentenceEncoderLike | None = None) -> list[System]:
    systems: list[System] = []
    for name in config.systems:
        if name == "seam":
            systems.append(SeamSystem(model))
        elif name == "no-memory":
            systems.append(NoMemorySystem(model))
        elif name == "in-context":
            systems.append(InContextSystem(model))
        else:
            if encoder is None:
                from ..embedding_experiment import load_encoder

                encoder = load_encoder()
            systems.append(RetrievalSystem(model, encoder, config.retrieval_top_k))
    return systems


def evaluate(model: MemoryAugmentedModel, config: EvalConfig, encoder: SentenceEncoderLike | None = None) -> dict:
    """Run every task on every system; returns the results dict (summaries, costs and all records)."""
    started = time.time()
    split = split_names(**config.name_split)
    test_names = split.test
    leaked = set(test_names) & set(split.train)
    if leaked:
        raise RuntimeError(f"Test names overlap the training names: {sorted(leaked)[:5]}.")
    specs = build_tasks(config, test_names)
    systems = build_systems(config, model, encoder)
    to_run = [(spec, s) for spec in specs for s in systems
              if spec.same_as is None and not (spec.no_op_unless_decays and not s.decays)]
    total = sum(len(spec.episodes) for spec, _ in to_run)
    records: dict[str, dict[str, list[dict]]] = {spec.key: {} for spec in specs}
    seconds: dict[str, dict[str, float]] = {spec.key: {} for spec in specs}
    with tqdm(total=total, desc="evaluation", unit="episode") as bar:
        for spec, system in to_run:
            bar.set_postfix_str(f"{spec.key} / {system.name}")
            t0 = time.time()
            with torch.no_grad():
                records[spec.key][system.name] = run_episodes(system, spec.episodes, config.batch_size, config.max_new_tokens, bar.update)
            seconds[spec.key][system.name] = time.time() - t0
            summary = summarise(records[spec.key][system.name])
            log.info("%-14s %-11s accuracy %.3f (%d/%d), %.0f prompt tokens, %.1f ms/query, %.1f s",
                     spec.key, system.name, summary["accuracy"], summary["hits"], summary["n"],
                     summary["prompt_tokens_per_query"], summary["latency_ms_per_query"], seconds[spec.key][system.name])
    rows = []
    for spec in specs:
        row = {"key": spec.key, "task": spec.task, "label": spec.label, "n": len(spec.episodes), "systems": {}}
        for system in systems:
            source = spec.same_as or (spec.no_op_unless_decays if not system.decays else None)
            recs = records[source][system.name] if source else records[spec.key][system.name]
            summary = summarise(recs)
            if source:
                summary["reported_from"] = source
            row["systems"][system.name] = summary
        if spec.same_as:
            row["note"] = f"same episodes as {spec.same_as}"
        elif spec.no_op_unless_decays:
            row["note"] = f"systems without decay answer exactly as in {spec.no_op_unless_decays} (same prompts): reported from it"
        rows.append(row)
    costs = {}
    for system in systems:
        ran = [r for spec, s in to_run if s is system for r in records[spec.key][system.name]]
        costs[system.name] = summarise(ran) | {"seconds": sum(seconds[k].get(system.name, 0.0) for k in seconds)}
        for key in ("recall", f"retention k={max(config.retention_distractors)}"):
            if key in records and system.name in records[key]:
                costs[system.name][f"memory_bytes_per_user[{key}]"] = summarise(records[key][system.name])["memory_bytes_per_user"]
                costs[system.name][f"prompt_tokens_per_query[{key}]"] = summarise(records[key][system.name])["prompt_tokens_per_query"]
    return {
        "config": asdict(config),
        "model": {"base_model": model.config.model_name, "memory_layer_positions": model.config.memory_layer_positions,
                  "memory_config": model.config.memory.to_dict()},
        "test_names": {"count": len(test_names), "first": test_names[:10], "disjoint_from_training": True},
        "runtime_seconds": time.time() - started,
        "torch_threads": torch.get_num_threads(),
        "latency_definition": "wall clock of one batched generate call divided by its batch size (retrieval: plus embedding the questions)",
        "rows": rows,
        "costs": costs,
        "seconds_per_run": seconds,
        "records": records,
    }
