"""Performance benchmark: what SEAM's memory costs per token, per turn and per user, against the alternatives.

Every comparison runs in one process with its arms interleaved (A, B, A, B, ...): a noisy machine then
slows both arms alike. Each arm reports the median of its repeats, and each comparison the median of the
per-round paired ratios, with the number of repeats. Sections:

- generation: tokens/s of greedy decoding, the bare model vs SEAM reading a full memory (and writing).
- write: one remembered user turn vs a reply; the marginal cost of update_memory inside generate().
- history: a question after N earlier tokens: SEAM (fixed-size memory, no history in the prompt) vs
  the whole history in the prompt (in-context), up to the model's context limit.
- footprint: bytes of one user's memory, vs the KV cache of the history it stands in for; how a memory
  read grows with the slot count.
- training: recall-task examples per second (RecallLoss forward + backward + AdamW step).
- profile: torch.profiler tables of the generation path (base, SEAM reads, SEAM reads + write, one read).

Costs do not depend on what the memory holds, only on its size, so memories are filled directly with
random slots at their configured size (a user's steady state: every slot in use).
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import math
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from .lm.base_models import DEFAULT_BASE_MODEL
from .lm.config import ExperimentConfig
from .lm.model import MemoryAugmentedModel, UserMemory, trainable_parameters
from .lm.prompts import Message
from .memory import DualMemoryLayer, MemoryConfig, MemoryState
from .training.data import DISTRACTORS, make_items, split_names
from .training.trainer import TrainingConfig, recall_task

log = logging.getLogger(__name__)

READ_USER = "bench-read"  # a full memory that is only read
WRITE_USER = "bench-write"  # a full memory that the write arms keep writing (it stays full)
PROMPT = "Can you give me a few tips for a relaxed weekend at home?"
QUESTION = "Based on what I told you before, what should I pack for my trip?"
TARGETS = {"generation_speed_ratio": 0.95, "write_fraction": 0.10}


@dataclass
class BenchmarkConfig:
    """What `python bench/run.py` measures; the defaults run in under 10 minutes on 2 CPU cores."""

    model_name: str = DEFAULT_BASE_MODEL
    """Base model (bundled name, HF folder or .gguf)."""
    pretrained: bool = True
    """Use the shipped trained memory weights when they exist (cost does not depend on them)."""
    threads: int | None = None
    """torch intra-op threads (None: torch's default); recorded in the results either way."""
    repeats: int = 5
    """Timed rounds of each interleaved comparison (generation, write, reads, training use this)."""
    warmup: int = 1
    """Untimed rounds before each comparison."""
    new_tokens: int = 64
    """Greedy new tokens per generation (forced: end-of-sequence is suppressed)."""
    reply_tokens: int = 32
    """Length of the reply a write is compared with, and of the answers in the history comparison."""
    write_tokens: tuple[int, ...] = (32, 256)
    """Lengths of the user turns written to memory."""
    history_tokens: tuple[int, ...] = (1024, 4096, 16384)
    """Earlier-conversation sizes; a size beyond the model's context is reported as not possible in-context."""
    history_at_context_limit: bool = True
    """Also measure the largest history that fits the context (8k for SmolLM2)."""
    history_repeats: int = 3
    """Most rounds per history size ..."""
    history_seconds: float = 45.0
    """... but no new round once a size has taken this long (long prompts get 1-2 rounds)."""
    read_slots: tuple[int, ...] = (384, 4096, 32768)
    """Total slots (buffer + store) for the read-cost scaling; the store keeps its configured size."""
    reads_per_timing: int = 40
    """Reads per timed sample in the read scaling (a single read is tens of microseconds)."""
    train_steps: int = 3
    train_batch_size: int = 8
    profile_tokens: int = 32
    profile_rows: int = 25
    seed: int = 0
    output_dir: str = "bench/results"

    def __post_init__(self) -> None:
        for name in ("repeats", "new_tokens", "reply_tokens", "history_repeats", "reads_per_timing", "train_steps",
                     "train_batch_size", "profile_tokens", "profile_rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"BenchmarkConfig.{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"BenchmarkConfig.warmup must be an integer >= 0, got {self.warmup!r}.")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"BenchmarkConfig.threads must be a positive integer or None, got {self.threads!r}.")
        for name in ("write_tokens", "history_tokens", "read_slots"):
            values = tuple(getattr(self, name))
            if not values or not all(isinstance(v, int) and v >= 1 for v in values):
                raise ValueError(f"BenchmarkConfig.{name} must be a non-empty list of positive integers, got {values!r}.")
            setattr(self, name, values)


# -- timing ---------------------------------------------------------------------------------------------
@dataclass
class Timings:
    """Seconds per arm, one per kept round, and how many rounds were discarded for contention."""

    seconds: dict[str, list[float]]
    discarded_rounds: int = 0

    def __getitem__(self, arm: str) -> list[float]:
        return self.seconds[arm]


def interleaved(
    arms: dict[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    max_seconds: float | None = None,
    desc: str = "",
    contention_limit: float | None = 0.05,
    max_retries: int | None = None,
) -> Timings:
    """Time each arm once per round, arms in turn (A, B, A, B, ...); returns seconds per arm, per round.

    A round during which other processes used more than `contention_limit` of the machine's CPUs is
    discarded and run again (at most max_retries times, default `repeats`): on a shared machine a
    neighbour's burst would otherwise land in one arm only. With max_seconds, no new round starts once the timed rounds have taken that
    long (at least one runs). Garbage collection is paused while an arm runs.
    """
    for _ in range(warmup):
        for fn in arms.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in arms}
    retries = repeats if max_retries is None else max_retries
    discarded = 0
    start = time.perf_counter()
    bar = tqdm(total=repeats, desc=desc, leave=False, unit="round")
    while len(next(iter(times.values()))) < repeats:
        round_start, cpu0 = time.perf_counter(), _cpu_seconds()
        sample = {}
        for name, fn in arms.items():
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                sample[name] = time.perf_counter() - t0
            finally:
                gc.enable()
        others = _others_share(cpu0, time.perf_counter() - round_start)
        if contention_limit is not None and others > contention_limit and discarded < retries:
            discarded += 1
            log.info("%s: discarded a round, other processes used %.0f%% of the CPUs", desc, 100 * others)
        else:
            for name, seconds in sample.items():
                times[name].append(seconds)
            bar.update(1)
        if max_seconds is not None and time.perf_counter() - start > max_seconds and times[name]:
            break
    bar.close()
    return Timings(times, discarded)


def summary(seconds: list[float]) -> dict:
    """Median, min and max of one arm's samples (seconds), and how many there were."""
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds), "repeats": len(seconds)}


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator/denominator: drift that hits both arms of a round cancels."""
    return statistics.median(n / d for n, d in zip(numerator, denominator))


# -- inputs ---------------------------------------------------------------------------------------------
def filled_state(config: MemoryConfig, generator: torch.Generator, device: torch.device | str = "cpu",
                 buffer_slots: int | None = None, store_slots: int | None = None) -> MemoryState:
    """One owner's state with every buffer and store slot in use (random contents, realistic bookkeeping)."""
    sizes = {k: v for k, v in (("buffer_slots", buffer_slots), ("store_slots", store_slots)) if v is not None}
    if sizes:
        config = MemoryConfig.from_dict({**config.to_dict(), **sizes})
    s = MemoryState.empty(config, 1)
    Nb, Ns, D = config.buffer_slots, config.store_slots, config.width
    clock = 1000
    s = s.replace(
        buffer_keys=torch.randn(1, Nb, D, generator=generator),
        buffer_values=torch.randn(1, Nb, D, generator=generator),
        buffer_strength=torch.rand(1, Nb, generator=generator) * 0.9 + 0.1,  # (B, Nb) faded to various degrees
        buffer_step=torch.randint(0, clock, (1, Nb), generator=generator),
        store_keys=torch.randn(1, Ns, D, generator=generator),
        store_values=torch.randn(1, Ns, D, generator=generator),
        store_importance=torch.rand(1, Ns, generator=generator) * 3 + 1,
        store_used=torch.ones(1, Ns, dtype=torch.bool),
        store_step=torch.randint(0, clock, (1, Ns), generator=generator),
        store_usage=torch.ones(1, Ns, dtype=torch.long),
        surprise_mean=torch.full((1,), 3.0),
        surprise_var=torch.full((1,), 4.0),
        surprise_count=torch.full((1,), clock * 20, dtype=torch.long),
        clock=torch.full((1,), clock, dtype=torch.long),
        buffer_tags=torch.randint(0, 50_000, (1, Nb), generator=generator),
        store_tags=torch.randint(0, 50_000, (1, Ns), generator=generator),
    )
    return s.to(device)


