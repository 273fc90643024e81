#!/usr/bin/env python
"""Could a memory file leave out its values and rebuild them from the token ids (the slots' tags)? Only if that
is exact: this measures it.

    .venv/bin/python scripts/value_rebuild_check.py                  # SmolLM2's shipped checkpoint, a few seconds

A slot's value is `value_proj(value_norm(embedding(token)))`, computed when a turn is written, for the batch's
message tokens at once, and held (in RAM and in its file) rounded to fp16. A loader would compute the same function
for the slots it reads, in other shapes: each file's own used slots. The matrix product's result depends on its
shape (the kernel and its order of summation), so this compares, for random tokens, the values as a 16-user write
computes them with the same values computed for all of them at once (the same shape: they should agree) and one
token at a time (another shape), in fp32 and after rounding to fp16 as the file holds them.
"""

from __future__ import annotations

import argparse

import torch

from seam.lm import ExperimentConfig, MemoryAugmentedModel


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2-135m", help="bundled base model (default smollm2-135m)")
    p.add_argument("--users", type=int, default=16, help="rows of the write batch (default 16)")
    p.add_argument("--tokens", type=int, default=40, help="message tokens per row (default 40)")
    args = p.parse_args()
    torch.manual_seed(0)
    model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(model_name=args.model))
    embeddings = model.base.get_input_embeddings().weight.float()
    print(f"{args.model}: {args.users} x {args.tokens} random tokens, torch threads {torch.get_num_threads()}")
    print("| layer | rebuilt how | fp32 elements that differ | fp16 elements that differ | largest difference |")
    print("|---|---|---|---|---|")
    for position, layer in model.memory_layers.items():
        ids = torch.randint(0, embeddings.shape[0], (args.users, args.tokens))
        written = layer.value_proj(layer.value_norm(embeddings[ids]))  # as write_captured computes them: (B, T, C)
        rebuilt = {
            "all tokens at once": layer.value_proj(layer.value_norm(embeddings[ids.reshape(-1)])).view_as(written),
            "one token at a time": torch.stack([layer.value_proj(layer.value_norm(embeddings[t : t + 1]))[0]
                                                for t in ids.reshape(-1).tolist()]).view_as(written),
        }
        for how, values in rebuilt.items():
            fp32 = (values != written).float().mean().item()
            fp16 = (values.half() != written.half()).float().mean().item()
            print(f"| {position} | {how} | {fp32:.2%} | {fp16:.2%} | {(values - written).abs().max().item():.1e} |")


if __name__ == "__main__":
    main()
