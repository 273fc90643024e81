"""The learned query gate's factor where a digit comes next, in general replies and in a told value's reply.

General: number questions from the training split's general prompts and a few written here, each with the bare
model's own greedy reply (memory holding a realistic past: three facts, none a number). Value: "You are N years
old." after "How old did I say I am?" for ten told ages; name: "Your name is X." for five told names.
Per memory layer: the mean factor at positions whose next
token is a digit, and at all other reply positions.
Run: .venv/bin/python results/design/age_probe/gate_on_numbers.py [model [checkpoint]]
"""

from __future__ import annotations

import sys

import torch

from seam.evaluation.memory_bench import teacher_forced
from seam.lm import ExperimentConfig, load_trained_model, resolve_checkpoint
from seam.lm.prompts import render_reply

model_name = sys.argv[1] if len(sys.argv) > 1 else "gemma3-270m"
checkpoint = resolve_checkpoint(sys.argv[2] if len(sys.argv) > 2 else None, model_name)
model, _ = load_trained_model(ExperimentConfig(model_name=model_name), checkpoint)
factors: dict[int, torch.Tensor] = {}
for position, layer in model.memory_layers.items():
    real_read = layer.read

    def spying_read(state, hidden, query_tags=None, tokens=None, _real=real_read, _layer=layer, _p=int(position)):
        factors[_p] = _layer.query_factor(hidden)[0, :, 0].detach()
        return _real(state, hidden, query_tags, tokens)

    layer.read = spying_read
digits = {model.tokenizer.convert_tokens_to_ids(str(d)) for d in range(10)}
for text in ("My name is Alice.", "I live in Lyon.", "I work as a nurse."):
    model.remember(text, user="past")
general = ["What is 12 plus 7?", "How many days are in a week?", "What year did World War II end?",
           "How many legs does a spider have?", "What is 9 times 8?", "How many minutes are in an hour?"]
sums = {"general": {}, "value": {}, "name": {}}


def collect(kind: str, user: str, question: str, reply_text: str) -> None:
    reply = render_reply(model.tokenizer, model.chat_format, reply_text)
    _, input_ids, positions = teacher_forced(model, question, reply, user)
    nxt = input_ids[0, positions + 1].tolist()
    for p, f in factors.items():
        at = sums[kind].setdefault(p, {"digit": [], "other": []})
        for pos, tok in zip(positions.tolist(), nxt):
            at["digit" if tok in digits else "other"].append(float(f[pos]))


for q in general:
    (bare,), _ = model.generate([q], user="bare", update_memory=False, use_memory=False, max_new_tokens=24)
    collect("general", "past", q, bare)
for i, age in enumerate(range(23, 93, 7)):
    model.remember(f"I turned {age} this year.", user=f"age{i}")
    collect("value", f"age{i}", "How old did I say I am?", f"You are {age} years old.")
for i, name in enumerate(["Hannah Okafor", "Søren Lund", "Priya Raman", "Kwame Mensah", "Lucia Ferreira"]):
    model.remember(f"My name is {name}.", user=f"name{i}")
    collect("name", f"name{i}", "What is my name?", f"Your name is {name}.")
print(f"**{model_name}**: mean query-gate factor (0 shuts the read, 1 leaves it, 2 doubles it)\n")
print("| layer | general reply, digit next (n) | general reply, other | value reply, digit next (n) | value reply, other | name reply |")
print("|---|---|---|---|---|---|")
def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


for p in sorted(sums["general"]):
    g, v, n = sums["general"][p], sums["value"][p], sums["name"][p]
    print(f"| {p} | {mean(g['digit']):.2f} ({len(g['digit'])}) | {mean(g['other']):.2f} | {mean(v['digit']):.2f} ({len(v['digit'])}) | "
          f"{mean(v['other']):.2f} | {mean(n['digit'] + n['other']):.2f} |")
