#!/usr/bin/env python
"""Which memory layer's read turns a told fact into "You haven't told me ..."? A diagnosis, nothing trained.

    .venv/bin/python scripts/refusal_probe.py                      # validation split, about 3 minutes here
    .venv/bin/python scripts/refusal_probe.py --output results/design/refusal_probe.md

Plays the validation split's single-fact episodes (the user's name and every trained kind, the selection rows'
sizes) through the shipped checkpoint, keeps the ones SEAM answers with a refusal although the fact was told, and
asks each again with one memory layer's read switched off (its output gate at 0), then with only that layer
reading. A layer whose read, switched off, turns refusals into the told value is where the refusal comes from; a
layer that alone still refuses is enough to cause it. The validation split only: nothing here touches the test
split (whose never-trained kinds fail the same way, mostly by refusing).
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from tqdm.auto import tqdm

from seam.lm import ExperimentConfig, MemoryAugmentedModel
from seam.tasks.scoring import abstains, mentions
from seam.tasks.suite import SuiteBuilder
from seam.training.trainer import SELECTION_SIZES

ROWS = ("fact: name", "fact: trained kinds")


@contextmanager
def reading_only(model: MemoryAugmentedModel, positions: set[str]) -> Iterator[None]:
    """Within the block only the memory layers at `positions` read (the others' output gates at 0)."""
    saved = {p: layer.gate.detach().clone() for p, layer in model.memory_layers.items()}
    try:
        with torch.no_grad():
            for p, layer in model.memory_layers.items():
                if p not in positions:
                    layer.gate.zero_()
        yield
    finally:
        with torch.no_grad():
            for p, layer in model.memory_layers.items():
                layer.gate.copy_(saved[p])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (default smollm2-135m)")
    p.add_argument("--seed", type=int, default=0, help="seed of the validation items (default 0)")
    p.add_argument("--max-new-tokens", type=int, default=24, help="reply length (default 24, as the benchmark's fact rows)")
    p.add_argument("--output", default=None, help="also write the Markdown report here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(model_name=args.model))
    runs = [run for run in SuiteBuilder("val", SELECTION_SIZES, seed=args.seed).single_facts() if run.key in ROWS]
    episodes = [ep for run in runs for ep in run.episodes]
    positions = list(model.memory_layers)
    arms = {"all layers read": set(positions)}
    arms.update({f"layer {q} off": set(positions) - {q} for q in positions})
    arms.update({f"only layer {q}": {q} for q in positions})
    arms["no layer reads"] = set()

    def ask(ep, readers: set[str]) -> str:
        with reading_only(model, readers):
            reply, _ = model.generate(ep.question, user=ep.user, update_memory=False, max_new_tokens=args.max_new_tokens)
        return reply

    refused, hits, kinds, asked, asked_refused = [], 0, Counter(), Counter(), Counter()
    for ep in tqdm(episodes, desc="told facts"):
        model.clear_memory(ep.user)
        for turn in ep.turns:  # single-fact episodes: one statement, no time passing
            model.remember(turn, user=ep.user)
        reply = ask(ep, arms["all layers read"])
        hits += mentions(reply, ep.expected)
        asked[ep.question] += 1
        if abstains(reply):
            asked_refused[ep.question] += 1
            refused.append((ep, reply))
            kinds[ep.meta.get("kind", "?")] += 1
        else:
            model.users.drop([ep.user])
    outcome: dict[str, Counter] = {name: Counter() for name in arms}
    examples: dict[str, list[str]] = {name: [] for name in arms}
    for ep, first in tqdm(refused, desc="refusals, layer by layer"):
        for name, readers in arms.items():
            reply = first if name == "all layers read" else ask(ep, readers)
            result = "told value" if mentions(reply, ep.expected) else "refusal" if abstains(reply) else "other"
            outcome[name][result] += 1
            if len(examples[name]) < 3 and name != "all layers read":
                examples[name].append(f"{ep.turns[0]} -> {ep.question} -> {reply!r}")
        model.users.drop([ep.user])
    n = len(refused)
    lines = [f"Refusals of told facts on the validation split (single-fact rows {', '.join(ROWS)}, selection sizes, seed "
             f"{args.seed}), {args.model}'s shipped checkpoint: {n} of {len(episodes)} episodes refused ({hits} recalled); by "
             "kind: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()) + ".", "",
             "Each refused episode asked again with some memory layers' reads switched off (output gate 0):", "",
             "| readers | told value | still a refusal | something else |", "|---|---|---|---|"]
    for name in arms:
        c = outcome[name]
        lines.append(f"| {name} | {c['told value']} / {n} | {c['refusal']} / {n} | {c['other']} / {n} |")
    lines += ["", "Refusals by question (refused / asked; every question asked at least twice):", "",
              "| question | refused |", "|---|---|"]
    for question, total in sorted(asked.items(), key=lambda qt: (-asked_refused[qt[0]] / qt[1], qt[0])):
        if total >= 2:
            lines.append(f"| {question} | {asked_refused[question]} / {total} |")
    lines += ["", "Replies (first three per arm):", ""]
    for name in arms:
        if examples[name]:
            lines.append(f"- {name}: " + "; ".join(examples[name]))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
