"""What each memory layer's read adds where the reply "You are 61 years old." predicts "6" and "1" (after "How old
did I say I am?"; told: "I turned 61 this year."): the added vector's norm against the residual stream's, the query
gate's factor, and the added vector's cosine with the output embedding of the right digit and of the best other
digit (a logit-lens proxy: the direction the read pushes the next token in).
Run: .venv/bin/python results/design/age_probe/read_contribution.py [model]
"""

from __future__ import annotations

import sys

import torch

from seam.evaluation.memory_bench import teacher_forced
from seam.lm import ExperimentConfig, MemoryAugmentedModel

model_name = sys.argv[1] if len(sys.argv) > 1 else "gemma3-270m"
model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(model_name=model_name))
model.remember("I turned 61 this year.", user="told")
records: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []
for position, layer in model.memory_layers.items():
    real_read = layer.read

    def spying_read(state, hidden, query_tags=None, tokens=None, _real=real_read, _layer=layer, _p=int(position)):
        out = _real(state, hidden, query_tags, tokens)
        factor = _layer.query_factor(hidden) if _layer.config.query_gate else torch.ones_like(hidden[..., :1])
        records.append((_p, (out - hidden)[0].detach(), hidden[0].detach(), factor[0, :, 0].detach()))
        return out

    layer.read = spying_read
reply = model.tokenizer("You are 61 years old.", add_special_tokens=False)["input_ids"]
_, _, positions = teacher_forced(model, "How old did I say I am?", reply, "told")
out_emb = model.base.get_output_embeddings().weight.float()
digits = [model.tokenizer.convert_tokens_to_ids(str(d)) for d in range(10)]
print(f"**{model_name}**\n")
print("| layer | predicting | read norm / residual norm | query gate factor | cos with the right digit | best other digit (cos) |")
print("|---|---|---|---|---|---|")
for p, delta, hidden, factor in records:
    for i, target in enumerate(reply):
        text = model.tokenizer.decode([target])
        if text not in ("6", "1"):
            continue
        t = positions[i]
        d = delta[t].float()
        cos = torch.nn.functional.cosine_similarity(d[None], out_emb[digits], dim=-1)
        right = digits.index(target)
        others = [(float(c), str(k)) for k, c in enumerate(cos) if k != right]
        best = max(others)
        print(f"| {p} | {text!r} | {float(d.norm() / hidden[t].float().norm()):.3f} | {float(factor[t]):.2f} | "
              f"{float(cos[right]):.3f} | {best[1]!r} ({best[0]:.3f}) |")