def full_memory(model: MemoryAugmentedModel, seed: int = 0) -> UserMemory:
    """A user memory at the model's configured size with every slot in use, one state per memory layer."""
    generator = torch.Generator().manual_seed(seed)
    return [filled_state(layer.config, generator, model.device) for layer in model.memory_layers.values()]


def text_of_tokens(model: MemoryAugmentedModel, n_tokens: int, seed: int = 0) -> str:
    """Ordinary chat text that the model's tokenizer encodes in about n_tokens tokens."""
    rng = random.Random(seed)
    tok = model.tokenizer
    ids: list[int] = []
    while len(ids) < n_tokens + 8:
        sentences = list(DISTRACTORS)
        rng.shuffle(sentences)
        ids = tok(" ".join([tok.decode(ids), *sentences]).strip(), add_special_tokens=False)["input_ids"]
    return tok.decode(ids[:n_tokens]).strip()


def history_of_tokens(model: MemoryAugmentedModel, n_tokens: int, question: str, seed: int = 0) -> tuple[list[Message], int]:
    """Earlier conversation (user turns of ~200 tokens, short assistant replies) taking about n_tokens
    prompt tokens before `question`. Returns the history and its exact size in prompt tokens.

    Turns are sized one at a time (rendering is additive per message up to a token at the seams), so a
    16k-token history costs one full render, not one per turn."""

    def size(history: list[Message]) -> int:
        return len(model.render_prompt(history, question).input_ids) - base

    base = len(model.render_prompt([], question).input_ids)
    reply = {"role": "assistant", "content": "Okay, noted."}
    overhead = size([{"role": "user", "content": "x"}, reply])
    history: list[Message] = []
    total, turn = 0, 0
    while n_tokens - total > overhead:
        text = text_of_tokens(model, min(200, n_tokens - total - overhead + 1), seed=seed * 100_003 + turn)
        pair = [{"role": "user", "content": text}, reply]
        total += size(pair)
        history += pair
        turn += 1
    return history, size(history)


