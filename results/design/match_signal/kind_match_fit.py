"""Is the told / never-told decision there to be learned from what a read already has? Per memory layer of a frozen
checkpoint: the read's input state at the decision point (`seam.training.loss.decision_index`, teacher-forced after
a context clear) and the keys of the slots the user's memory holds. On the training split's single-fact (told) and
never-told (other facts told) episodes, fit a small kind-match score: two learned projections (query state -> 64,
slot key -> 64), their best cosine over the memory's slots, times a learned temperature minus a learned threshold,
as the logit of "told" (logistic loss, Adam, full batch). Report its AUC on the validation split's episodes (values,
phrasings and kinds the fit never saw). A high AUC says a score of this shape, trained by the decision term, could
separate them; near 0.5 says the states themselves do not carry it.

Run: .venv/bin/python results/design/match_signal/kind_match_fit.py [checkpoint|shipped [n per group]]   (SmolLM2)
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F

from seam.evaluation.memory_bench import teacher_forced
from seam.lm import ExperimentConfig, load_trained_model, resolve_checkpoint
from seam.lm.prompts import render_reply
from seam.tasks.episodes import Decay
from seam.tasks.mix import TrainingMix
from seam.training.loss import decision_index

checkpoint = resolve_checkpoint(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "shipped" else None, "smollm2-135m")
per_group = int(sys.argv[2]) if len(sys.argv) > 2 else 150
model, _ = load_trained_model(ExperimentConfig(model_name="smollm2-135m"), checkpoint)
model.eval()
render = lambda text: render_reply(model.tokenizer, model.chat_format, text)  # noqa: E731
captured: dict[int, torch.Tensor] = {}
for position, layer in model.memory_layers.items():
    def spying_read(state, hidden, query_tags=None, tokens=None, _real=layer.read, _p=int(position)):
        captured[_p] = hidden[0].detach()
        return _real(state, hidden, query_tags, tokens)

    layer.read = spying_read
layers = [int(p) for p in model.memory_layers]


def features(split: str, seed: int) -> list[tuple[int, dict[int, torch.Tensor], dict[int, torch.Tensor]]]:
    """(told?, per layer the query state (C,), per layer the memory's slot keys (N, D)) per episode."""
    episodes = TrainingMix(split, seed=0).episodes(per_group * 12, seed=seed)
    chosen = ([e for e in episodes if e.task == "fact" and not e.history][:per_group]
              + [e for e in episodes if e.task == "abstain" and not e.history and e.forbidden][:per_group])
    out = []
    for i, e in enumerate(chosen):
        user = f"{split}-{i}"
        for turn in e.turns:
            if not isinstance(turn, Decay):
                model.remember(turn, user=user)
        row = render(e.reply)
        k = decision_index(e, row, render)
        _, _, positions = teacher_forced(model, e.question, row[: k + 1], user)
        at = int(positions[k])
        queries = {p: captured[p][at] for p in layers}
        keys = {}
        for p, layer, state in zip(layers, model.memory_layers.values(), model.users.stack([user])):
            slots = layer.slots(state)
            readable = torch.isfinite(slots.bias[0, 1:-1])  # the memory's slots (not null, not abstain)
            keys[p] = slots.keys[0, 1:-1][readable].detach()
        out.append((int(e.task == "fact"), queries, keys))
        model.users.drop([user])
    return out


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()
    return float(wins.mean())


torch.manual_seed(0)
train, val = features("train", 5), features("val", 29)
def counts(data) -> str:
    told = sum(y for y, _, _ in data)
    return f"{told} told, {len(data) - told} never told"


print(f"**smollm2-135m** (`{checkpoint}`): training split {counts(train)}; validation split {counts(val)}\n")
print("| layer | AUC train (fit) | AUC validation | AUC validation, plain cosine of the read's query (content part) and keys |")
print("|---|---|---|---|")
for p, layer in zip(layers, model.memory_layers.values()):
    C, D = captured[p].shape[-1], train[0][2][p].shape[-1]
    q_proj, k_proj = torch.nn.Linear(C, 64), torch.nn.Linear(D, 64)
    temperature, threshold = torch.nn.Parameter(torch.tensor(5.0)), torch.nn.Parameter(torch.tensor(0.0))
    norm = torch.nn.LayerNorm(C, elementwise_affine=False)

    def score(data):
        return torch.stack([F.cosine_similarity(q_proj(norm(q[p]))[None], k_proj(keys[p]), dim=-1).max() for _, q, keys in data])

    labels = torch.tensor([y for y, _, _ in train], dtype=torch.float)
    params = [*q_proj.parameters(), *k_proj.parameters(), temperature, threshold]
    optimizer = torch.optim.Adam(params, lr=3e-3, weight_decay=1e-4)
    for _ in range(300):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(temperature * score(train) - threshold, labels)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        fit, held = auc(score(train), labels), auc(score(val), torch.tensor([y for y, _, _ in val]))
        q_read = {id(q): layer.attention.queries(q[p]) for _, q, _ in val}  # the content part (no token channel)
        plain = torch.stack([F.cosine_similarity(q_read[id(q)][None], keys[p], dim=-1).max() for _, q, keys in val])
    print(f"| {p} | {fit:.2f} | {held:.2f} | {auc(plain, torch.tensor([y for y, _, _ in val])):.2f} |")
