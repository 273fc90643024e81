"""Ship a trained checkpoint: seam/pretrained/<model>.safetensors in fp16, with its training history, plot and logs.

    python scripts/ship_checkpoint.py runs/smol/ck/best_step900.safetensors runs/smol/logs
    python scripts/ship_checkpoint.py runs/b/ck/final_step1216.safetensors runs/b/logs seam/pretrained/smollm2-135m  # + earlier logs

The checkpoint is loaded into its base model (so a checkpoint that does not fit is refused with the loader's
sentence), saved in fp16 with its metadata (loading casts back to the model's dtype), and the run's
training_history.json / .png and *.log files are copied beside it (with several log directories, every one's
logs, and the history of the first: a resumed run's history holds its whole lineage).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

from seam.lm.checkpoint import PRETRAINED_DIR, load_trained_model, read_metadata
from seam.lm.config import ExperimentConfig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a training checkpoint (.safetensors)")
    p.add_argument("log_dirs", type=Path, nargs="+", help="the run's log directory (training_history.json, its plot, the logs), "
                   "then any earlier runs' of its lineage (their logs are kept too)")
    args = p.parse_args(argv)
    missing = [str(d) for d in args.log_dirs if not d.is_dir()]
    if missing:
        p.error(f"no such log directory: {', '.join(missing)}")
    try:
        meta = read_metadata(args.checkpoint)
        model_name = meta["base_model"]
        model, _ = load_trained_model(ExperimentConfig(model_name=model_name), args.checkpoint)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    extra = {k: v for k, v in meta.items() if k in ("step", "training_config")}
    target = PRETRAINED_DIR / f"{model_name}.safetensors"
    model.save_checkpoint(target, extra, dtype=torch.float16)
    files: dict[str, bytes] = {}  # read before the old history is replaced (it may be one of the log directories)
    for i, log_dir in enumerate(args.log_dirs):
        for pattern in ("training_history.json", "training_history.png") if i == 0 else ():
            files.update({f.name: f.read_bytes() for f in log_dir.glob(pattern)})
        files.update({f.name: f.read_bytes() for f in sorted(log_dir.glob("*.log")) if f.name not in files})
    history = PRETRAINED_DIR / model_name
    if history.exists():
        shutil.rmtree(history)
    history.mkdir(parents=True)
    for name, data in files.items():
        (history / name).write_bytes(data)
    copied = sorted(files)
    print(f"Shipped {args.checkpoint} as {target} ({target.stat().st_size / 2**20:.1f} MiB, fp16) with {', '.join(copied) or 'no logs'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
