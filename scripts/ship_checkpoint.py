"""Ship a trained checkpoint: seam/pretrained/<model>.safetensors in fp16, with its training history, plot and logs.

    python scripts/ship_checkpoint.py runs/smol/ck/best_step900.safetensors runs/smol/logs
    python scripts/ship_checkpoint.py runs/b/ck/final_step1216.safetensors runs/b/logs seam/pretrained/smollm2-135m  # + earlier logs
    python scripts/ship_checkpoint.py runs/g/ck/final_step200.safetensors runs/g/logs seam/pretrained/gemma3-270m \
        --archive-history steps951-1150    # a warm start: the replaced history is kept under that name

The checkpoint is loaded into its base model (so a checkpoint that does not fit is refused with the loader's
sentence), saved in fp16 with its metadata (loading casts back to the model's dtype), and the run's
training_history.json / .png and *.log files are copied beside it. With several log directories: every one's
logs and archived histories (training_history_<label>.*), and the history of the first; a later directory's own
history is kept only under --archive-history's label (a warm start's lineage), since a resumed run's history
already holds its whole lineage (seam/training/ship.py). A checkpoint derived without training (a score fitted, a
design option switched on: `seam.lm.checkpoint.save_derived_checkpoint`) keeps its `derived_from` chain and fit beside
the source's training config and step; ship it with the shipped folder first, so its history stays:

    python scripts/ship_checkpoint.py runs/floor35/floor_fp2_shift-2.safetensors seam/pretrained/smollm2-135m runs/floor35/fit_logs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from seam.lm.checkpoint import DERIVED_KEPT, PRETRAINED_DIR, load_trained_model, read_metadata
from seam.lm.config import ExperimentConfig
from seam.training.ship import history_files, replace_folder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a training checkpoint (.safetensors)")
    p.add_argument("log_dirs", type=Path, nargs="+", help="the run's log directory (training_history.json, its plot, the logs), "
                   "then any earlier runs' of its lineage (their logs are kept too)")
    p.add_argument("--archive-history", metavar="LABEL", help="keep the later log directory's training_history.* as "
                   "training_history_LABEL.* (a warm start's predecessor, e.g. steps701-950: the lineage's steps it covers)")
    args = p.parse_args(argv)
    try:
        files, left_out = history_files(args.log_dirs, args.archive_history)  # read before the old history is replaced
        meta = read_metadata(args.checkpoint)
        model_name = meta["base_model"]
        model, _ = load_trained_model(ExperimentConfig(model_name=model_name), args.checkpoint)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    extra = {k: v for k, v in meta.items() if k in (*DERIVED_KEPT, "derived_from")}  # a derived file keeps how it was made
    target = PRETRAINED_DIR / f"{model_name}.safetensors"
    model.save_checkpoint(target, extra, dtype=torch.float16)
    replace_folder(PRETRAINED_DIR / model_name, files)
    copied = sorted(files)
    print(f"Shipped {args.checkpoint} as {target} ({target.stat().st_size / 2**20:.1f} MiB, fp16) with {', '.join(copied) or 'no logs'}.")
    for line in left_out:
        print(f"Not kept: {line}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
