"""Do trained message components say what a message is about? For 60 pairs of training-split statements of one kind
(one framed, one value-first, other values), the cosine of their message-key vectors against pairs of other kinds, per
memory layer, and how often a value-first statement's nearest framed statement is of its own kind (chance 1 in 6).

    .venv/bin/python results/design/message_key/message_similarity.py CHECKPOINT        # seconds
"""

import random
import sys

import torch

from seam.lm import ExperimentConfig
from seam.lm.checkpoint import load_trained_model
from seam.tasks.facts import FACT_KINDS, fill
from seam.tasks.suite import Draw, SuiteBuilder

model, _ = load_trained_model(ExperimentConfig(), sys.argv[1])
suite, rng, draw = SuiteBuilder("train"), random.Random(1), Draw("train", random.Random(2))
kinds = [FACT_KINDS[k] for k in ("name", "city", "job", "employer", "food", "hobby")]
msgs = []
for i in range(60):
    kind = kinds[i % 6]
    t = suite.templates(kind, "statements")
    v1, _, slots, _ = suite.fact(kind, draw, rng)
    v2 = draw.name()[0] if kind.name == "name" else draw.value(kind.pool)
    msgs.append((kind.name, fill(rng.choice([x for x in t if not x.startswith("{value}")]), v1, **slots),
                 fill(rng.choice([x for x in t if x.startswith("{value}")]), v2, **slots)))
vecs = {}
for side in (1, 2):
    batch = model.prepare([m[side] for m in msgs])
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask, model.empty_memory(len(msgs)), capture=True)
    T = batch.message_mask.shape[1]
    last = torch.where(batch.message_mask, torch.arange(T), -1).amax(1)
    for p, layer in model.memory_layers.items():
        h = out.hidden[int(p)][torch.arange(len(msgs)), last].float()
        with torch.no_grad():
            vecs[(side, p)] = torch.nn.functional.normalize(layer.message_key_proj(layer.message_key_norm(h)), dim=-1)
same = torch.tensor([[a[0] == b[0] for b in msgs] for a in msgs])
for p in model.memory_layers:
    c = vecs[(1, p)] @ vecs[(2, p)].T
    print(f"layer {p}: framed vs value-first, same kind {c[same].mean():.3f}, other kinds {c[~same].mean():.3f}; "
          f"same kind ranked first {(c.argmax(1) == torch.arange(60)).float().mean():.2f} (exact pair), "
          f"a same-kind message first {same[torch.arange(60), c.argmax(1)].float().mean():.2f} (chance 0.17)")
