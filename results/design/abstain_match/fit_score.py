"""Fit the abstain match's kind-match score to convergence on a frozen checkpoint's own reads, and write a checkpoint.

Session 31 trained the score inside the model, one batch per step (`--kind-match-weight`): after 1,045 steps it
separated told from never-told questions at AUC 0.66-0.80, still rising, where the same score fitted offline, full
batch, on 735 episodes reached 0.77-0.84. The score is trained only by its own term (the read uses it detached), so
nothing is lost by fitting it outside the training loop: this collects, in batches as training does
(`RecallLoss.decision_reads`), each memory layer's input state at the decision point of single-fact (told) and
never-told (other facts told) episodes of the training split and the keys of the slots the user's memory holds, then
fits each layer's own score modules (`abstain_match_norm`, `abstain_match_query`, `abstain_match_key`) with a
temperature T and a threshold b, logistic loss on "told" = T m - b, full batch, Adam. The floor acts wherever a
memory layer reads, so `--others` more positions of each told episode (chat template, question, reply) are fitted
as "told" too: where nothing is to be refused, the floor must stay near 0. It reports the AUC on the validation
split's episodes (values and phrasings the fit never saw) and writes the checkpoint with the
fitted score and the abstain floor's weights set from it: odds of the floor = trust * (b - T m) + shift, i.e. the
trust times the score's log-odds of "never told" (w1 = trust T / 100, w0 = (trust b + shift) / 100). The fit's T and
b are kept in the metadata (`kind_match_fit`), so `scripts/design_probe.py --option abstain_match` can set other
trusts by hand.

    .venv/bin/python results/design/abstain_match/fit_score.py --train 3000 --val 500 --steps 300 --others 8 \\
        --output runs/fit32/fit_others.safetensors --report results/design/abstain_match/stage4_fitted_floor/fit_with_other_positions.md

With the floor kept to a reply's first positions (`MemoryConfig.abstain_floor_positions`, session 35), the score is
read only at the prompt's last position and the reply's first token, where the decision is made: fit the decision
points alone (`--others 0`: a third of a second a step here, not one), and add the breadth kinds' episodes (`breadth`, `breadth_abstain`
in `--mix`) so the score sees more kinds of fact than the benchmark asks:

    MIX=fact=0.15,binding=0.08,spread=0.08,retention=0.08,update=0.08,abstain=0.25,breadth=0.12,breadth_abstain=0.16,general=0
    .venv/bin/python results/design/abstain_match/fit_score.py --train 4000 --val 600 --steps 500 --lr 1e-3 --others 0 \\
        --weight-decay 1e-2 --mix $MIX --output runs/floor35/fit_breadth.safetensors

Nothing of the base model or of the rest of the memory changes; with --trust 0 the written file reads as the source
(the floor switched off: w0 = -1, w1 = 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, safe_open, save_file
from tqdm import tqdm

from seam.lm import MemoryAugmentedModel
from seam.lm.checkpoint import config_for_checkpoint, read_metadata, save_derived_checkpoint
from seam.lm.config import ExperimentConfig
from seam.lm.prompts import continuation_batch
from seam.memory.layer import abstain_match_weights
from seam.tasks.mix import MIX, MixConfig, TrainingMix, mix_shares
from seam.training.loss import RecallLoss

ONLY_DECISIONS = ",".join(f"{kind}={1 if kind in ('fact', 'abstain') else 0}" for kind, _ in MIX)
"""Single facts and never-told questions, half each: the episodes the training's decision terms use (--mix default)."""
FITTED_TASKS = ("fact", "binding", "confusable", "spread", "retention", "change", "correction", "abstain", "breadth", "breadth_abstain")
"""The episode tasks whose decision points are fitted: every value episode (told) and never-told questions, the breadth
kinds' included (seam.tasks.facts.BREADTH_KINDS: drawn only when --mix names them)."""


