"""The benchmark's inputs (full memories, texts and histories of a given size) and its sections, each
timing SEAM against its alternative with interleaved arms (see timing.py)."""

from __future__ import annotations

import itertools
import logging
import random
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..lm.model import MemoryAugmentedModel, UserMemory, trainable_parameters
from ..lm.prompts import Message
from ..memory import MemoryConfig, MemoryState

# The benchmark's only imports from the tasks and from training (the training section's recall task, the
# texts' sentences): kept here together, so a move of either is one edit.
from ..tasks import DISTRACTORS
from ..tasks.mix import TrainingMix
from ..training.trainer import TrainingConfig, training_task
from .config import BenchmarkConfig
from .timing import interleaved, paired_ratio, summary

log = logging.getLogger(__name__)

READ_USER = "bench-read"  # a full memory that is only read
WRITE_USER = "bench-write"  # a full memory that the write arms keep writing (it stays full)
PROMPT = "Can you give me a few tips for a relaxed weekend at home?"
QUESTION = "Based on what I told you before, what should I pack for my trip?"


# -- inputs ---------------------------------------------------------------------------------------------


def decode_floor(memory: MemoryConfig) -> bool | None:
    """The abstain floor of one decode step past the reply's first tokens (MemoryConfig.abstain_floor_positions), as
    the model passes it to a read: False (none there) where the floor is kept to the reply's start; None where it
    applies at every position (or there is none)."""
    return False if memory.abstain_floor_positions else None


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
    """Bytes of the state tensors of a user memory (or of any list of states), as held in RAM."""
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
    # What the reads cost inside generation, per generated token and memory layer (the prefill's reads and the
    # slots' one-off preparation included, so an upper bound): compare the hot microbenchmark of bench_footprint.
    extra = statistics.median(times["seam_read"]) - statistics.median(times["base"])
    out["read_us_per_token_and_layer"] = 1e6 * extra / n / len(model.memory_layers)
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
    """Bytes of one user's memory; cost of one read of prepared slots (a decode step's read) as the slot count grows,
    with its tensors hot in cache (the same read repeated)."""
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
    floor_at = decode_floor(mem_cfg)
    store = mem_cfg.store_slots
    arms, slots_used, state_bytes_of = {}, {}, {}
    for total in cfg.read_slots:
        buffer = max(1, total - store)
        state = filled_state(mem_cfg, generator, model.device, buffer_slots=buffer, store_slots=store)
        slots_used[total] = buffer + store
        state_bytes_of[total] = memory_bytes([state])

        prepared = layer.slots(state)  # as a generate call prepares them once, then every decode step reads them

        def read(prepared=prepared):
            with torch.no_grad():
                for _ in range(cfg.reads_per_timing):
                    layer.read(prepared, hidden, floor_at=floor_at)

        arms[f"read_{total}"] = read
    times = interleaved(arms, cfg.repeats, cfg.warmup, desc="read scaling")
    layers = len(model.memory_layers)
    scaling = []
    for total in cfg.read_slots:
        us = 1e6 * statistics.median(times[f"read_{total}"]) / cfg.reads_per_timing
        row = {
            "slots": slots_used[total],
            "state_bytes_per_layer": state_bytes_of[total],
            "us_per_read": us,
            "us_per_token": us * layers,
            "repeats": len(times[f"read_{total}"]),
            "reads_per_sample": cfg.reads_per_timing,
        }
        if base_seconds_per_token:
            row["fraction_of_base_token_time"] = us * layers / (1e6 * base_seconds_per_token)
        scaling.append(row)
    return {"footprint": footprint, "read_scaling": scaling, "read_scaling_discarded_rounds": times.discarded_rounds}


def bench_training(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> dict:
    """Training examples/s: the loss's forward + backward + clipped AdamW step on episodes of train.py's
    default task (the memory benchmark's training mix: pasts of 1-9 conversations, a quarter of them general
    questions matched to the frozen model by KL).

    The memory weights are restored afterwards, so training here never changes what is measured elsewhere.
    """
    B = cfg.train_batch_size
    tconf = TrainingConfig(batch_size=B)
    saved = {name: p.detach().clone() for name, p in trainable_parameters(model).items()}
    params = list(trainable_parameters(model).values())
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    task = training_task(model, tconf)
    items = TrainingMix("train", seed=cfg.seed).episodes(B * (cfg.train_steps + cfg.warmup), seed=cfg.seed)
    batches = itertools.cycle([items[i : i + B] for i in range(0, len(items), B)])  # a retried round reuses a batch
    task.bare_reply_tokens([e.question for e in items if e.expect == "general"])  # computed once per question in training too

    def step() -> None:
        loss, _ = task(next(batches))
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
            "discarded_rounds": timings.discarded_rounds, "task": "memory (train.py's default mix)"}


def bench_profile(model: MemoryAugmentedModel, cfg: BenchmarkConfig) -> tuple[dict, str]:
    """torch.profiler tables (self CPU time) of generate(): base, SEAM reads, SEAM reads + write; of one read; of
    remember(). The model labels each memory read 'seam.memory_read' (one per memory layer per forward call) and
    each layer's write 'seam.memory_write', so the tables show what memory costs inside the whole call."""
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
    floor_at = decode_floor(model.config.memory)
    reads = 100

    def one_read_many_times() -> None:
        # Direct calls, outside the model's forward: labelled here as the model labels its reads.
        with torch.no_grad():
            for _ in range(reads):
                with torch.profiler.record_function("seam.memory_read"):
                    layer.read(state, hidden, floor_at=floor_at)

    runs["memory_read_x100"] = one_read_many_times
    turn = text_of_tokens(model, max(cfg.write_tokens), seed=cfg.seed + 1)
    runs["remember"] = lambda: model.remember(turn, user=WRITE_USER)
    watched = ("aten::cat", "aten::log", "aten::masked_fill", "aten::layer_norm", "aten::scaled_dot_product_attention",
               "aten::linear", "aten::item", "aten::_local_scalar_dense", "aten::copy_", "aten::argsort", "aten::sort",
               "aten::log_softmax", "aten::tanh", "aten::zeros", "aten::new_zeros", "seam.memory_read", "seam.memory_write")
    sections, results = [], {}
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
            "tables sorted by self CPU time. 'seam.memory_read' labels each memory layer's read (one per forward call), "
            "'seam.memory_write' each layer's write (their CPU total includes the ops inside).\n\n" + "\n\n".join(sections))
    return results, text


