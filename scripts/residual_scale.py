#!/usr/bin/env python
"""The scale of a base model's residual stream at SEAM's memory layers, and (with a checkpoint) how big the
memory's read is beside it: the diagnosis behind `MemoryConfig.relative_read`.

    .venv/bin/python scripts/residual_scale.py --model smollm2-135m --model gemma3-270m
    .venv/bin/python scripts/residual_scale.py --model gemma3-270m --checkpoint seam/pretrained/gemma3-270m.safetensors

For each memory layer: the RMS over the hidden dimension of the layer's output (what the read is added to),
over the real (unpadded) tokens of a few chat prompts: the median (what a typical token sees) and the mean.
With --checkpoint, a fact is told first and a question asked; the read's addition in that pass (each memory
layer's output after SEAM's read minus before it) is reported as an RMS and as a fraction of the hidden state's RMS at the
question's tokens (hidden_rms_question).
"""

from __future__ import annotations

import argparse
import json
import logging

import torch

from seam.lm import ExperimentConfig, decoder_layers
from seam.lm.checkpoint import load_trained_model

PROMPTS = [
    "What is the capital of France?",
    "Can you give me three tips for sleeping better?",
    "My name is Hannah Okafor and I live in Cluj-Napoca.",
    "Explain in one sentence what photosynthesis is.",
]
FACT, QUESTION = "My name is Hannah Okafor.", "What is my name?"


def rms(x: torch.Tensor) -> torch.Tensor:
    return x.float().pow(2).mean(-1).sqrt()


@torch.no_grad()
def measure(model_name: str, checkpoint: str | None) -> dict:
    model, _ = load_trained_model(ExperimentConfig(model_name=model_name), checkpoint)
    batch = model.prepare(PROMPTS)
    out = model(batch.input_ids, batch.attention_mask, None, logits_to_keep=1, capture=True)
    real = batch.attention_mask.bool()
    result = {"model": model_name, "layers": {}}
    for position, hidden in sorted(out.hidden.items()):
        per_token = rms(hidden)[real]  # the first token's is often tens of times the rest (an attention sink)
        result["layers"][position] = {"hidden_rms_median": round(float(per_token.median()), 2),
                                      "hidden_rms_mean": round(float(per_token.mean()), 2)}
    if checkpoint is not None:
        result["checkpoint"] = checkpoint
        result["relative_read"] = model.config.memory.relative_read
        model.remember(FACT, user="probe")
        question = model.prepare([QUESTION])
        # The read as the model does it (query tags, earlier layers' reads): each layer's output before SEAM's hook
        # (captured) and after it (a hook registered behind SEAM's).
        after, handles = {}, []
        for position in model.config.memory_layer_positions:
            def keep(module, args, output, position=position):
                after[position] = output[0] if isinstance(output, tuple) else output
            handles.append(decoder_layers(model.base)[position].register_forward_hook(keep))
        try:
            out = model(question.input_ids, question.attention_mask, model.users.stack(["probe"]), logits_to_keep=1, capture=True)
        finally:
            for handle in handles:
                handle.remove()
        mask = question.message_mask.bool()
        for position, hidden in sorted(out.hidden.items()):
            added = after[position] - hidden
            row = result["layers"][position]
            row["read_rms"] = round(float(rms(added)[mask].mean()), 4)
            row["read_over_hidden"] = round(float((rms(added) / rms(hidden))[mask].mean()), 5)
            row["hidden_rms_question"] = round(float(rms(hidden)[mask].mean()), 2)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", required=True, help="a base model name (repeatable)")
    p.add_argument("--checkpoint", help="memory weights for the (single) --model: also measure the read beside the residual")
    args = p.parse_args()
    if args.checkpoint and len(args.model) != 1:
        p.error("--checkpoint goes with exactly one --model.")
    logging.basicConfig(level=logging.WARNING)
    for name in args.model:
        print(json.dumps(measure(name, args.checkpoint)))


if __name__ == "__main__":
    main()
