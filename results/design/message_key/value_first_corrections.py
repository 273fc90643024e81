"""Corrections whose new statement opens with its value, in training phrasings: the old value said after its frame
("I reside in Salzburg."), the new one in a statement that starts with it ("Thimphu is home for me."), then the kind's
question; beside them the same with a framed new statement. A diagnostic of the message key on the training split
(phrasings and values training sees), not a benchmark figure.

    .venv/bin/python results/design/message_key/value_first_corrections.py CHECKPOINT [N]     # about 40 s for N = 60
"""

import random
import sys

import torch

from seam.lm import ExperimentConfig
from seam.lm.checkpoint import load_trained_model
from seam.tasks.facts import FACT_KINDS, fill
from seam.tasks.scoring import mentions
from seam.tasks.suite import Draw, SuiteBuilder

KINDS = ("name", "city", "job", "employer", "food", "hobby")


def main(checkpoint: str, n: int) -> None:
    torch.set_num_threads(2)
    model, _ = load_trained_model(ExperimentConfig(), checkpoint)
    suite, rng, draw = SuiteBuilder("train"), random.Random(5), Draw("train", random.Random(6))
    counts = {"value-first new statement": [0, 0, 0], "framed new statement": [0, 0, 0]}  # asked, new value, old value
    for i in range(n):
        kind = FACT_KINDS[KINDS[i % len(KINDS)]]
        templates = suite.templates(kind, "statements")
        first = [t for t in templates if t.startswith("{value}")]
        framed = [t for t in templates if not t.startswith("{value}")]
        for label, pool in (("value-first new statement", first), ("framed new statement", framed)):
            old, _, slots, question = suite.fact(kind, draw, rng)
            new = draw.name()[0] if kind.name == "name" else draw.value(kind.pool)
            user = f"{label[:5]}-{i}"
            model.remember(fill(rng.choice(framed), old, **slots), user=user)
            model.remember(fill(rng.choice(pool), new, **slots), user=user)
            reply, _ = model.generate(question, update_memory=False, user=user, max_new_tokens=16)
            model.clear_memory(user)
            said_old = mentions(reply, old, case_sensitive=False)
            row = counts[label]
            row[0] += 1
            row[1] += mentions(reply, new, case_sensitive=False) and not said_old
            row[2] += said_old
    for label, (asked, new, old) in counts.items():
        print(f"{label:28s} new value {new}/{asked} ({100 * new / asked:.0f}%), old value {old}/{asked} ({100 * old / asked:.0f}%)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60)
