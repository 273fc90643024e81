#!/usr/bin/env python
"""Would a read design option help the shipped checkpoint? A probe without training: switch the option on, set
its one weight by hand, and score the selection rows of the validation split at each setting.

    .venv/bin/python scripts/design_probe.py --option recency_bias --values 0,3,8 --categories retention,update
    .venv/bin/python scripts/design_probe.py --option token_keys --values 0,1,2      # about 6 minutes a value here
    .venv/bin/python scripts/design_probe.py --option abstain_match --values 0,1,4 --checkpoint runs/fit32/fitted.safetensors

- `recency_bias`: every slot's read logit gets -w * log(1 + age), age in written turns (w = value).
- `token_keys`: keys also carry the (normalised) embedding of the token before each item, queries the embedding of
  the token being read at, both times `value` (the channel's scalars, or `value * identity` with `--token-channel
  projection`; the option's own initialisation is 0.5): an induction head's exact chain from one piece of a value
  to the next, untrained.
- `abstain_match`: on a checkpoint whose kind-match score was fitted (results/design/abstain_match/fit_score.py,
  which keeps each layer's temperature T and threshold b in the metadata), the floor under the abstain slot's share
  has odds value * (b - T m) + `--shift`: the trust in the score's log-odds of "never told" (0: the floor off);
  `--layers` keeps the floor to some memory layers (the others read as the source).

Value 0 reads as the checkpoint as shipped (both options then add exactly zero to every logit or key). Uses the rows and sizes that choose
checkpoints (`SELECTION_SIZES`) on the validation split, so nothing here touches the test split. Prints a Markdown
table (SEAM's accuracy per row, the general answers lost, told facts answered "not told") and some misses;
`--output` also writes it.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from seam.evaluation.memory_bench import MemoryBenchConfig, run_memory_benchmark
from seam.lm import MemoryAugmentedModel
from seam.lm.checkpoint import config_for_checkpoint, read_metadata, save_derived_checkpoint
from seam.lm.config import ExperimentConfig
from seam.memory.layer import abstain_match_weights
from seam.tasks.suite import GENERAL_ROWS
from seam.training.trainer import SELECTION_SIZES

OPTIONS = ("recency_bias", "token_keys", "abstain_match")
CATEGORIES = "fact,binding,retention,update,abstention,no_harm"


def probe_model(model_name: str, checkpoint: Path, option: str, token_channel: str = "scale",
                floor_positions: int | None = None) -> MemoryAugmentedModel:
    """The checkpoint loaded with `option` switched on (its new weights at their initialisation; abstain_match's floor
    at `floor_positions`, default the checkpoint's own setting: see MemoryConfig.abstain_floor_positions)."""
    config = config_for_checkpoint(replace(ExperimentConfig(model_name=model_name), memory_layer_positions=None), read_metadata(checkpoint))
    setattr(config.memory, option, True)
    if option == "token_keys":
        config.memory.token_channel = token_channel
    if floor_positions is not None:
        config.memory.abstain_floor_positions = floor_positions
    model = MemoryAugmentedModel(config)
    model.load_checkpoint(checkpoint, new_options=True)
    return model


def floor_where(positions: int) -> str:
    """Where the abstain floor applies, in words (MemoryConfig.abstain_floor_positions)."""
    return "floor at every position" if positions == 0 else f"floor at the reply's first {positions} position(s) only"


def shown_path(path: Path) -> Path:
    """The path relative to the working directory when it is inside it."""
    here = Path.cwd().resolve()
    return path.resolve().relative_to(here) if path.resolve().is_relative_to(here) else path


@torch.no_grad()
def set_weight(model: MemoryAugmentedModel, option: str, value: float, fits: list[dict] | None = None, shift: float = 0.0,
               layers: set[int] | None = None) -> None:
    """Set the option's one weight in every memory layer (abstain_match: the trust in each layer's fitted score `fits`;
    with `layers`, only in those decoder layers, the others' floor off)."""
    for i, (position, layer) in enumerate(model.memory_layers.items()):
        if option == "recency_bias":
            layer.recency.fill_(value)
        elif option == "abstain_match":
            trust = value if layers is None or int(position) in layers else 0.0
            layer.abstain_match_weights.copy_(abstain_match_weights(fits[i]["temperature"], fits[i]["threshold"], trust, shift))
        elif layer.config.token_channel == "scale":
            layer.token_key_scale.fill_(value)
            layer.token_query_scale.fill_(value)
        else:
            eye = torch.eye(layer.token_key_proj.weight.shape[0], device=layer.token_key_proj.weight.device)
            layer.token_key_proj.weight.copy_(value * eye)
            layer.token_query_proj.weight.copy_(value * eye)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--option", choices=OPTIONS, required=True, help="the read design option probed")
    p.add_argument("--values", default="0,1,2", help="the option's weight, comma-separated (default 0,1,2)")
    p.add_argument("--token-channel", choices=("scale", "projection"), default="scale",
                   help="with --option token_keys: the channel's form (see MemoryConfig.token_channel; default scale)")
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (default smollm2-135m)")
    p.add_argument("--checkpoint", default=None, help="SEAM checkpoint (default: the shipped one of --model)")
    p.add_argument("--categories", default=CATEGORIES, help=f"benchmark categories run (default {CATEGORIES})")
    p.add_argument("--shift", type=float, default=0.0, help="with --option abstain_match: added to the floor's odds (default 0)")
    p.add_argument("--floor-positions", type=int, default=None,
                   help="with --option abstain_match: the floor only at the prompt's last position and the reply's first N - 1 tokens "
                        "(MemoryConfig.abstain_floor_positions; 0: every position; default: the checkpoint's, 0 for files from before it)")
    p.add_argument("--layers", default=None, help="with --option abstain_match: comma-separated decoder layers whose floor is set "
                   "(default: every memory layer); the others' floor stays off")
    p.add_argument("--seed", type=int, default=0, help="seed of the validation items (default 0)")
    p.add_argument("--misses", type=int, default=3, help="misses listed per recall row at the first value (default 3)")
    p.add_argument("--output", default=None, help="also write the Markdown table here")
    p.add_argument("--save", default=None, metavar="PATH",
                   help="instead of scoring: save the checkpoint with the option at the (one) value given, in fp16, keeping the "
                        "source checkpoint's metadata (its training config and step) and recording how it was derived")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    values = [float(v) for v in args.values.split(",")]
    path = Path(args.checkpoint) if args.checkpoint else MemoryAugmentedModel.pretrained_checkpoint(args.model)
    shown = shown_path(path)
    if args.floor_positions is not None and args.option != "abstain_match":
        raise SystemExit("--floor-positions is for --option abstain_match.")
    if args.floor_positions is not None and args.floor_positions < 0:
        raise SystemExit(f"--floor-positions must be 0 (every position) or more, got {args.floor_positions}.")
    model = probe_model(args.model, path, args.option, args.token_channel, args.floor_positions)
    fits = None
    if args.option == "abstain_match":
        meta = read_metadata(path)
        if "kind_match_fit" not in meta:
            raise SystemExit(f"{shown} has no fitted kind-match score: make one with results/design/abstain_match/fit_score.py.")
        fits = json.loads(meta["kind_match_fit"])
    layers = None
    if args.layers:
        if args.option != "abstain_match":
            raise SystemExit("--layers is for --option abstain_match.")
        try:
            layers = {int(v) for v in args.layers.split(",")}
        except ValueError:
            raise SystemExit(f"--layers takes comma-separated decoder layer numbers, got {args.layers!r}.") from None
        unknown = sorted(layers - {int(k) for k in model.memory_layers})
        if unknown:
            raise SystemExit(f"--layers {', '.join(map(str, unknown))}: not memory layers of {shown} "
                             f"(its memory layers: {', '.join(model.memory_layers)}).")
    weight = partial(set_weight, model, args.option, fits=fits, shift=args.shift, layers=layers)
    if args.save:
        if len(values) != 1:
            raise SystemExit("--save takes one value (--values V).")
        weight(values[0])
        where = f", layers {args.layers}" if layers else ""
        floor = floor_where(model.config.memory.abstain_floor_positions)
        how = {"token_keys": f" (token_channel {args.token_channel})",
               "abstain_match": f" (shift {args.shift:g}{where}, {floor})"}.get(args.option, "")
        what = f"with {args.option}{how} switched on at {values[0]:g} (scripts/design_probe.py), nothing trained"
        derived = save_derived_checkpoint(model, args.save, shown, what)
        print(f"wrote {args.save}: {derived}")
        return
    bench = MemoryBenchConfig(systems=("seam", "no-memory"), categories=tuple(args.categories.split(",")), sizes=SELECTION_SIZES,
                              kl_prompts=0, seed=args.seed, split="val", misses_shown=args.misses)
    table: dict[float, dict[str, tuple[float, int]]] = {}
    extra: dict[float, dict[str, str]] = {}
    misses: dict[str, list[dict]] = {}
    for value in values:
        weight(value)
        results = run_memory_benchmark(model, bench)
        if not misses:
            misses = {row: listed for row, listed in results["worst_misses"]["rows"].items() if not row.startswith("no harm")}
        table[value] = {r["key"]: (r["systems"]["seam"]["accuracy"], r["n"]) for r in results["rows"] if r["n"] and "seam" in r["systems"]}
        extra[value] = {}
        for _, key, where, _ in GENERAL_ROWS:
            lost = results.get(key, {}).get("lost", {}).get("seam")
            if lost:
                extra[value][f"general answers lost ({where or 'new conversation'})"] = f"{lost['lost']} / {lost['n']}"
        refused = results.get("told_answered_not_told", {}).get("seam")
        if refused and refused["n"]:
            extra[value]['told facts answered "not told"'] = f"{refused['share']:.0%}"
    rows = list(table[values[0]])
    how = (f", shift {args.shift:g}" + (f", layers {args.layers} only" if layers else "")
           + f", {floor_where(model.config.memory.abstain_floor_positions)}") if args.option == "abstain_match" else ""
    lines = [f"`{args.option}` switched on and its weight set by hand{how} on `{shown}` ({args.model}), validation split "
             f"(selection rows), seed {args.seed}; SEAM's accuracy per row.", "",
             "| row | n | " + " | ".join(f"{v:g}" for v in values) + " |", "|---|---|" + "---|" * len(values)]
    for row in rows:
        lines.append(f"| {row} | {table[values[0]][row][1]} | " + " | ".join(f"{table[v][row][0]:.0%}" for v in values) + " |")
    for name in extra[values[0]]:
        lines.append(f"| {name} | | " + " | ".join(extra[v].get(name, "-") for v in values) + " |")
    if misses:
        lines += ["", f"Misses at {values[0]:g} (what was said, the question, the reply):", ""]
        for row, items in misses.items():
            lines += [f"- {row}: " + "; ".join(f"{' / '.join(m['past'])} -> {m['question']} -> {m['reply']!r} (expected {m['expected']!r})"
                                              for m in items)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
