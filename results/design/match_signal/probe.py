"""Does the read already know whether memory answers the question? Per memory layer, at the position where a
told answer and the "not told" sentence part (`seam.training.loss.decision_index`, the position the decision term
trains: after "You" of "You live in ..." / "You haven't told me ..."; a general reply's first token), teacher-forced in a new conversation
after a context clear: the margin of the best told slot over the abstain slot (max over heads of: the largest real
slot's logit, bias included, minus the abstain slot's), the abstain slot's share of the read's attention (mean over
heads) and the query gate's factor, for three groups of validation-split episodes:

- told: one fact stated, that fact asked (the mix's single-fact episodes);
- never told: other facts stated, a fact never stated asked (the mix's abstention episodes with facts in memory);
- general: a realistic past in memory, a general question asked (the mix's general episodes).

The "cosine": the best cosine similarity of a query head with a readable told slot's key (the same head's part of
the key), a match on a fixed scale that the query's and keys' lengths cannot rule.

With abstain_match, the "kind match": the read's own learned kind-match score (DualMemoryLayer.kind_match, the best
cosine of the query's and a readable slot's kind-match projections), which raises the abstain slot's logit as it falls.

The "standout": how far the best told slot's logit stands above the mean of the told slots' logits (max over
heads): the part of the margin that is not common to every slot. With token_keys, also the "token share": the
part of that margin (in the head where it is largest) that the query's token-identity channel contributes (1: all
of it, 0: none; the rest is the query's content part).

Last, what the slot with the largest logit holds (the statement's punctuation, a piece of a told value, another
word), per group and layer.

Prints each group's mean and the AUC of told against each other group (1.0: the signal separates them
perfectly; 0.5: not at all). A separating margin is what a gate or an abstention decision could use; the read's
softmax today only compares it with the null and abstain slots' fixed logits.
Run: .venv/bin/python results/design/match_signal/probe.py [model [checkpoint or "shipped" [n per group]]]
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F

import seam.memory.attention as attention
from seam.evaluation.memory_bench import teacher_forced
from seam.lm import ExperimentConfig, load_trained_model, resolve_checkpoint
from seam.lm.prompts import render_reply
from seam.tasks.episodes import Decay
from seam.tasks.mix import TrainingMix
from seam.training.loss import decision_index

model_name = sys.argv[1] if len(sys.argv) > 1 else "smollm2-135m"
checkpoint = resolve_checkpoint(sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "shipped" else None, model_name)
per_group = int(sys.argv[3]) if len(sys.argv) > 3 else 60
model, _ = load_trained_model(ExperimentConfig(model_name=model_name), checkpoint)
if not model.config.memory.abstain_slot:
    sys.exit(f"{checkpoint} has no abstain slot: nothing to compare the told slots with.")
margins: list[torch.Tensor] = []  # one (T,) per memory layer, filled during each forward pass
masses: list[torch.Tensor] = []
standouts: list[torch.Tensor] = []
tops: list[torch.Tensor] = []
token_shares: list[torch.Tensor] = []  # per layer (T,): the query's token-identity part of the margin / the margin
cosines: list[torch.Tensor] = []  # per layer (T,): the best cosine of a query head with a readable told slot's key
token_queries: list[torch.Tensor] = []  # the token-identity part each layer adds to its queries, popped by the read
real_attend = attention.attend


def spying_attend(queries, slots, num_heads=1, query_tags=None, last_slot_odds=None):
    B, T, D = queries.shape

    def heads(x):
        return x.view(B, -1, num_heads, D // num_heads).transpose(1, 2)

    k = heads(slots.keys)
    logits = attention.attention_logits(queries, slots, num_heads, query_tags, last_slot_odds)[0].float()
    real = logits[..., 1:-1]  # (H, T, N): without the null slot (first) and the abstain slot (last)
    best = real.max(-1).values if real.shape[-1] else torch.full(logits.shape[:2], float("-inf"))
    margin = best - logits[..., -1]  # (H, T)
    margins.append(margin.max(0).values.detach())  # (T,)
    finite = torch.isfinite(real)
    mean = torch.where(finite, real, torch.zeros_like(real)).sum(-1) / finite.sum(-1).clamp(min=1)  # (H, T)
    standouts.append((best - mean).max(0).values.detach())  # (T,): how far the best slot stands above the average one
    if token_queries and real.shape[-1]:  # the query's token-identity part's share of that margin, in the head above
        token_q = heads(token_queries.pop())
        token_logits = (token_q @ k.transpose(-1, -2) / k.shape[-1] ** 0.5)[0].float()  # (H, T, N+1)
        h = margin.argmax(0)  # (T,)
        idx = real.argmax(-1)  # (H, T): the best real slot per head
        t = torch.arange(T)
        token_part = token_logits[h, t, idx[h, t] + 1] - token_logits[h, t, -1]
        token_shares.append((token_part / margin[h, t]).detach())
    cos = F.normalize(heads(queries), dim=-1) @ F.normalize(k, dim=-1).transpose(-1, -2)  # (1, H, T, N+2)
    cos = cos[0, ..., 1:-1].float().masked_fill(~finite, float("-inf"))  # the readable told slots
    cosines.append(cos.amax((0, 2)).detach() if real.shape[-1] else torch.full((T,), float("-inf")))  # (T,)
    masses.append(logits.softmax(-1)[..., -1].mean(0).detach())  # (T,): the abstain slot's share, mean over heads
    tops.append(real.max(0).values.detach())  # (T, N): each told slot's logit in its best head
    return real_attend(queries, slots, num_heads, query_tags, last_slot_odds)


attention.attend = spying_attend
if model.config.memory.token_keys:
    for layer in model.memory_layers.values():
        def spying_identity(embeddings, side, _real=layer.token_identity):
            out = _real(embeddings, side)
            if side == "query":
                token_queries.append(out)
            return out

        layer.token_identity = spying_identity
kind_matches: list[torch.Tensor] = []  # with abstain_match: per layer (T,), the read's own kind-match score
if model.config.memory.abstain_match:
    for layer in model.memory_layers.values():
        def spying_match(slots, hidden, _real=layer.kind_match):
            out = _real(slots, hidden)
            kind_matches.append(out[0].detach())
            return out

        layer.kind_match = spying_match
factors: dict[int, torch.Tensor] = {}
if model.config.memory.query_gate:
    for position, layer in model.memory_layers.items():
        def spying_read(state, hidden, query_tags=None, tokens=None, _real=layer.read, _layer=layer, _p=int(position)):
            factors[_p] = _layer.query_factor(hidden)[0, :, 0].detach()
            return _real(state, hidden, query_tags, tokens)

        layer.read = spying_read



def winner_kind(top: torch.Tensor, written: list[str], told_values: list[str]) -> str:
    """What the told slot with the largest logit holds: the statement's punctuation, a piece of a told value, or
    another word. Slots are the buffer's (in write order) then the store's copies (matched by an equal logit)."""
    j = int(top.argmax())
    if j >= len(written):  # a store copy: the buffer slot with the same key has the same logit
        same = [i for i in range(len(written)) if float(top[i]) == float(top[j])]
        if not same:
            return "unmatched store slot"
        j = same[0]
    text = written[j].replace("Ġ", " ").replace("▁", " ").strip()
    if text and all(c in ".!?,;:" for c in text):
        return "punctuation"
    if text and any(text.lower() in v.lower() for v in told_values):
        return "a told value"
    return "another word"


mix = TrainingMix("val", seed=0)
episodes = mix.episodes(1200, seed=29)
groups = {
    "told": [e for e in episodes if e.task == "fact" and not e.history][:per_group],
    "never told": [e for e in episodes if e.task == "abstain" and not e.history
                   and sum(isinstance(t, str) for t in e.turns) >= 1 and e.forbidden][:per_group],
    "general": [e for e in episodes if e.task == "general" and not e.history][:per_group],
}
layers = [int(p) for p in model.memory_layers]
winners: dict[str, dict[int, list[str]]] = {g: {} for g in groups}
SIGNALS = ("margin", "standout", "cosine", "token share", "kind match", "abstain mass", "gate")
values: dict[str, dict[str, list[list[float]]]] = {g: {signal: [] for signal in SIGNALS} for g in groups}
first_token = model.tokenizer(" ", add_special_tokens=False)["input_ids"][:1] or [model.tokenizer.eos_token_id]
render = lambda text: render_reply(model.tokenizer, model.chat_format, text)  # noqa: E731
for group, items in groups.items():
    for i, e in enumerate(items):
        user = f"{group.replace(' ', '_')}-{i}"
        written = [tok for turn in e.turns if not isinstance(turn, Decay) for tok in model.remember(turn, user=user)[0]["tokens"]]
        margins.clear()
        tops.clear()
        masses.clear()
        standouts.clear()
        cosines.clear()
        token_shares.clear()
        token_queries.clear()
        kind_matches.clear()
        # the decision point: the position predicting the first reply token where the told answer and the asked kind's
        # "not told" sentence differ (after "You" of "You live in ..." / "You haven't ..."), found by the training
        # term's own `decision_index`; a general reply: its first token
        row = render(e.reply) if e.reply else first_token
        k = decision_index(e, row, render) if e.task != "general" else 0
        if k is None:
            raise RuntimeError(f"episode {e.task} {i} has no decision point")
        _, _, positions = teacher_forced(model, e.question, row[: k + 1], user)
        at = int(positions[k])
        values[group]["margin"].append([float(m[at]) for m in margins])
        values[group]["standout"].append([float(m[at]) for m in standouts])
        values[group]["cosine"].append([float(m[at]) for m in cosines])
        values[group]["abstain mass"].append([float(m[at]) for m in masses])
        if token_shares:
            values[group]["token share"].append([float(m[at]) for m in token_shares])
        if kind_matches:
            values[group]["kind match"].append([float(m[at]) for m in kind_matches])
        if factors:
            values[group]["gate"].append([float(factors[p][at]) for p in layers])
        told_values = [e.expected] if e.expected else list(e.forbidden)
        for layer, top in zip(layers, tops):
            winners[group].setdefault(layer, []).append(winner_kind(top[at], written, told_values))
        model.users.drop([user])


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a told value's signal > another group's), ties counting half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


print(f"**{model_name}** (`{checkpoint}`), validation split, n = "
      + ", ".join(f"{len(v)} {g}" for g, v in groups.items()) + "\n")
print("| layer | signal | told (mean) | never told (mean) | general (mean) | AUC told vs never told | AUC told vs general |")
print("|---|---|---|---|---|---|---|")
for signal in SIGNALS:
    if not values["told"][signal]:
        continue
    for j, layer in enumerate(layers):
        col = {g: [row[j] for row in values[g][signal]] for g in groups}
        means = [sum(v) / len(v) for v in col.values()]
        print(f"| {layer} | {signal} | " + " | ".join(f"{m:.2f}" for m in means)
              + f" | {auc(col['told'], col['never told']):.2f} | {auc(col['told'], col['general']):.2f} |")

print("\nWhat the told slot with the largest logit holds at the decision point (share of episodes):\n")
print("| layer | group | punctuation | a told value | another word | unmatched store slot |")
print("|---|---|---|---|---|---|")
for layer in layers:
    for group in groups:
        kinds = winners[group][layer]
        print(f"| {layer} | {group} | " + " | ".join(f"{kinds.count(k) / len(kinds):.2f}" for k in
                                                   ("punctuation", "a told value", "another word", "unmatched store slot")) + " |")
