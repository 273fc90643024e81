"""What memory adds to one batched generate call, in-process, replies of equal length.

    python bench/write_overhead.py --users 16        # about a minute here
    python bench/write_overhead.py --users 16 --distinct   # each user a different message, as the load benchmark sends

Three arms on the same users, interleaved over rounds (medians): the bare base model, reading memory, and
reading plus writing the turn (as `seam serve` does: a memory directory, each file flushed to disk). Every
reply is exactly --tokens long (min_new_tokens), so the ratios compare the same work; `seam serve`'s load
benchmark (bench/serve_load.py) compares replies as the model ends them. Each user first says --past-turns
of the load benchmark's messages (its users hold about 12 by its end), so reads see a memory of that size.
Where the written message's surprisal goes through the bf16 head (`ExperimentConfig.surprisal_bf16`, automatic
on hardware with native bf16), a fourth arm writes with the float32 head instead, in the same rounds.
Also times the parts of a turn that only memory pays (commit's share: pack_owners, every user's file and the
memory as the files hold it, from one pass over the batch; save_file_atomic, writing one file, on the writer
threads).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import seam.lm.users as users_module
from seam.lm import MemoryAugmentedModel
from seam.serve.load import MESSAGES, NAMES

QUESTION = "Can you suggest a good book to read this weekend?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1, help="users in the batch (default 1)")
    p.add_argument("--tokens", type=int, default=16, help="reply length, forced (default 16, as the load benchmark)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--past-turns", type=int, default=12, help="turns each user says before the timed ones (default 12)")
    p.add_argument("--distinct", action="store_true",
                   help="in the timed turns each user says a different load-benchmark message (unequal lengths, as in "
                        "bench/serve_load.py) instead of one question for all")
    args = p.parse_args()
    torch.manual_seed(0)
    model = MemoryAugmentedModel.from_pretrained()
    model.users.memory_dir = Path(tempfile.mkdtemp(prefix="seam-write-overhead-"))
    users = [f"user{i}" for i in range(args.users)]
    for k in range(args.past_turns):
        texts = [MESSAGES[(k + i) % len(MESSAGES)].format(name=NAMES[i % len(NAMES)]) for i in range(len(users))]
        model.generate(texts, user=users, max_new_tokens=4)
    model.base.generation_config.min_new_tokens = args.tokens
    parts: dict[str, list[float]] = {}
    arm_suffix = [""]  # the float32-surprisal arm's parts are timed apart
    timed_parts = ((model, "message_surprisal"), (model, "write_captured"), (model.users, "commit"), (model.users, "stack"),
                   (users_module, "pack_owners"), (users_module, "save_file_atomic"))
    for owner, name in timed_parts:
        original = getattr(owner, name)

        def timed(*a, _original=original, _name=name, **k):
            start = time.perf_counter()
            out = _original(*a, **k)
            parts.setdefault(_name + arm_suffix[0], []).append(time.perf_counter() - start)
            return out

        setattr(owner, name, timed)
    arms = {"bare model": dict(use_memory=False, update_memory=False), "memory read": dict(update_memory=False),
            "memory read + turn written": {}}
    bf16 = model.surprisal_bf16
    if bf16:
        arms["... float32 surprisal"] = {}
    times: dict[str, list[float]] = {a: [] for a in arms}
    for r in range(args.rounds):
        texts = ([MESSAGES[(r + i) % len(MESSAGES)].format(name=NAMES[i % len(NAMES)]) for i in range(len(users))] if args.distinct
                 else [QUESTION] * len(users))
        for arm, kwargs in arms.items():
            fp32 = arm == "... float32 surprisal"
            model.surprisal_bf16 = bf16 and not fp32
            arm_suffix[0] = " (float32 surprisal)" if fp32 else ""
            start = time.perf_counter()
            model.generate(texts, user=users, max_new_tokens=args.tokens, **kwargs)
            times[arm].append(time.perf_counter() - start)
    model.surprisal_bf16 = bf16
    base = statistics.median(times["bare model"])
    fill = model.memory_stats(users[0])
    used = ", ".join(f"{k} {v['buffer_used']}+{v['store_used']}" for k, v in fill.items())
    said = "a different load-benchmark message each" if args.distinct else "one question for all"
    print(f"{args.users} user(s) ({said}), {args.past_turns} past turns (slots used by the first, buffer+store: {used}), "
          f"{args.tokens}-token replies, {torch.get_num_threads()} torch threads, medians of {args.rounds} rounds:")
    for arm, values in times.items():
        t = statistics.median(values)
        print(f"  {arm:28s} {1000 * t:8.0f} ms  {t / base:.3f}x")
    for name, values in parts.items():
        print(f"  {name:28s} {1000 * statistics.median(values):8.1f} ms (median per call)")


if __name__ == "__main__":
    main()