def load(model_name: str, checkpoint: Path) -> MemoryAugmentedModel:
    """The checkpoint with abstain_match on (its score at its initialisation unless the file has one)."""
    config = config_for_checkpoint(replace(ExperimentConfig(model_name=model_name), memory_layer_positions=None), read_metadata(checkpoint))
    config.memory.abstain_match = True
    model = MemoryAugmentedModel(config)
    model.load_checkpoint(checkpoint, new_options=True)
    return model.eval()


@torch.no_grad()
def collect(model: MemoryAugmentedModel, split: str, n: int, seed: int, batch_size: int, others: int, mix: str = ONLY_DECISIONS) -> dict:
    """Over about n episodes of `split` that have a decision point: told (E,) per decision point, and per memory layer
    the input states (E, C) there, the slot keys (E, N, D) and which are readable (E, N); and `others` more positions
    of each told episode (prompt, template or reply, drawn at random), where nothing is to be refused either: their
    states (P, C) and their episode (P,)."""
    loss = RecallLoss(model)
    items = TrainingMix(split, seed=seed, config=MixConfig(shares=mix_shares(mix))).episodes(n, seed=seed)
    rng = torch.Generator().manual_seed(seed)
    layers = range(len(model.memory_layers))
    states: dict[int, list] = {i: [] for i in layers}
    other_states: dict[int, list] = {i: [] for i in layers}
    keys: dict[int, list] = {i: [] for i in layers}
    told: list[torch.Tensor] = []
    other_episode: list[torch.Tensor] = []
    seen = 0
    for start in tqdm(range(0, len(items), batch_size), desc=f"reads ({split})", unit="batch"):
        chunk = items[start : start + batch_size]
        rows, _ = loss.targets(chunk)
        memory = loss.write_episode(chunk)
        batch, predicts = continuation_batch(model.prepare([it.question for it in chunk], [it.history for it in chunk]), rows,
                                             model.tokenizer.pad_token_id)
        decisions = loss.decision_points(chunk, rows, predicts, FITTED_TASKS)
        if not decisions:
            continue
        out = model(batch.input_ids, batch.attention_mask, memory, logits_to_keep=1, capture=True)
        reads = loss.decision_reads(decisions, batch.input_ids, memory, out.hidden)
        told.append(~reads.never.cpu())
        picks = []  # (decision, row, column) of the other positions of told episodes
        for d, (row, col, never) in enumerate(decisions):
            if not never:
                where = batch.attention_mask[row].nonzero()[:, 0].cpu()
                where = where[where != col]
                for c in where[torch.randperm(len(where), generator=rng)[:others]].tolist():
                    picks.append((d, row, c))
        if picks:
            other_episode.append(torch.tensor([seen + d for d, _, _ in picks]))
        seen += len(decisions)
        for i, ((_, slots, hidden), position) in enumerate(zip(reads.layers, model.memory_layers)):
            readable = torch.isfinite(slots.bias[:, 1:-1])  # the memory's own slots: not the null, not the abstain slot
            states[i].append(hidden[:, 0].float().cpu())
            keys[i].append((slots.keys[:, 1:-1].float().cpu(), readable.cpu()))
            if picks:
                full = out.hidden[int(position)]
                other_states[i].append(torch.stack([full[r, c] for _, r, c in picks]).float().cpu())
    out = {"told": torch.cat(told), "other_episode": torch.cat(other_episode or [torch.zeros(0, dtype=torch.long)]), "states": {},
           "other_states": {}, "keys": {}, "readable": {}}
    for i in layers:
        N = max(k.shape[1] for k, _ in keys[i])
        out["states"][i] = torch.cat(states[i])
        out["other_states"][i] = torch.cat(other_states[i] or [states[i][0][:0]])
        out["keys"][i] = torch.cat([F.pad(k, (0, 0, 0, N - k.shape[1])) for k, _ in keys[i]])
        out["readable"][i] = torch.cat([F.pad(r, (0, N - r.shape[1])) for _, r in keys[i]])
    return out


