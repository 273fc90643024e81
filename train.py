"""Train SEAM memory layers on the name-recall task.

    python train.py --epochs 50 --lr 3e-3
    python train.py --max-minutes 15                 # the shipped checkpoint's budget
    accelerate launch train.py --device cuda ...     # one or several GPUs
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from seam.cli import add_config_args, add_model_args, build_experiment_config, config_from_args, setup_logging

EXPOSED = ("learning_rate", "gate_learning_rate", "num_epochs", "batch_size", "gradient_accumulation_steps", "eval_every",
           "save_every", "checkpoint_dir", "log_dir", "resume", "num_train", "num_val", "max_distractors", "silence_fraction",
           "silence_tokens", "silence_weight", "seed", "max_steps", "max_minutes")
FLAGS = {"learning_rate": "--lr", "gate_learning_rate": "--gate-lr", "num_epochs": "--epochs",
         "gradient_accumulation_steps": "--grad-accum"}


def main(argv: list[str] | None = None) -> int:
    from seam.training.trainer import Trainer, TrainingConfig

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    add_config_args(p, TrainingConfig, EXPOSED, flags=FLAGS)
    args = p.parse_args(argv)
    tconf = config_from_args(p, TrainingConfig, args)
    try:
        config = build_experiment_config(args)
    except ValueError as err:
        p.error(str(err))
    log_file = setup_logging(tconf.log_dir, f"training_{time.strftime('%Y%m%d_%H%M%S')}.log")

    from seam.lm.model import MemoryAugmentedModel

    model = MemoryAugmentedModel(config)
    trainer = Trainer(model, tconf)
    result = trainer.train()
    plot = trainer.plot()
    result.update({"plot": str(plot), "log": str(log_file)})
    logging.getLogger("train").info("done: %s", json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