def largest_fitting_history(model: MemoryAugmentedModel, question: str, reserve: int) -> int:
    """History size (tokens) of the longest earlier conversation the model's context still takes."""
    base = len(model.render_prompt([], question).input_ids)
    return model.max_context - reserve - base


def memory_bytes(memory: UserMemory) -> int:
    return sum(t.nbytes for state in memory for t in state.tensors().values())


def kv_cache_bytes_per_token(model: MemoryAugmentedModel) -> int:
    """Bytes the base model's KV cache holds per token of context: keys and values of every layer."""
    cfg = model.base.config.get_text_config()
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    element = next(model.base.parameters()).element_size()
    return 2 * cfg.num_hidden_layers * heads * head_dim * element


@contextmanager
def forced_length(model: MemoryAugmentedModel, n_tokens: int) -> Iterator[None]:
    """Within the block generate(max_new_tokens=n_tokens) produces exactly n_tokens tokens: EOS is suppressed."""
    gc_config = model.base.generation_config
    old = gc_config.min_new_tokens
    gc_config.min_new_tokens = n_tokens
    try:
        yield
    finally:
        gc_config.min_new_tokens = old


def _generate(model: MemoryAugmentedModel, text: str, n_tokens: int, user: str = READ_USER, **kwargs) -> dict:
    """generate() of exactly n_tokens new tokens; returns its info."""
    with forced_length(model, n_tokens):
        _, info = model.generate(text, user=user, max_new_tokens=n_tokens, **kwargs)
    return info


def _check_length(info: dict, n_tokens: int, what: str) -> None:
    if info["new_tokens"] != n_tokens:
        log.warning("%s generated %d tokens instead of %d (forcing the length failed?)", what, info["new_tokens"], n_tokens)


# -- a read with its memory-side tensors prepared once (the fix the profile suggests) -------------------
def prepared_read_inputs(layer: DualMemoryLayer, state: MemoryState) -> tuple[Tensor, Tensor, Tensor]:
    """Keys, values (B, H, N+1, D/H) and mask (B, 1, 1, N+1) with the null slot, as MemoryCrossAttention
    builds them on every call; they depend only on the state, so one generate() could build them once."""
    B, H = state.batch_size, layer.attention.num_heads
    keys = torch.cat([state.buffer_keys.new_zeros(B, 1, state.buffer_keys.shape[-1]), state.buffer_keys, state.store_keys], 1)
    values = torch.cat([state.buffer_values.new_zeros(B, 1, state.buffer_values.shape[-1]), state.buffer_values, state.store_values], 1)
    bias = torch.cat([state.buffer_strength.new_zeros(B, 1), layer.buffer.read_bias(state), layer.store.read_bias(state)], 1)
    k = keys.view(B, keys.shape[1], H, -1).transpose(1, 2)  # (B, H, N+1, D/H)
    v = values.view(B, values.shape[1], H, -1).transpose(1, 2)
    return k, v, bias[:, None, None, :]


def prepared_read(layer: DualMemoryLayer, prepared: tuple[Tensor, Tensor, Tensor], hidden: Tensor) -> Tensor:
    """The same result as layer.read(state, hidden), from prepared_read_inputs: per token only the query
    projection, one attention and the output projection remain."""
    k, v, mask = prepared
    attention = layer.attention
    B, T, _ = hidden.shape
    q = attention.query_proj(attention.query_norm(hidden)).view(B, T, attention.num_heads, -1).transpose(1, 2)  # (B, H, T, D/H)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return hidden + torch.tanh(layer.gate) * attention.out_proj(out.transpose(1, 2).reshape(B, T, -1))


