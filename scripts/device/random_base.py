"""A base model with random weights of a real model's exact architecture and tokenizer (timing runs on a device
before the real weights have arrived: the cost of a training step does not depend on the weights).

    python scripts/device/random_base.py HF_FOLDER OUT_FOLDER
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def main(src: str, out: str) -> None:
    src_dir, out_dir = Path(src), Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(src_dir), dtype=torch.float32)
    model.save_pretrained(out_dir)
    for f in src_dir.iterdir():
        if f.name != "config.json" and not f.name.endswith(".safetensors"):
            shutil.copy(f, out_dir / f.name)


if __name__ == "__main__":
    main(*sys.argv[1:3])
