"""Copy a training run's checkpoints in fp16 (metadata kept; loading casts back), for bringing them back from a
device whose file size limit a fp32 checkpoint exceeds: the best and final ones and the KEEP latest
checkpoint_step* files.

    python scripts/device/to_fp16.py CHECKPOINT_DIR OUT_DIR [KEEP]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def step(path: Path) -> int:
    return int(re.search(r"step(\d+)", path.name).group(1))


def main(ck: str, out: str, keep: str = "3") -> None:
    ck_dir, out_dir = Path(ck), Path(out)
    chosen = sorted(ck_dir.glob("best_step*.safetensors")) + sorted(ck_dir.glob("final_step*.safetensors"))
    periodic = sorted(ck_dir.glob("checkpoint_step*.safetensors"), key=step)
    chosen += [p for p in periodic if step(p) not in {step(c) for c in chosen}][-int(keep):]
    for path in chosen:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        tensors = {k: v.to(torch.float16) if v.dtype == torch.float32 else v for k, v in tensors.items()}
        save_file(tensors, str(out_dir / path.name), metadata=meta)
        print(f"{path.name} -> fp16 ({(out_dir / path.name).stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main(*sys.argv[1:4])
