"""The memory benchmark: what people actually tell an assistant, SEAM and the alternatives side by side.

Items come from seam.tasks.suite (test split: values, phrasings and three whole kinds of facts that
training never sees); every system plays the same episodes through seam.tasks.player and is scored by
seam.tasks.scoring. Beyond the rows' accuracies this module adds what only a whole run can say:

- no harm: the general questions are scored only on those the bare model answers right, so a miss is
  an answer memory spoiled; SEAM's next-token distribution is compared with the bare model's on general
  prompts (mean per-token KL divergence over the bare model's own replies, realistic memory loaded);
- breakdowns of rows by fact kind, name style, confusable pair, correction phrasing and where the message says its value;
- told facts answered "not told" (the reverse of abstention), and confusions (the other value named);
- the worst misses of each row, to read rather than count.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from ..lm.model import MemoryAugmentedModel
from ..lm.prompts import continuation_batch, render_reply
from ..tasks import general
from ..tasks.player import steps
from ..tasks.scoring import mentions_any
from ..tasks.suite import CATEGORIES, GENERAL_ROW, GENERAL_ROWS, LOADED, SuiteBuilder, SuiteSizes
from .harness import SYSTEMS, build_systems, model_summary, play, results_of, summarise
from .systems import SentenceEncoderLike

log = logging.getLogger(__name__)

VALUE_ROWS_PREFIX = ("fact:",)
"""Rows whose told-fact answers count towards "told facts answered 'not told'"."""


@dataclass
class MemoryBenchConfig:
    """What one run of the memory benchmark does."""

    systems: tuple[str, ...] = SYSTEMS
    """Systems compared (comma-separated subset of seam, no-memory, in-context, retrieval)."""
    categories: tuple[str, ...] = CATEGORIES
    """Categories run (comma-separated subset of fact, binding, retention, update, abstention, no_harm, isolation, names_v1)."""
    quick: bool = False
    """About a tenth of the items, SEAM and the bare model only: a few minutes, for inner loops of training work."""
    sizes: SuiteSizes = field(default_factory=SuiteSizes)
    """Episodes per category (SuiteSizes; --quick replaces it with SuiteSizes.quick())."""
    kl_prompts: int = 30
    """General prompts on which SEAM's next-token distribution is compared with the bare model's (0: skip)."""
    kl_tokens: int = 32
    """Reply tokens (the bare model's greedy reply) over which the KL divergence is averaged."""
    reply_tokens: int = 12
    """Length cap of the model's replies replayed by the in-context and retrieval baselines."""
    retrieval_top_k: int = 3
    """Past messages the retrieval baseline puts in the prompt."""
    batch_size: int = 50
    """Users per batched generate / remember call."""
    max_new_tokens: int = 16
    """Reply length (greedy tokens) of an answer: room for "You work as an air traffic controller."."""
    misses_shown: int = 5
    """Worst misses listed per row (SEAM's)."""
    seed: int = 0
    """Seed of the items (values, phrasings, unrelated conversations)."""
    split: str = "test"
    """Split the items come from: "test" (the benchmark), or "val" (training's validation, no held-out kinds)."""

    def __post_init__(self) -> None:
        self.systems, self.categories = tuple(self.systems), tuple(self.categories)
        if isinstance(self.sizes, dict):
            self.sizes = SuiteSizes(**self.sizes)
        unknown = [s for s in self.systems if s not in SYSTEMS] + [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"Unknown system or category: {', '.join(unknown)}. Systems: {', '.join(SYSTEMS)}; "
                             f"categories: {', '.join(CATEGORIES)}.")
        if not self.systems or not self.categories:
            raise ValueError("Choose at least one system and one category.")
        if self.split not in ("test", "val"):
            raise ValueError(f"split must be 'test' (the benchmark) or 'val' (training's validation), got {self.split!r}.")
        for name in ("reply_tokens", "retrieval_top_k", "batch_size", "max_new_tokens", "kl_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        for name in ("kl_prompts", "misses_shown"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
        if self.quick:
            if self.sizes != SuiteSizes():
                raise ValueError("--quick sets its own sizes: give either --quick or --sizes.")
            self.sizes = SuiteSizes.quick()
            self.systems = tuple(s for s in self.systems if s in ("seam", "no-memory")) or ("seam",)
            self.kl_prompts = min(self.kl_prompts, 10)


def run_memory_benchmark(model: MemoryAugmentedModel, config: MemoryBenchConfig, encoder: SentenceEncoderLike | None = None) -> dict:
    """Every category on every system, plus the no-harm measures; returns the results (rows, breakdowns,
    costs, misses, every record)."""
    started = time.time()
    runs = SuiteBuilder(config.split, config.sizes, config.seed).runs(config.categories)
    systems = build_systems(config, model, encoder)
    played = play(runs, systems, config.batch_size, config.max_new_tokens)
    results = {
        "suite": "memory",
        "config": asdict(config),
        "model": model_summary(model),
        **results_of(runs, systems, played, cost_rows=("fact: name", f"retention k={max(config.sizes.retention_after)}"),
                     reply_tokens=config.reply_tokens),
    }
    for row, key, where, memory in GENERAL_ROWS:
        if any(r["key"] == row for r in results["rows"]):
            results[key] = general_answers_lost(results, row, f"{where}, " if where else "", memory)
    if "seam" in config.systems and "no_harm" in config.categories and config.kl_prompts:
        results["kl_to_bare"] = kl_to_bare(model, config)
    results["breakdowns"] = breakdowns(results)
    results["told_answered_not_told"] = told_answered_not_told(results)
    results["confusions"] = confusions(results)
    results["worst_misses"] = worst_misses(results, config.misses_shown)
    results["runtime_seconds"] = time.time() - started
    return results


def general_answers_lost(results: dict, key: str = GENERAL_ROW, where: str = "", memory: str = LOADED) -> dict:
    """A general-question row restricted to the questions the bare model answers right (with the same
    conversation before them): each system's accuracy there, and the answers it lost. Replaces the row's
    summaries with the restricted ones."""
    records = results["records"]
    bare = records.get("no-memory", {}).get(key)
    row = next(r for r in results["rows"] if r["key"] == key)
    if not bare:
        row["label"] += " (all questions: the bare model was not run, so none are filtered)"
        return {"filtered": False}
    right = {r["question"] for r in bare if r["hit"]}
    out = {"filtered": True, "candidates": len(bare), "bare_right": len(right), "lost": {}}
    for system, by_row in records.items():
        kept = [r for r in by_row.get(key, []) if r["question"] in right]
        row["systems"][system] = summarise(kept)
        lost = [r for r in kept if not r["hit"]]
        out["lost"][system] = {"n": len(kept), "lost": len(lost), "share": len(lost) / len(kept) if kept else float("nan"),
                               "examples": [{"question": r["question"], "reply": r["reply"]} for r in lost[:5]]}
    row["n"] = len(right)
    row["label"] = f"general questions {where}the bare model answers right ({len(right)} of {len(bare)}){memory}"
    return out


@torch.no_grad()
def kl_to_bare(model: MemoryAugmentedModel, config: MemoryBenchConfig) -> dict:
    """Mean per-token KL(bare || SEAM) of the next-token distributions over the bare model's own greedy
    replies to general prompts, each user's memory holding a realistic past (the same pasts for every
    prompt of a user). 0 means memory leaves the model's answers exactly as they were."""
    prompts = general.general_prompts(config.split)[: config.kl_prompts]
    users = [f"kl-{i}" for i in range(len(prompts))]
    pasts = SuiteBuilder(config.split, config.sizes, config.seed).pasts(len(prompts), "kl")
    try:
        for step in steps(pasts):  # the pasts played turn by turn, as the episode player does (they hold no lapses)
            for start in range(0, len(step.speaking), config.batch_size):
                chunk = step.speaking[start : start + config.batch_size]
                model.remember([pasts[i][step.turn] for i in chunk], user=[users[i] for i in chunk])
        per_token, per_prompt = [], []
        for start in tqdm(range(0, len(prompts), config.batch_size), desc="KL to the bare model", unit="batch"):
            chunk = list(range(start, min(start + config.batch_size, len(prompts))))
            texts = [prompts[i] for i in chunk]
            replies, _ = model.generate(texts, user=[f"kl-bare-{i}" for i in chunk], update_memory=False, use_memory=False,
                                        max_new_tokens=config.kl_tokens)
            reply_ids = [render_reply(model.tokenizer, model.chat_format, r)[: config.kl_tokens] or [model.tokenizer.eos_token_id]
                         for r in replies]
            batch, scored = continuation_batch(model.prepare(texts), reply_ids, model.tokenizer.pad_token_id)
            ids, attn = batch.input_ids, batch.attention_mask
            bare = model(ids, attn, None).logits.float().log_softmax(-1)
            seam = model(ids, attn, model.users.stack([users[i] for i in chunk])).logits.float().log_softmax(-1)
            kl = F.kl_div(seam, bare, log_target=True, reduction="none").sum(-1)  # (B, T): KL(bare || seam) per position
            for j in range(len(chunk)):
                values = kl[j][scored[j]]
                per_token += values.tolist()
                per_prompt.append(float(values.mean()))
    finally:
        model.users.drop(users)
    per_token_tensor = torch.tensor(per_token)
    return {"prompts": len(prompts), "tokens": len(per_token), "mean_kl_per_token": float(per_token_tensor.mean()),
            "median_kl_per_token": float(per_token_tensor.median()), "max_kl_per_token": float(per_token_tensor.max()),
            "share_of_tokens_over_0.1": float((per_token_tensor > 0.1).float().mean()),
            "mean_kl_per_prompt": per_prompt, "reply_tokens": config.kl_tokens,
            "definition": "KL(bare || SEAM) in nats of the next-token distributions at each token of the bare model's greedy "
                          "reply, teacher-forced; SEAM reads a memory holding a realistic past (4 facts over 5 conversations)"}


def teacher_forced(model: MemoryAugmentedModel, question: str, reply: list[int], user: str | None) -> tuple[Tensor, Tensor, Tensor]:
    """One forward pass of `question` (a new conversation) followed by the token ids `reply`, reading `user`'s
    memory (None: none). Returns the logits (1, L, V), the input ids (1, L) and the positions (len(reply),) whose
    logits predict each reply token (the token at position + 1)."""
    batch, predicts = continuation_batch(model.prepare([question]), [reply], model.tokenizer.pad_token_id)
    with torch.no_grad():
        logits = model(batch.input_ids, batch.attention_mask, None if user is None else model.users.stack([user])).logits
    positions = predicts[0].nonzero().squeeze(-1)
    if batch.input_ids[0, positions + 1].tolist() != list(reply):
        raise RuntimeError("the scored positions do not hold the reply's tokens")
    return logits, batch.input_ids, positions


def answer_token_probabilities(model: MemoryAugmentedModel, question: str, answer: str, users: list[str | None]) -> list[dict]:
    """Per token of `answer`, teacher-forced after `question` in a new conversation: its text ("token") and, for
    each user, the probability of that token (row[user]) and the most likely token there (row[f"{user}_top"]).
    A user None reads no memory (the bare model; keys "None" and "None_top"). scripts/answer_probe.py prints it."""
    reply = model.tokenizer(answer, add_special_tokens=False)["input_ids"]
    rows = [{"token": model.tokenizer.decode([t])} for t in reply]
    for user in users:
        logits, _, positions = teacher_forced(model, question, reply, user)
        dist = logits[0, positions].float().softmax(-1)
        for row, target, p in zip(rows, reply, dist):
            row[str(user)] = float(p[target])
            row[f"{user}_top"] = model.tokenizer.decode([int(p.argmax())])
    return rows


def breakdowns(results: dict) -> dict:
    """Per row, accuracy by each metadata key the episodes carry (kind, style, pair, a correction's phrasing, and whether
    the value came first in its message or after its frame), per system."""
    out: dict = {}
    for system, by_row in results["records"].items():
        for row, records in by_row.items():
            for key in ("style", "kind", "pair", "phrasing", "said"):
                groups: dict[str, list[dict]] = {}
                for r in records:
                    if key in r.get("meta", {}):
                        groups.setdefault(r["meta"][key], []).append(r)
                if len(groups) > 1 or (groups and key == "style"):
                    table = out.setdefault(row, {}).setdefault(key, {})
                    for value, recs in sorted(groups.items()):
                        table.setdefault(value, {})[system] = {"n": len(recs), "accuracy": sum(r["hit"] for r in recs) / len(recs)}
    return out


def told_answered_not_told(results: dict) -> dict:
    """Share of told facts (the single-fact rows) that each system answered with an abstention."""
    out = {}
    for system, by_row in results["records"].items():
        told = [r for row, recs in by_row.items() if row.startswith(VALUE_ROWS_PREFIX) for r in recs]
        if told:
            out[system] = {"n": len(told), "share": sum(r.get("abstained", False) for r in told) / len(told)}
    return out


def confusions(results: dict) -> dict:
    """Share of confusable-fact replies that name the other value (the pet's name for the user's, ...)."""
    out = {}
    for system, by_row in results["records"].items():
        recs = by_row.get("confusable", [])
        if recs:
            named = [r for r in recs if mentions_any(r["reply"], r["forbidden"], case_sensitive=False)]
            out[system] = {"n": len(recs), "share": len(named) / len(recs)}
    return out


def worst_misses(results: dict, shown: int) -> dict:
    """The first `shown` misses of each row (SEAM's, or the first system's), as question -> reply."""
    records = results["records"]
    system = "seam" if "seam" in records else next(iter(records), None)
    if system is None:
        return {}
    out = {}
    for row, recs in records[system].items():
        misses = [r for r in recs if not r["hit"]][:shown]
        if misses:
            out[row] = [{"past": r["past"][-3:], "question": r["question"], "expected": r["expected"], "reply": r["reply"]} for r in misses]
    return {"system": system, "rows": out}
