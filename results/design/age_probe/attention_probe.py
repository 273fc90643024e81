"""Which memory slots the read attends to while the reply "You are 61 years old." is teacher-forced after
"How old did I say I am?" (told: "I turned 61 this year."): per memory layer, at the positions that predict
"6" and "1", the attention mass (mean over heads) on the slots tagged with each told token, the abstain
slot and the null slot. Run: .venv/bin/python results/design/age_probe/attention_probe.py [model]
"""

from __future__ import annotations

import sys

import seam.memory.attention as attention
from seam.evaluation.memory_bench import teacher_forced
from seam.lm import ExperimentConfig, MemoryAugmentedModel

model_name = sys.argv[1] if len(sys.argv) > 1 else "gemma3-270m"
model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(model_name=model_name))
model.remember("I turned 61 this year.", user="told")
captured = []
real_attend = attention.attend


def spying_attend(queries, slots, num_heads=1, query_tags=None, last_slot_odds=None):
    logits = attention.attention_logits(queries, slots, num_heads, query_tags, last_slot_odds)
    captured.append((logits.softmax(-1).mean(1)[0].detach(), slots.tags[0].clone()))  # (T, N+1), (N+1,)
    return real_attend(queries, slots, num_heads, query_tags, last_slot_odds)


attention.attend = spying_attend
reply = model.tokenizer("You are 61 years old.", add_special_tokens=False)["input_ids"]
_, _, positions = teacher_forced(model, "How old did I say I am?", reply, "told")
told_ids = model.tokenizer("I turned 61 this year.", add_special_tokens=False)["input_ids"]
print(f"{model_name}: attention mass (mean over heads) on the slots of each told token\n")
print("| layer | predicting | " + " | ".join(repr(model.tokenizer.decode([t])) for t in told_ids) + " | abstain | null |")
print("|---|---|" + "---|" * (len(told_ids) + 2))
for layer, (weights, tags) in zip(model.config.memory_layer_positions or [], captured):
    for i, target in enumerate(reply):
        if model.tokenizer.decode([target]) not in ("6", "1"):
            continue
        w = weights[positions[i]]
        cells = [f"{float(w[tags == t].sum()):.2f}" for t in told_ids]
        abstain = float(w[-1]) if model.config.memory.abstain_slot else float("nan")
        print(f"| {layer} | {model.tokenizer.decode([target])!r} | " + " | ".join(cells) + f" | {abstain:.2f} | {float(w[0]):.2f} |")
