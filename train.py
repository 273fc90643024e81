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
from pathlib import Path

from seam.cli import add_model_args, build_experiment_config, setup_logging


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--lr", type=float, default=3e-3, help="learning rate of the memory projections")
    p.add_argument("--gate-lr", type=float, default=3e-2, help="learning rate of the output gates")
    p.add_argument("--epochs", type=int, default=10, help="training epochs over --num-train names")
    p.add_argument("--batch-size", type=int, default=8, help="users (episodes) per step")
    p.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--eval-every", type=int, default=50, help="validate (by generation) every N steps")
    p.add_argument("--save-every", type=int, default=200, help="save checkpoint_step*.safetensors every N steps")
    p.add_argument("--checkpoint-dir", default="./checkpoints")
    p.add_argument("--log-dir", default="./training_logs")
    p.add_argument("--resume", help="checkpoint_step*.safetensors to continue from (its .trainer.pt must be beside it)")
    p.add_argument("--num-train", type=int, default=500, help="training names")
    p.add_argument("--num-val", type=int, default=50, help="validation names (disjoint from training)")
    p.add_argument("--max-distractors", type=int, default=2, help="unrelated conversations around each introduction (0..N)")
    p.add_argument("--silence-fraction", type=float, default=0.25,
                   help="unrelated questions per step as a share of the batch, target = the frozen model's reply (0 turns it off)")
    p.add_argument("--silence-tokens", type=int, default=12, help="leading tokens of the frozen model's reply that the silence loss keeps")
    p.add_argument("--silence-weight", type=float, default=0.5, help="weight of the silence loss")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    p.add_argument("--max-minutes", type=float, help="stop after N minutes of training")
    args = p.parse_args(argv)

    from seam.training.trainer import Trainer, TrainingConfig

    log_dir = Path(args.log_dir)
    log_file = setup_logging(log_dir, f"training_{time.strftime('%Y%m%d_%H%M%S')}.log")
    try:
        tconf = TrainingConfig(
            learning_rate=args.lr, gate_learning_rate=args.gate_lr, num_epochs=args.epochs, batch_size=args.batch_size,
            gradient_accumulation_steps=args.grad_accum, eval_every=args.eval_every, save_every=args.save_every,
            num_train=args.num_train, num_val=args.num_val, max_distractors=args.max_distractors, silence_fraction=args.silence_fraction,
            silence_tokens=args.silence_tokens, silence_weight=args.silence_weight, seed=args.seed,
            max_steps=args.max_steps, max_minutes=args.max_minutes, checkpoint_dir=args.checkpoint_dir,
            log_dir=args.log_dir, resume=args.resume,
        )
        config = build_experiment_config(args)
    except ValueError as err:
        p.error(str(err))

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