# -- sections -------------------------------------------------------------------------------------------
def bench_generation(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> dict:
    """Greedy tokens/s: the bare model, SEAM reading a full memory, SEAM reading and writing the turn."""
    n = cfg.new_tokens
    arms = {
        "base": lambda: _generate(model, PROMPT, n, use_memory=False, update_memory=False),
        "seam_read": lambda: _generate(model, PROMPT, n, update_memory=False),
        "seam_read_write": lambda: _generate(model, PROMPT, n, user=WRITE_USER, update_memory=True),
    }
    for name, fn in arms.items():  # also the first warm-up round
        _check_length(fn(), n, f"generation/{name}")
    times = interleaved(arms, cfg.repeats, max(0, cfg.warmup - 1), desc="generation")
    out = {"new_tokens": n, "prompt_tokens": len(model.prepare([PROMPT]).input_ids[0]), "discarded_rounds": times.discarded_rounds}
    for name, ts in times.seconds.items():
        out[name] = {**summary(ts), "tokens_per_s": n / statistics.median(ts)}
    out["seam_read_speed_ratio"] = paired_ratio(times["base"], times["seam_read"])
    out["seam_read_write_speed_ratio"] = paired_ratio(times["base"], times["seam_read_write"])
    return out


def bench_writes(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> dict:
    """remember() of one user turn vs generating a reply to it; generate with vs without update_memory."""
    n = cfg.reply_tokens
    messages = {length: text_of_tokens(model, length, seed=cfg.seed + length) for length in cfg.write_tokens}
    arms: dict[str, Callable[[], object]] = {}
    for length, text in messages.items():
        arms[f"reply_{length}"] = lambda text=text: _generate(model, text, n, user=WRITE_USER, update_memory=False)
        arms[f"reply_update_{length}"] = lambda text=text: _generate(model, text, n, user=WRITE_USER, update_memory=True)
        arms[f"remember_{length}"] = lambda text=text: model.remember(text, user=WRITE_USER)
    written = {length: model.remember(text, user=WRITE_USER)[0]["tokens_written"] for length, text in messages.items()}
    times = interleaved(arms, cfg.repeats, cfg.warmup, desc="writes")
    out: dict = {"reply_tokens": n, "discarded_rounds": times.discarded_rounds, "turns": []}
    for length in messages:
        reply, update, remember = times[f"reply_{length}"], times[f"reply_update_{length}"], times[f"remember_{length}"]
        out["turns"].append({
            "message_tokens": written[length],
            "reply": summary(reply),
            "reply_with_update": summary(update),
            "remember": summary(remember),
            "remember_fraction_of_reply": paired_ratio(remember, reply),
            "update_marginal_fraction": paired_ratio(update, reply) - 1.0,
            "update_marginal_ms": 1000 * (statistics.median(update) - statistics.median(reply)),
        })
    stats = model.memory_stats(WRITE_USER)
    out["memory_after_writes"] = {k: {"buffer": v["buffer_used"], "store": v["store_used"]} for k, v in stats.items()}
    return out


def bench_history(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> dict:
    """A question after N earlier tokens: SEAM with its fixed-size memory vs the whole history in the prompt."""
    n = cfg.reply_tokens
    sizes = list(cfg.history_tokens)
    limit = largest_fitting_history(model, QUESTION, reserve=n) - 4  # a margin for tokens merging at turn seams
    if cfg.history_at_context_limit and limit > 0 and limit not in sizes:
        sizes.append(limit)
    rows = []
    for size in tqdm(sorted(sizes), desc="history sizes", leave=False):
        history, actual = history_of_tokens(model, size, QUESTION, seed=cfg.seed + size)
        row: dict = {"requested_tokens": size, "history_tokens": actual, "at_context_limit": size == limit}
        try:
            model.prepare([QUESTION], [history], reserve=n)
        except ValueError as err:
            row["in_context_possible"] = False
            row["in_context_error"] = str(err)
            times = interleaved({"seam": lambda: _generate(model, QUESTION, n, update_memory=False)},
                                cfg.history_repeats, warmup=0, max_seconds=cfg.history_seconds, desc=f"history {size}", max_retries=1)
        else:
            row["in_context_possible"] = True
            arms = {
                "seam": lambda: _generate(model, QUESTION, n, update_memory=False),
                "in_context": lambda h=history: _generate(model, QUESTION, n, history=h, use_memory=False, update_memory=False),
            }
            times = interleaved(arms, cfg.history_repeats, warmup=0, max_seconds=cfg.history_seconds, desc=f"history {size}",
                                max_retries=1)
            row["in_context"] = summary(times["in_context"])
            row["in_context_over_seam"] = paired_ratio(times["in_context"], times["seam"])
            row["prompt_tokens_in_context"] = len(model.prepare([QUESTION], [history]).input_ids[0])
        row["seam"] = summary(times["seam"])
        row["discarded_rounds"] = times.discarded_rounds
        rows.append(row)
        log.info("history %d tokens: %s", actual, {k: v for k, v in row.items() if k not in ("in_context_error",)})
    return {"reply_tokens": n, "max_context": model.max_context, "largest_fitting_history": limit,
            "kv_cache_bytes_per_token": kv_cache_bytes_per_token(model), "sizes": rows}


def bench_footprint(model: MemoryAugmentedModel, cfg: BenchmarkConfig, base_seconds_per_token: float | None) -> dict:
    """Bytes of one user's memory; cost of one read as the slot count grows (current and prepared read)."""
    memory = model.memory_of(READ_USER)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "user.safetensors"
        model.save_memory(path, READ_USER)
        file_bytes = path.stat().st_size
    mem_cfg = model.config.memory
    per_token_kv = kv_cache_bytes_per_token(model)
    state_bytes = memory_bytes(memory)
    footprint = {
        "memory_layers": len(memory),
        "buffer_slots": mem_cfg.buffer_slots,
        "store_slots": mem_cfg.store_slots,
        "memory_dim": mem_cfg.width,
        "state_bytes": state_bytes,
        "state_bytes_per_layer": memory_bytes(memory[:1]),
        "file_bytes": file_bytes,
        "kv_cache_bytes_per_token": per_token_kv,
        "in_context_tokens_of_same_size": state_bytes / per_token_kv,
        "kv_cache_bytes": {str(n): n * per_token_kv for n in cfg.history_tokens},
    }

    layer = next(iter(model.memory_layers.values()))
    generator = torch.Generator().manual_seed(cfg.seed)
    hidden = torch.randn(1, 1, mem_cfg.hidden_dim, generator=generator).to(model.device)  # (B, T, C): one decode step
    store = mem_cfg.store_slots
    arms, slots_used, state_bytes_of = {}, {}, {}
    for total in cfg.read_slots:
        buffer = max(1, total - store)
        state = filled_state(mem_cfg, generator, model.device, buffer_slots=buffer, store_slots=store)
        prepared = prepared_read_inputs(layer, state)
        slots_used[total] = buffer + store
        state_bytes_of[total] = memory_bytes([state])

        def read(state=state):
            with torch.no_grad():
                for _ in range(cfg.reads_per_timing):
                    layer.read(state, hidden)

        def read_prepared(prepared=prepared):
            with torch.no_grad():
                for _ in range(cfg.reads_per_timing):
                    prepared_read(layer, prepared, hidden)

        arms[f"read_{total}"], arms[f"prepared_{total}"] = read, read_prepared
    times = interleaved(arms, cfg.repeats, cfg.warmup, desc="read scaling")
    layers = len(model.memory_layers)
    scaling = []
    for total in cfg.read_slots:
        us = 1e6 * statistics.median(times[f"read_{total}"]) / cfg.reads_per_timing
        us_prepared = 1e6 * statistics.median(times[f"prepared_{total}"]) / cfg.reads_per_timing
        row = {
            "slots": slots_used[total],
            "state_bytes_per_layer": state_bytes_of[total],
            "us_per_read": us,
            "us_per_token": us * layers,
            "us_per_read_prepared": us_prepared,
            "us_per_token_prepared": us_prepared * layers,
            "prepared_speedup": paired_ratio(times[f"read_{total}"], times[f"prepared_{total}"]),
            "repeats": len(times[f"read_{total}"]),
            "reads_per_sample": cfg.reads_per_timing,
        }
        if base_seconds_per_token:
            row["fraction_of_base_token_time"] = us * layers / (1e6 * base_seconds_per_token)
        scaling.append(row)
    return {"footprint": footprint, "read_scaling": scaling, "read_scaling_discarded_rounds": times.discarded_rounds}


def bench_training(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> dict:
    """Recall-task examples/s: RecallLoss forward + backward + clipped AdamW step, episodes and batch as
    train.py's defaults (0-2 distractors, 25 % corrections, unrelated questions with silence targets).

    The memory weights are restored afterwards, so training here never changes what is measured elsewhere.
    """
    B = cfg.train_batch_size
    tconf = TrainingConfig(batch_size=B)
    saved = {name: p.detach().clone() for name, p in trainable_parameters(model).items()}
    params = list(trainable_parameters(model).values())
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    task, silence = recall_task(model, tconf)
    names = split_names(B * (cfg.train_steps + cfg.warmup), 1, 1, seed=cfg.seed).train
    items = make_items(names, heldout_phrasings=False, seed=cfg.seed, max_distractors=tconf.max_distractors,
                       correction_fraction=tconf.correction_fraction)
    batches = itertools.cycle([items[i : i + B] for i in range(0, len(items), B)])  # a retried round reuses a batch

    def step() -> None:
        loss, _, _ = task(next(batches), list(range(silence)))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()

    try:
        timings = interleaved({"step": step}, cfg.train_steps, cfg.warmup, desc="training", max_retries=1)
        times = timings["step"]
    finally:
        with torch.no_grad():
            for name, p in trainable_parameters(model).items():
                p.copy_(saved[name])
    return {"batch_size": B, "step": summary(times), "examples_per_s": B / statistics.median(times),
            "discarded_rounds": timings.discarded_rounds,
            "distractors_per_episode": f"0-{tconf.max_distractors} (as train.py)", "unrelated_questions_per_step": silence}


@contextmanager
def labelled_memory_ops(model: MemoryAugmentedModel) -> Iterator[None]:
    """Profiler labels 'seam.memory_read' / 'seam.memory_write' around each memory layer's read and write
    (instance attributes that shadow the methods, removed on exit)."""

    def labelled(fn: Callable, label: str) -> Callable:
        def call(*args, **kwargs):
            with torch.profiler.record_function(label):
                return fn(*args, **kwargs)

        return call

    for layer in model.memory_layers.values():
        layer.read = labelled(layer.read, "seam.memory_read")
        layer.write = labelled(layer.write, "seam.memory_write")
    try:
        yield
    finally:
        for layer in model.memory_layers.values():
            del layer.read, layer.write


def bench_profile(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> tuple[dict, str]:
    """torch.profiler tables (self CPU time) of generate(): base, SEAM reads, SEAM reads + write; and of one read."""
    from torch.profiler import ProfilerActivity, profile

    n = cfg.profile_tokens
    runs = {
        "base": lambda: _generate(model, PROMPT, n, use_memory=False, update_memory=False),
        "seam_read": lambda: _generate(model, PROMPT, n, update_memory=False),
        "seam_read_write": lambda: _generate(model, PROMPT, n, user=WRITE_USER, update_memory=True),
    }
    layer = next(iter(model.memory_layers.values()))
    state = model.memory_of(READ_USER)[0]
    hidden = torch.randn(1, 1, model.config.memory.hidden_dim, device=model.device)
    reads = 100

    def one_read_many_times() -> None:
        with torch.no_grad():
            for _ in range(reads):
                layer.read(state, hidden)

    runs["memory_read_x100"] = one_read_many_times
    turn = text_of_tokens(model, max(cfg.write_tokens), seed=cfg.seed + 1)
    runs["remember"] = lambda: model.remember(turn, user=WRITE_USER)
    watched = ("aten::cat", "aten::log", "aten::masked_fill", "aten::layer_norm", "aten::scaled_dot_product_attention",
               "aten::linear", "aten::item", "aten::_local_scalar_dense", "aten::copy_", "aten::argsort", "aten::sort",
               "aten::log_softmax", "aten::tanh", "aten::zeros", "aten::new_zeros", "seam.memory_read", "seam.memory_write")
    sections, results = [], {}
    with labelled_memory_ops(model):
        for name, fn in tqdm(runs.items(), desc="profile", leave=False):
            fn()  # warm
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                fn()
            averages = prof.key_averages()
            by_key = {e.key: e for e in averages}
            total_us = sum(e.self_cpu_time_total for e in averages)
            results[name] = {
                "self_cpu_total_ms": total_us / 1000,
                "ops": {k: {"calls": by_key[k].count, "self_cpu_ms": by_key[k].self_cpu_time_total / 1000,
                            "cpu_total_ms": by_key[k].cpu_time_total / 1000} for k in watched if k in by_key},
                "top_self_cpu": [{"op": e.key, "calls": e.count, "self_cpu_ms": e.self_cpu_time_total / 1000}
                                 for e in sorted(averages, key=lambda e: -e.self_cpu_time_total)[:10]],
            }
            label = {"memory_read_x100": f"{reads} reads of a (1, 1, C) query, default memory size",
                     "remember": f"remember() of one {max(cfg.write_tokens)}-token user turn into a full memory"}.get(name, f"{n} new tokens")
            sections.append(f"==== {name} ({label}) ====\n"
                            + averages.table(sort_by="self_cpu_time_total", row_limit=cfg.profile_rows))
    for name, p in results.items():
        for op in ("read", "write"):
            timed = p["ops"].get(f"seam.memory_{op}")
            if timed:
                p[f"memory_{op}_share_of_cpu"] = timed["cpu_total_ms"] / p["self_cpu_total_ms"]
        if name in ("seam_read", "seam_read_write"):
            p["memory_read_calls_per_token"] = p["ops"]["seam.memory_read"]["calls"] / n
    text = (f"torch.profiler, CPU, {torch.get_num_threads()} threads; model {model.config.model_name}; "
            "tables sorted by self CPU time. 'seam.memory_read' / 'seam.memory_write' label DualMemoryLayer.read / .write "
            "(their CPU total includes the ops inside).\n\n" + "\n\n".join(sections))
    return results, text


# -- the whole run --------------------------------------------------------------------------------------
def load_model(cfg: BenchmarkConfig) -> tuple[MemoryAugmentedModel, str]:
    """The shipped trained model if asked for and present, else untrained memory layers (same cost)."""
    config = ExperimentConfig(model_name=cfg.model_name)
    if cfg.pretrained:
        try:
            return MemoryAugmentedModel.from_pretrained(config), str(MemoryAugmentedModel.pretrained_checkpoint(cfg.model_name))
        except FileNotFoundError as err:
            log.warning("%s Benchmarking untrained memory layers (costs are the same).", err)
    return MemoryAugmentedModel(config), "untrained"


def environment(model: MemoryAugmentedModel, cfg: BenchmarkConfig, checkpoint: str) -> dict:
    import transformers

    text_cfg = model.base.config.get_text_config()
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model.config.model_name,
        "checkpoint": checkpoint,
        "base_layers": text_cfg.num_hidden_layers,
        "hidden_size": text_cfg.hidden_size,
        "memory_layer_positions": model.config.memory_layer_positions,
        "memory_config": model.config.memory.to_dict(),
        "max_context": model.max_context,
        "device": str(model.device),
        "dtype": str(next(model.base.parameters()).dtype),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "config": asdict(cfg),
    }


def run_benchmark(model: MemoryAugmentedModel, cfg: BenchmarkConfig, checkpoint: str = "given") -> dict:
    """All sections on `model`; returns the results (write them with write_results)."""
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    results: dict = {"environment": environment(model, cfg, checkpoint), "seconds": {}, "load_average": {"start": _load()},
                     "other_processes_cpu_share": {}}
    if results["load_average"]["start"] > 0.5:
        log.warning("The machine is busy (1-minute load average %.2f before starting): other processes share the cores, "
                    "so absolute speeds will be low and noisy; the interleaved ratios are still comparable.",
                    results["load_average"]["start"])
    memory = full_memory(model, cfg.seed)
    model.memories[READ_USER] = memory
    model.memories[WRITE_USER] = [s.clone() for s in memory]
    sections: list[tuple[str, Callable[[], object]]] = [
        ("generation", lambda: bench_generation(model, cfg)),
        ("write", lambda: bench_writes(model, cfg)),
        ("history", lambda: bench_history(model, cfg)),
        ("memory", lambda: bench_footprint(model, cfg, 1 / results["generation"]["base"]["tokens_per_s"])),
        ("profile", lambda: bench_profile(model, cfg)),
        ("training", lambda: bench_training(model, cfg)),
    ]
    start = time.perf_counter()
    try:
        for name, fn in tqdm(sections, desc="benchmark", unit="section"):
            t0, cpu0 = time.perf_counter(), _cpu_seconds()
            log.info("section %s ...", name)
            out = fn()
            if name == "profile":
                results["profile"], results["profile_text"] = out
            elif name == "memory":
                results.update(out)
            else:
                results[name] = out
            results["seconds"][name] = time.perf_counter() - t0
            results["load_average"][name] = _load()
            others = results["other_processes_cpu_share"][name] = _others_share(cpu0, results["seconds"][name])
            log.info("section %s done in %.1f s (other processes used %.0f%% of the CPUs)", name, results["seconds"][name], 100 * others)
            if others > 0.05:
                log.warning("Other processes used %.0f%% of the CPUs during section %s: its timings are noisy.", 100 * others, name)
    finally:
        for user in (READ_USER, WRITE_USER):
            model.memories.pop(user, None)
    results["seconds"]["total"] = time.perf_counter() - start
    results["targets"] = targets(results)
    return results


def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process) so far; nan without /proc/stat."""
    own = sum(os.times()[:2])
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), own
    except (OSError, ValueError):
        return math.nan, own


def _others_share(start: tuple[float, float], wall: float) -> float:
    """Share of the machine's CPU time that other processes used since `start` (0: the benchmark ran alone)."""
    busy, own = _cpu_seconds()
    return max(0.0, (busy - start[0]) - (own - start[1])) / (wall * (os.cpu_count() or 1))


def _load() -> float:
    """1-minute load average (this process included once it runs); -1 where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return -1.0


def targets(results: dict) -> dict:
    """The issue's targets, each with the measured value and whether it is met."""
    out = {}
    ratio = results["generation"]["seam_read_speed_ratio"]
    out["generation_seam_read_speed"] = {"target": f">= {TARGETS['generation_speed_ratio']} of base", "value": ratio,
                                         "met": ratio >= TARGETS["generation_speed_ratio"]}
    for turn in results["write"]["turns"]:
        n = turn["message_tokens"]
        for key, what in (("remember_fraction_of_reply", "remember"), ("update_marginal_fraction", "update_marginal")):
            value = turn[key]
            out[f"write_{what}_{n}_tokens"] = {"target": f"< {TARGETS['write_fraction']:.0%} of a reply", "value": value,
                                                "met": value < TARGETS["write_fraction"]}
    return out


# -- reporting ------------------------------------------------------------------------------------------
def _ms(seconds: float) -> str:
    return f"{1000 * seconds:,.0f} ms" if seconds >= 0.01 else f"{1000 * seconds:.2f} ms"


def _mark(met: bool) -> str:
    return "met" if met else "NOT met"


def markdown_report(results: dict) -> str:
    """The Markdown tables of bench/results/benchmark.md."""
    env, gen, write, hist = results["environment"], results["generation"], results["write"], results["history"]
    mem, scaling, train, prof = results["footprint"], results["read_scaling"], results["training"], results["profile"]
    t = results["targets"]
    lines = [
        "# SEAM performance benchmark",
        "",
        f"{env['model']} ({env['base_layers']} layers, hidden {env['hidden_size']}), memory layers at "
        f"{env['memory_layer_positions']}, checkpoint: {env['checkpoint']}; {env['device']}, {env['dtype']}, "
        f"{env['torch_threads']} torch threads ({env['cpu_count']} CPUs); torch {env['torch']}, transformers "
        f"{env['transformers']}; {env['date_utc']}. Arms interleaved in one process; medians of n rounds; ratios are "
        f"medians of per-round paired ratios. Memories full: {mem['buffer_slots']} buffer + {mem['store_slots']} store "
        f"slots per layer. Total {results['seconds']['total']:.0f} s. CPU share used by other processes during each "
        "section (0% = the benchmark ran alone): "
        + ", ".join(f"{k} {v:.0%}" for k, v in results["other_processes_cpu_share"].items()) + ".",
        "",
        "## Summary",
        "",
        "| measurement | SEAM | alternative | ratio | target | n |",
        "|---|---|---|---|---|---|",
        f"| generation, {gen['new_tokens']} greedy tokens | {gen['seam_read']['tokens_per_s']:.1f} tok/s (reads) | "
        f"{gen['base']['tokens_per_s']:.1f} tok/s (base) | {gen['seam_read_speed_ratio']:.3f}x | >= 0.95x: "
        f"{_mark(t['generation_seam_read_speed']['met'])} | {gen['base']['repeats']} |",
        f"| generation, reads + write of the turn | {gen['seam_read_write']['tokens_per_s']:.1f} tok/s | "
        f"{gen['base']['tokens_per_s']:.1f} tok/s (base) | {gen['seam_read_write_speed_ratio']:.3f}x | - | "
        f"{gen['seam_read_write']['repeats']} |",
    ]
    for turn in write["turns"]:
        n = turn["message_tokens"]
        lines.append(
            f"| write a {n}-token turn (remember) | {_ms(turn['remember']['median_s'])} | "
            f"{_ms(turn['reply']['median_s'])} ({write['reply_tokens']}-token reply) | "
            f"{turn['remember_fraction_of_reply']:.1%} | < 10%: {_mark(t[f'write_remember_{n}_tokens']['met'])} | "
            f"{turn['remember']['repeats']} |"
        )
        lines.append(
            f"| write inside generate, {n}-token message | {turn['update_marginal_ms']:+.0f} ms "
            f"({_ms(turn['reply_with_update']['median_s'])}) | {_ms(turn['reply']['median_s'])} (update_memory=False) | "
            f"{turn['update_marginal_fraction']:+.1%} | < 10%: {_mark(t[f'write_update_marginal_{n}_tokens']['met'])} | "
            f"{turn['reply']['repeats']} |"
        )
    for row in hist["sizes"]:
        size = f"{row['history_tokens']:,}" + (" (context limit)" if row["at_context_limit"] else "")
        if row["in_context_possible"]:
            lines.append(
                f"| query after {size} earlier tokens | {_ms(row['seam']['median_s'])} | "
                f"{_ms(row['in_context']['median_s'])} (in-context) | in-context {row['in_context_over_seam']:.2f}x SEAM's time | - | "
                f"{row['seam']['repeats']} |"
            )
        else:
            lines.append(
                f"| query after {size} earlier tokens | {_ms(row['seam']['median_s'])} | not possible in-context "
                f"(context {hist['max_context']:,}) | - | - | {row['seam']['repeats']} |"
            )
    lines += [
        f"| memory per user | {mem['state_bytes'] / 2**20:.2f} MiB ({mem['file_bytes'] / 2**20:.2f} MiB file) | "
        f"KV cache {mem['kv_cache_bytes_per_token'] / 1024:.0f} KiB/token | = {mem['in_context_tokens_of_same_size']:.0f} "
        f"tokens of context | - | - |",
        f"| training, batch {train['batch_size']} | {train['examples_per_s']:.2f} examples/s | "
        f"{_ms(train['step']['median_s'])}/step | - | - | {train['step']['repeats']} |",
        "",
        "## Read cost by memory size (one DualMemoryLayer.read of a (1, 1, C) query)",
        "",
        f"| slots | state bytes / layer | us / read | us / token ({mem['memory_layers']} layers) | share of base token time | "
        "prepared read (us) | speed-up | n |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in scaling:
        share = f"{row['fraction_of_base_token_time']:.2%}" if "fraction_of_base_token_time" in row else "-"
        lines.append(
            f"| {row['slots']:,} | {row['state_bytes_per_layer'] / 2**20:.2f} MiB | {row['us_per_read']:.0f} | "
            f"{row['us_per_token']:.0f} | {share} | {row['us_per_read_prepared']:.0f} | {row['prepared_speedup']:.1f}x | "
            f"{row['repeats']} x {row['reads_per_sample']} |"
        )
    lines += ["", "'prepared read': the same read with keys, values and mask built once per memory state instead of on "
              "every call (see profile_generate.txt).", "", "## History: time per query (prompt + answer)", "",
              "| earlier tokens | SEAM | in-context | in-context / SEAM | KV cache of the history | n |", "|---|---|---|---|---|---|"]
    for row in hist["sizes"]:
        kv = row["history_tokens"] * hist["kv_cache_bytes_per_token"] / 2**20
        ic = _ms(row["in_context"]["median_s"]) if row["in_context_possible"] else "over the context limit"
        ratio = f"{row['in_context_over_seam']:.1f}x" if row["in_context_possible"] else "-"
        lines.append(f"| {row['history_tokens']:,} | {_ms(row['seam']['median_s'])} | {ic} | {ratio} | {kv:,.0f} MiB | "
                     f"{row['seam']['repeats']} |")
    lines += ["", "## Profile (self CPU time per generate call)", "",
              "| run | total | in memory reads | in memory writes | reads / token | cat calls |", "|---|---|---|---|---|---|"]
    for name, p in prof.items():
        shares = []
        for op in ("read", "write"):
            timed = p["ops"].get(f"seam.memory_{op}")
            shares.append(f"{timed['cpu_total_ms']:.0f} ms ({p[f'memory_{op}_share_of_cpu']:.1%})" if timed else "-")
        per_token = f"{p['memory_read_calls_per_token']:.2f}" if "memory_read_calls_per_token" in p else "-"
        cats = p["ops"].get("aten::cat", {}).get("calls", 0)
        lines.append(f"| {name} | {p['self_cpu_total_ms']:.0f} ms | {shares[0]} | {shares[1]} | {per_token} | {cats} |")
    lines.append("")
    return "\n".join(lines)


def write_results(results: dict, output_dir: str | Path) -> dict[str, Path]:
    """benchmark.json, benchmark.md and profile_generate.txt in output_dir; returns their paths."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "benchmark.json", "markdown": out / "benchmark.md", "profile": out / "profile_generate.txt"}
    data = {k: v for k, v in results.items() if k != "profile_text"}
    paths["json"].write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    paths["markdown"].write_text(markdown_report(results))
    paths["profile"].write_text(results.get("profile_text", ""))
    return paths


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def main_from_config(cfg: BenchmarkConfig) -> tuple[dict, dict[str, Path]]:
    """Load the model, run every section, write the results (what bench/run.py calls)."""
    model, checkpoint = load_model(cfg)
    try:
        results = run_benchmark(model, cfg, checkpoint)
    finally:
        model.detach()
    return results, write_results(results, cfg.output_dir)


__all__ = [
    "BenchmarkConfig",
    "filled_state",
    "full_memory",
    "interleaved",
    "load_model",
    "main_from_config",
    "markdown_report",
    "paired_ratio",
    "prepared_read",
    "prepared_read_inputs",
    "run_benchmark",
    "write_results",
]
