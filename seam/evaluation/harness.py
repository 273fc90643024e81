"""The evaluation harness: every system on the same held-out episodes, scored by real greedy generation.

Tasks (seam.tasks.episodes builds the episodes; seam.tasks.player plays them):
  recall        introduction, context cleared, question
  retention     introduction, k unrelated conversations, question (k = 0 is `recall`; one pass asks
                after 0, 1, 5 and 20, as asking never changes what a system keeps; on retention_items
                recall episodes of their own, the expensive part of the harness)
  decay         introduction, n decay cycles, question (n = 0 is `recall`; on `items` other recall episodes)
  correction    a name stated in several conversations, corrected once; the new name must win
  multi_user    groups of users talking in turns; each must get their own name and no one else's
  facts         city, pet's name, favourite colour, job, each stated once
  unrelated     introduction, then an unrelated question: a hit is a reply that is not "Your name is ..."
                (a memory trained on names only may answer everything with the name)

Costs per system: prompt tokens per query (from generate's info), latency per query (wall clock of a
batched generate call divided by its batch size; retrieval includes embedding the question), write time
per remembered message, and bytes held per user.

The baselines ask the frozen model without memory, whose greedy reply depends only on the prompt: a
prompt already answered (the no-memory question after any number of distractors or decay cycles, the
retrieval prompt when it holds the whole history) is answered from the first reply (`reused`), with
that reply's latency. SEAM's answers depend on each user's memory and are always generated.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from ..lm.model import MemoryAugmentedModel
from ..tasks.data import SplitSizes, split_names
from ..tasks.episodes import (
    FACT_KINDS,
    correction_episodes,
    fact_episodes,
    multi_user_episodes,
    recall_episodes,
    unrelated_question_episodes,
)
from ..tasks.player import TaskRun, asked, run_episodes
from ..tasks.scoring import NAME_FRAME
from .systems import BareAnswers, InContextSystem, NoMemorySystem, RetrievalSystem, SeamSystem, SentenceEncoderLike, System

log = logging.getLogger(__name__)

SYSTEMS = ("seam", "no-memory", "in-context", "retrieval")
TASKS = ("recall", "retention", "decay", "correction", "multi_user", "facts", "unrelated")


@dataclass
class EvalConfig:
    """What one evaluation run does."""

    items: int = 100
    """Episodes of the decay and multi-user tasks (the recall row holds these and the retention episodes)."""
    systems: tuple[str, ...] = SYSTEMS
    """Systems compared (comma-separated subset of seam, no-memory, in-context, retrieval)."""
    tasks: tuple[str, ...] = TASKS
    """Tasks run (comma-separated subset of recall, retention, decay, correction, multi_user, facts, unrelated)."""
    retention_distractors: tuple[int, ...] = (0, 1, 5, 20)
    """Unrelated conversations between the introduction and the question."""
    retention_items: int = 100
    """Recall episodes that go on to the retention asks. The expensive part of the harness: SEAM writes
    max(retention_distractors) more conversations per user, the in-context baseline replays them all
    in a ~800-token prompt."""
    correction_items: int = 100
    """Correction episodes (each writes reinforcements + 1 conversations)."""
    fact_items: int = 25
    """Episodes per fact kind (4 kinds: 100 in all; facts are beyond SEAM's training, a side table)."""
    unrelated_items: int = 100
    """Episodes of the side-effect check: an unrelated question after an introduction."""
    reply_tokens: int = 12
    """Length cap of the model's replies replayed by the in-context and retrieval baselines."""
    long_history_items: int = 10
    """The in-context baseline is asked after max(retention_distractors) conversations on only this many
    episodes: each is a ~1,000-token prompt, most of the harness's time at 50 (accuracy at 5 is already low)."""
    decay_cycles: tuple[int, ...] = (0, 10, 50)
    """Decay cycles between the introduction and the question."""
    correction_reinforcements: int = 3
    """Conversations stating the initial name before the single correction."""
    group_size: int = 4
    """Users per interleaved group in the multi-user task."""
    fact_kinds: tuple[str, ...] = tuple(FACT_KINDS)
    """Fact kinds of the facts task."""
    retrieval_top_k: int = 3
    """Past messages the retrieval baseline puts in the prompt."""
    batch_size: int = 50
    """Users per batched generate / remember call (about: batches are balanced and never split a user group)."""
    max_new_tokens: int = 12
    """Reply length (greedy tokens) of every answer."""
    seed: int = 0
    """Seed of the episodes (names, phrasings, distractors, fact values)."""
    name_split: dict[str, int] = field(default_factory=lambda: SplitSizes().to_dict())
    """split_names() arguments of the training run (SplitSizes.of_checkpoint); the test names are what the
    evaluation asks about."""

    def __post_init__(self) -> None:
        self.systems, self.tasks = tuple(self.systems), tuple(self.tasks)
        unknown = [s for s in self.systems if s not in SYSTEMS] + [t for t in self.tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"Unknown system or task: {', '.join(unknown)}. Systems: {', '.join(SYSTEMS)}; tasks: {', '.join(TASKS)}.")
        bad_kinds = [k for k in self.fact_kinds if k not in FACT_KINDS]
        if bad_kinds:
            raise ValueError(f"Unknown fact kind(s) {', '.join(bad_kinds)}; known: {', '.join(FACT_KINDS)}.")
        for name in ("items", "retention_items", "correction_items", "fact_items", "unrelated_items", "reply_tokens", "long_history_items",
                     "batch_size", "max_new_tokens", "retrieval_top_k", "group_size", "correction_reinforcements"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if any(k < 0 for k in self.retention_distractors) or any(c < 0 for c in self.decay_cycles):
            raise ValueError("Distractor counts and decay cycles must be >= 0.")
        # Distinct test names each run of build_runs draws (the recall run also holds the retention episodes).
        recall_names = self.items + (self.retention_items if "retention" in self.tasks and any(self.retention_distractors) else 0)
        needed = {("recall", "retention", "decay"): recall_names, ("correction",): self.correction_items, ("multi_user",): self.items,
                  ("facts",): self.fact_items, ("unrelated",): self.unrelated_items}
        available = self.name_split.get("num_test")
        for tasks, n in needed.items():
            if available is not None and set(tasks) & set(self.tasks) and n > available:
                raise ValueError(f"The {'/'.join(tasks)} task needs {n} distinct test names, "
                                 f"but the checkpoint's test split holds {available}: "
                                 "ask for fewer items (--items, --retention-items, --correction-items, --fact-items, --unrelated-items).")
        if "multi_user" in self.tasks and self.items % self.group_size:
            raise ValueError(f"items ({self.items}) must be a multiple of group_size ({self.group_size}) for the multi-user task.")


def build_runs(config: EvalConfig, test_names: list[str]) -> list[TaskRun]:
    n, seed = config.items, config.seed
    runs: list[TaskRun] = []
    if {"recall", "retention", "decay"} & set(config.tasks):
        ks = sorted(k for k in config.retention_distractors if k > 0) if "retention" in config.tasks else []
        cycles = sorted(c for c in config.decay_cycles if c > 0) if "decay" in config.tasks else []
        rows = {"recall": "name recall after a context clear",
                **{f"retention k={k}": f"retention: {k} unrelated conversation{'s' * (k > 1)} in between" for k in ks},
                **{f"decay {c}": f"recall after {c} decay cycles" for c in cycles}}
        retention = config.retention_items if ks else 0
        runs.append(TaskRun("recall", rows, recall_episodes(test_names, retention + n, seed, tuple(ks), retention, tuple(cycles))))
    if "correction" in config.tasks:
        runs.append(TaskRun("correction", {"correction": f"correction after {config.correction_reinforcements} reinforcements "
                                                         "(old name in reply = miss)"},
                            correction_episodes(test_names, config.correction_items, seed + 1, config.correction_reinforcements)))
    if "multi_user" in config.tasks:
        runs.append(TaskRun("multi_user", {"multi_user": f"{config.group_size} users interleaved (another user's name = miss)"},
                            multi_user_episodes(test_names, n, seed + 2, config.group_size)))
    if "facts" in config.tasks:
        for j, kind in enumerate(config.fact_kinds):
            runs.append(TaskRun(f"facts {kind}", {f"facts {kind}": f"fact stated once: {kind}"},
                                fact_episodes(kind, test_names, config.fact_items, seed + 3 + j)))
    if "unrelated" in config.tasks:
        # Only a memory can answer an unrelated question with the name: the bare model is the reference.
        runs.append(TaskRun("unrelated", {"unrelated": "unrelated question after an introduction: reply not \"Your name is ...\""},
                            unrelated_question_episodes(test_names, config.unrelated_items, seed + 7), systems=("seam", "no-memory")))
    return runs


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
        out["retrieved_the_fact"] = sum(r["expected"] is not None and any(r["expected"] in t for t in r["retrieved"]) for r in records) / n
    out["reused_answers"] = sum(r["reused"] for r in records)
    out["name_frame_share"] = sum(NAME_FRAME.match(r["reply"]) is not None for r in records) / n if n else float("nan")
    out["leak_share"] = sum(r["leaks"] for r in records) / n if n else float("nan")
    return out


def build_systems(config: EvalConfig, model: MemoryAugmentedModel, encoder: SentenceEncoderLike | None = None) -> list[System]:
    """The configured systems; the baselines share one BareAnswers (a prompt is answered once)."""
    answers = BareAnswers(model, config.reply_tokens)
    systems: list[System] = []
    for name in config.systems:
        if name == "seam":
            systems.append(SeamSystem(model))
        elif name == "no-memory":
            systems.append(NoMemorySystem(model, answers))
        elif name == "in-context":
            systems.append(InContextSystem(model, answers))
        else:
            if encoder is None:
                from ..lm.sentence_encoder import load_encoder

                encoder = load_encoder()
            systems.append(RetrievalSystem(model, encoder, config.retrieval_top_k, answers))
    return systems


def evaluate(model: MemoryAugmentedModel, config: EvalConfig, encoder: SentenceEncoderLike | None = None) -> dict:
    """Run every task of the names suite on every system; returns the results dict (rows, costs and every record)."""
    started = time.time()
    split = split_names(**config.name_split)
    test_names = split.test
    leaked = set(test_names) & set(split.train)
    if leaked:
        raise RuntimeError(f"Test names overlap the training names: {sorted(leaked)[:5]}.")
    runs = build_runs(config, test_names)
    # The in-context baseline replays a history of k conversations (and the model's replies) in every
    # prompt: it asks on about long_history_items * max(k) / k episodes of a retention row (10 at k=20,
    # 40 at k=5), about the same prompt tokens per row.
    k_max = max(config.retention_distractors)
    lengths = {f"retention k={k}": k for k in config.retention_distractors if k > 0}
    lengths["correction"] = config.correction_reinforcements + 1
    in_context = {row: max(config.long_history_items, config.long_history_items * k_max // k) for row, k in lengths.items()}
    for run in runs:
        run.limits = {"in-context": {row: n for row, n in in_context.items() if row in run.rows}}
    systems = build_systems(config, model, encoder)
    played = play(runs, systems, config.batch_size, config.max_new_tokens)
    longest = f"retention k={k_max}"
    return {
        "config": asdict(config),
        "model": model_summary(model),
        "test_names": {"count": len(test_names), "first": test_names[:10], "disjoint_from_training": True},
        "runtime_seconds": time.time() - started,
        **results_of(runs, systems, played, cost_rows=("recall", longest), reply_tokens=config.reply_tokens),
    }


@dataclass
class Played:
    """What playing runs through systems gave: every record, by system and row, and seconds per run."""

    records: dict[str, dict[str, list[dict]]]
    seconds: dict[str, dict[str, float]]
    bare: BareAnswers | None


def play(runs: list[TaskRun], systems: list[System], batch_size: int, max_new_tokens: int) -> Played:
    """Every run through every system it is for (the one loop of every evaluation suite), with a progress bar.

    The baselines that replay past conversations get the bare model's replies to every past message first,
    in full batches. A run's own max_new_tokens and per-system limits apply."""
    bare = next((s.answers for s in systems if not isinstance(s, SeamSystem)), None)
    to_run = [(run, s) for run in runs for s in systems if run.systems is None or s.name in run.systems]
    replaying = [s for s in systems if isinstance(s, (InContextSystem, RetrievalSystem))]
    if replaying:
        past = []
        for run, s in to_run:
            if s in replaying:
                allowed = asked(run.episodes, run.limits.get(s.name))
                past += [t for e in run.episodes if allowed[e.user] for t in e.turns if isinstance(t, str)]
        bare.reply_to(past, batch_size, progress=True)
    total = sum(min(sum(row in e.asks.values() for e in run.episodes), run.limits.get(s.name, {}).get(row, len(run.episodes)))
                for run, s in to_run for row in run.rows)
    records: dict[str, dict[str, list[dict]]] = {s.name: {} for s in systems}
    seconds: dict[str, dict[str, float]] = {s.name: {} for s in systems}
    with tqdm(total=total, desc="evaluation", unit="answer") as bar:
        for run, system in to_run:
            bar.set_postfix_str(f"{run.key} / {system.name}")
            start = time.time()
            with torch.no_grad():
                recs = run_episodes(system, run.episodes, batch_size, run.max_new_tokens or max_new_tokens, bar.update,
                                    run.limits.get(system.name))
            seconds[system.name][run.key] = time.time() - start
            for row in run.rows:
                records[system.name][row] = [r for r in recs if r["row"] == row]
                summary = summarise(records[system.name][row])
                log.info("%-16s %-11s accuracy %.3f (%d/%d), %.0f prompt tokens, %.1f ms/query", row, system.name, summary["accuracy"],
                         summary["hits"], summary["n"], summary["prompt_tokens_per_query"], summary["latency_ms_per_query"])
            log.info("%s / %s took %.1f s", run.key, system.name, seconds[system.name][run.key])
    if bare is not None:
        log.info("Replies to %d distinct past messages (replayed by the baselines) took %.1f s.", len(bare.replies), bare.reply_seconds)
    return Played(records, seconds, bare)


def model_summary(model: MemoryAugmentedModel) -> dict:
    return {"base_model": model.config.model_name, "memory_layer_positions": model.config.memory_layer_positions,
            "memory_config": model.config.memory.to_dict()}


def results_of(runs: list[TaskRun], systems: list[System], played: Played, cost_rows: tuple[str, ...], reply_tokens: int) -> dict:
    """Rows (a summary per system), costs per system (overall and on `cost_rows`) and every record."""
    records, seconds, bare = played.records, played.seconds, played.bare
    rows = []
    for run in runs:
        for key, label in run.rows.items():
            ran = [s for s in systems if key in records[s.name]]
            if not ran:
                continue
            row = {"key": key, "task": run.key, "label": label, "n": max(summarise(records[s.name][key])["n"] for s in ran), "systems": {}}
            for system in ran:
                row["systems"][system.name] = summarise(records[system.name][key])
            rows.append(row)
    cost_keys = ("prompt_tokens_per_query", "latency_ms_per_query", "memory_bytes_per_user", "memory_bytes_used_per_user")
    costs = {}
    for system in systems:
        ran = [r for recs in records[system.name].values() for r in recs]
        costs[system.name] = summarise(ran) | {"seconds": sum(seconds[system.name].values()), "rows": {}}
        for key in cost_rows:
            if records[system.name].get(key):
                summary = summarise(records[system.name][key])
                costs[system.name]["rows"][key] = {k: summary[k] for k in cost_keys if k in summary}
    return {
        "torch_threads": torch.get_num_threads(),
        "latency_definition": "wall clock of one batched generate call divided by its batch size (retrieval: plus embedding the "
                              "questions); a reused answer carries the latency of the call that generated it",
        "rows": rows,
        "costs": costs,
        "seconds_per_run": seconds,
        "replayed_replies": {"count": len(bare.replies), "seconds": bare.reply_seconds, "max_tokens": reply_tokens} if bare else None,
        "records": records,
    }