def cached_collect(cache: Path | None, source: Path, model: MemoryAugmentedModel, split: str, n: int, seed: int, batch_size: int,
                   others: int, mix: str) -> dict:
    """collect(), kept in `cache`/<split>.safetensors (tensors only, fp16 states and keys) with what it was collected
    from; a file collected from another checkpoint or with other settings is collected again and replaced. Lets a fit
    be rerun with other settings without playing the episodes again (13 minutes for 3,000)."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()  # the file, not its path: a checkpoint replaced in place collects again
    what = {"checkpoint": str(source), "sha256": digest, "split": split, "n": n, "seed": seed, "batch_size": batch_size,
            "others": others, "mix": mix}
    path = cache / f"{split}.safetensors" if cache else None
    if path and path.exists():
        with safe_open(str(path), framework="pt") as f:
            kept = json.loads((f.metadata() or {}).get("collected", "{}"))
        if kept == what:
            flat = load_file(str(path))
            data = {"told": flat["told"], "other_episode": flat["other_episode"]}
            for part in ("states", "other_states", "keys", "readable"):
                data[part] = {int(k.split(".")[1]): v.float() if v.is_floating_point() else v
                              for k, v in flat.items() if k.startswith(part + ".")}
            print(f"read the {split} split's reads from {path}")
            return data
        print(f"{path} was collected with other settings ({kept}); collecting again")
    data = collect(model, split, n, seed, batch_size, others, mix)
    if path:
        flat = {"told": data["told"], "other_episode": data["other_episode"]}
        for part in ("states", "other_states", "keys", "readable"):
            flat.update({f"{part}.{i}": (v.half() if v.is_floating_point() else v).contiguous() for i, v in data[part].items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(flat, str(tmp), metadata={"collected": json.dumps(what)})
        tmp.replace(path)  # never a half-written cache
    return data


def auc(scores: torch.Tensor, told: torch.Tensor) -> float:
    """P(a told question scores above a never-told one), ties half."""
    pos, neg = scores[told], scores[~told]
    return float(((pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()).mean())


def score(layer, states: torch.Tensor, keys: torch.Tensor, readable: torch.Tensor, episode: torch.Tensor | None = None) -> torch.Tensor:
    """The layer's kind match (DualMemoryLayer.kind_match) of states (P, C) against the keys (E, N, D) of each one's
    episode (`episode` (P,), default one state per episode) -> (P,)."""
    q = F.normalize(layer.abstain_match_query(layer.abstain_match_norm(states)), dim=-1)  # (P, M)
    k = F.normalize(layer.abstain_match_key(keys), dim=-1)  # (E, N, M)
    if episode is not None:
        k, readable = k[episode], readable[episode]
    return (k @ q[:, :, None])[..., 0].masked_fill(~readable, -1.0).amax(-1)


def fit_layer(layer, train: dict, val: dict, i: int, steps: int, lr: float, other_weight: float, weight_decay: float = 1e-4,
              keep_best: bool = False) -> dict:
    """Fit one layer's score modules with a temperature T and threshold b: logistic loss on "told" = T m - b at the
    decision points, plus other_weight times the same loss at the other positions of told episodes (label told: a
    floor anywhere else in a told episode would mix the abstain slot into an answer); the fitted weights are left in
    the layer. keep_best: the weights of the step (of every 50th) with the highest validation AUC, not the last
    step's (an early stop chosen on the validation split: its AUC is then the best of the curve, not an unbiased one)."""
    T = torch.nn.Parameter(torch.tensor(5.0))
    b = torch.nn.Parameter(torch.tensor(0.0))
    modules = [layer.abstain_match_norm, layer.abstain_match_query, layer.abstain_match_key]
    params = [p for module in modules for p in module.parameters()] + [T, b]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    def scores(data, others: bool = True):
        where = (data["keys"][i], data["readable"][i])
        m = score(layer, data["states"][i], *where)
        return m, score(layer, data["other_states"][i], *where, data["other_episode"]) if others else m[:0]

    labels = train["told"].float()
    curve, best = [], (-1.0, 0, None)
    for step in tqdm(range(1, steps + 1), desc=f"fit (layer {i})", unit="step"):
        optimizer.zero_grad()
        m, m_other = scores(train, others=bool(other_weight))  # the other positions cost most of a step: only when fitted
        loss = F.binary_cross_entropy_with_logits(T * m - b, labels)
        if other_weight and len(m_other):
            loss = loss + other_weight * F.binary_cross_entropy_with_logits(T * m_other - b, torch.ones_like(m_other))
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == steps:
            with torch.no_grad():
                curve.append((step, float(loss), auc(scores(train, False)[0], train["told"]), auc(scores(val, False)[0], val["told"])))
                if keep_best and curve[-1][3] > best[0]:
                    best = (curve[-1][3], step, [p.detach().clone() for p in params])
    with torch.no_grad():
        if keep_best:
            for p, kept in zip(params, best[2]):
                p.copy_(kept)
        (m_train, _), (m_val, m_val_other) = scores(train), scores(val)
    T, b = float(T.detach()), float(b.detach())
    logit_val = T * m_val - b
    return {"temperature": T, "threshold": b, "curve": curve, "kept_step": best[1] if keep_best else steps,
            "val_auc": auc(m_val, val["told"]), "train_auc": auc(m_train, train["told"]),
            "val_told_below_threshold": float((logit_val[val["told"]] < 0).float().mean()),
            "val_never_above_threshold": float((logit_val[~val["told"]] >= 0).float().mean()),
            "val_other_floor": float(torch.sigmoid(b - T * m_val_other).mean()) if len(m_val_other) else float("nan"),
            "mean_m": {"train told": float(m_train[train["told"]].mean()), "train never": float(m_train[~train["told"]].mean()),
                       "val told": float(m_val[val["told"]].mean()), "val never": float(m_val[~val["told"]].mean()),
                       "val other": float(m_val_other.mean())}}


