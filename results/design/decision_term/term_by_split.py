"""The decision term itself (`RecallLoss(decision_weight=1)`, log space, as trained since session 30), measured on a
SmolLM2-135M checkpoint without training it: on single-fact episodes (told: the read should attend to the memory's slots) and
never-told episodes with other facts in memory (the abstain slot), of the training and the validation split, in
batches of 8. -log of the attention mass, mean over the memory layers and heads: 0.1 nats is a mass of 0.9, 2.3
nats 0.1, 60 nats a read sure of the wrong slot.

Run: .venv/bin/python results/design/decision_term/term_by_split.py CHECKPOINT [CHECKPOINT ...]   (~30 s each)
"""

from __future__ import annotations

import sys

import torch

from seam.lm import ExperimentConfig, load_trained_model
from seam.tasks.mix import TrainingMix
from seam.training.loss import RecallLoss

PER_TASK = 24

print("| checkpoint | split | told (3 batches of 8) | never told (3 batches of 8) |")
print("|---|---|---|---|")
for checkpoint in sys.argv[1:]:
    model, _ = load_trained_model(ExperimentConfig(model_name="smollm2-135m"), checkpoint)
    model.eval()
    task = RecallLoss(model, decision_weight=1.0)
    for split in ("train", "val"):
        episodes = TrainingMix(split, seed=0).episodes(600, seed=5)
        cells = []
        for name in ("fact", "abstain"):
            chosen = [e for e in episodes if e.task == name and not e.history][:PER_TASK]
            with torch.no_grad():
                terms = [float(task(chosen[i : i + 8])[1]["decision"]) for i in range(0, len(chosen), 8)]
            cells.append(" / ".join(f"{t:.2f}" for t in terms))
        print(f"| `{checkpoint}` | {split} | " + " | ".join(cells) + " |")