def set_trust(model: MemoryAugmentedModel, fits: list[dict], trust: float, shift: float = 0.0) -> None:
    """The abstain floor's odds = trust * (b - T m) + shift per layer (trust 0: the floor off, w0 = -1, w1 = 0)."""
    with torch.no_grad():
        for layer, fit in zip(model.memory_layers.values(), fits):
            layer.abstain_match_weights.copy_(abstain_match_weights(fit["temperature"], fit["threshold"], trust, shift))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (default smollm2-135m)")
    p.add_argument("--checkpoint", default=None, help="SEAM checkpoint (default: the shipped one of --model)")
    p.add_argument("--train", type=int, default=1600, help="training-split episodes drawn (default 1600)")
    p.add_argument("--val", type=int, default=320, help="validation-split episodes drawn (default 320)")
    p.add_argument("--batch-size", type=int, default=16, help="episodes per collection batch (default 16)")
    p.add_argument("--steps", type=int, default=400, help="full-batch Adam steps per layer (default 400)")
    p.add_argument("--lr", type=float, default=3e-3, help="learning rate of the fit (default 3e-3)")
    p.add_argument("--mix", default=ONLY_DECISIONS, help="shares of the episodes drawn, as train.py's --mix (default: "
                   "single facts and never-told questions, half each; every value episode's decision point is fitted)")
    p.add_argument("--others", type=int, default=8, help="other positions drawn per told episode (default 8; 0: none)")
    p.add_argument("--other-weight", type=float, default=1.0, help="weight of the loss at those positions (default 1)")
    p.add_argument("--trust", type=float, default=1.0, help="the floor's odds per unit of the score's log-odds (default 1)")
    p.add_argument("--shift", type=float, default=0.0, help="added to the floor's odds (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episodes (default 0)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="Adam's weight decay in the fit (default 1e-4)")
    p.add_argument("--keep-best", action="store_true", help="keep each layer's weights at the step (of every 50th) with the "
                   "highest validation AUC, not the last step's (an early stop chosen on the validation split)")
    p.add_argument("--cache", type=Path, default=None, help="keep the collected reads in this folder (train/val.safetensors) "
                   "and reuse them when the checkpoint and the collection's settings are the same")
    p.add_argument("--output", required=True, help="the checkpoint written (fp16)")
    p.add_argument("--report", default=None, help="also write the Markdown report here")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.manual_seed(args.seed)
    source = Path(args.checkpoint) if args.checkpoint else MemoryAugmentedModel.pretrained_checkpoint(args.model)
    if source.resolve().is_relative_to(Path.cwd().resolve()):
        source = source.resolve().relative_to(Path.cwd().resolve())
    model = load(args.model, source)
    began = time.time()
    train = cached_collect(args.cache, source, model, "train", args.train, args.seed, args.batch_size, args.others, args.mix)
    val = cached_collect(args.cache, source, model, "val", args.val, args.seed + 1, args.batch_size, args.others, args.mix)
    collected = time.time() - began
    fits, other_weight = [], args.other_weight if args.others else 0.0
    with torch.enable_grad():
        for i, (position, layer) in enumerate(model.memory_layers.items()):
            fits.append({"layer": int(position), **fit_layer(layer, train, val, i, args.steps, args.lr, other_weight,
                                                                 args.weight_decay, args.keep_best)})
    set_trust(model, fits, args.trust, args.shift)
    summary = [{k: f[k] for k in ("layer", "temperature", "threshold", "val_auc", "kept_step")} for f in fits]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    what = (f"with abstain_match's score fitted on {len(train['told'])} training-split decision points "
            f"(results/design/abstain_match/fit_score.py), trust {args.trust:g}, shift {args.shift:g}; nothing else trained")
    save_derived_checkpoint(model, args.output, source, what, {"kind_match_fit": json.dumps(summary)})
    told_t, told_v = int(train["told"].sum()), int(val["told"].sum())
    kept = "; kept: the step of highest validation AUC, " + " / ".join(str(f["kept_step"]) for f in fits) if args.keep_best else ""
    lines = [f"`{source}` ({args.model}): the abstain match's score fitted on {len(train['told'])} training-split decision points "
             f"({told_t} told, {len(train['told']) - told_t} never told) and scored on {len(val['told'])} validation-split ones "
             f"({told_v} told, {len(val['told']) - told_v} never told); collection {collected / 60:.1f} min, {args.steps} full-batch "
             f"steps per layer (lr {args.lr:g}, weight decay {args.weight_decay:g}{kept}); "
             f"{len(train['other_episode'])} other positions of told episodes (weight "
             f"{args.other_weight if args.others else 0:g}). Written: `{args.output}` (trust {args.trust:g}, shift {args.shift:g}).", "",
             "| layer | AUC train | AUC validation | T | b | mean m: told / never told (validation) "
             "| validation: told below b / never told above b | mean floor at trust 1, other positions of told episodes |",
             "|---|---|---|---|---|---|---|---|"]
    for f in fits:
        mm = f["mean_m"]
        lines.append(f"| {f['layer']} | {f['train_auc']:.2f} | {f['val_auc']:.2f} | {f['temperature']:.1f} | {f['threshold']:.2f} | "
                     f"{mm['val told']:.2f} / {mm['val never']:.2f} | "
                     f"{f['val_told_below_threshold']:.0%} / {f['val_never_above_threshold']:.0%} | {f['val_other_floor']:.2f} |")
    lines += ["", "Validation AUC during the fit (step: layer by layer): " + "; ".join(
        f"{step}: " + " / ".join(f"{f['curve'][j][3]:.2f}" for f in fits) for j, (step, *_) in enumerate(fits[0]["curve"]))]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        Path(args.report).write_text(text)


if __name__ == "__main__":
    main()
