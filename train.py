"""Train SEAM memory layers: on the memory benchmark's training split (default), or the original name-recall task.

    python train.py --max-minutes 60                 # the memory task on this machine's CPU
    python train.py --task names --epochs 50 --lr 3e-3
    python train.py --resume checkpoints/checkpoint_step400.safetensors --max-minutes 120
    accelerate launch train.py --device cuda ...     # one or several GPUs
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from seam.cli import add_config_args, add_model_args, build_experiment_config, config_from_args, setup_logging

EXPOSED = ("task", "learning_rate", "gate_learning_rate", "query_gate_learning_rate", "abstain_slot_learning_rate",
           "message_key_learning_rate",
           "num_epochs", "episodes_per_epoch", "batch_size", "gradient_accumulation_steps",
           "eval_every", "save_every", "checkpoint_dir", "log_dir", "resume", "init_from", "reinit",
           "num_train", "num_val", "max_distractors", "frame_weight",
           "match_weight", "match_tokens", "gate_close_weight", "gate_open_weight", "wrong_value_weight", "decision_weight",
           "kind_match_weight", "silence_fraction", "mix", "seed",
           "max_steps", "max_minutes")
FLAGS = {"learning_rate": "--lr", "gate_learning_rate": "--gate-lr", "query_gate_learning_rate": "--query-gate-lr",
         "abstain_slot_learning_rate": "--abstain-slot-lr", "message_key_learning_rate": "--message-key-lr",
         "num_epochs": "--epochs",
         "gradient_accumulation_steps": "--grad-accum"}


def main(argv: list[str] | None = None) -> int:
    from seam.training.trainer import Trainer, TrainingConfig

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(p)
    p.add_argument("--token-keys", action=argparse.BooleanOptionalAction, default=False,
                   help="key memory items by the token before them too, and queries by the token read at (see MemoryConfig.token_keys)")
    p.add_argument("--token-channel", choices=("scale", "projection"), default="scale",
                   help="with --token-keys: a learned scalar per layer times the identity (default), or two learned "
                        "matrices per layer (see MemoryConfig.token_channel)")
    p.add_argument("--recency-bias", action=argparse.BooleanOptionalAction, default=False,
                   help="learned read preference for newer items (see MemoryConfig.recency_bias)")
    p.add_argument("--abstain-slot", action=argparse.BooleanOptionalAction, default=False,
                   help="a learned slot every read sees, for 'you never told me' (see MemoryConfig.abstain_slot)")
    p.add_argument("--abstain-match", action=argparse.BooleanOptionalAction, default=False,
                   help="with --abstain-slot: a learned kind-match score between the question and the memory's slots raises the "
                        "abstain slot's logit when nothing told matches (see MemoryConfig.abstain_match)")
    p.add_argument("--message-key", action=argparse.BooleanOptionalAction, default=False,
                   help="key each item by its message's last state too, so a value said before its frame ('Thimphu, not "
                        "Salzburg.') can be found (see MemoryConfig.message_key)")
    p.add_argument("--query-gate", action=argparse.BooleanOptionalAction, default=False,
                   help="a learned per-position gate on the read: read nothing where the text is not about the user "
                        "(see MemoryConfig.query_gate)")
    p.add_argument("--relative-read", action=argparse.BooleanOptionalAction, default=False,
                   help="scale each read by the RMS of the hidden state it joins (needed for Gemma 3's large residual "
                        "stream; see MemoryConfig.relative_read)")
    add_config_args(p, TrainingConfig, EXPOSED, flags=FLAGS)
    args = p.parse_args(argv)
    tconf = config_from_args(p, TrainingConfig, args)
    try:
        config = build_experiment_config(args)
        config.memory.token_keys = args.token_keys
        config.memory.token_channel = args.token_channel
        config.memory.recency_bias = args.recency_bias
        config.memory.abstain_slot = args.abstain_slot
        config.memory.abstain_match = args.abstain_match
        config.memory.query_gate = args.query_gate
        config.memory.message_key = args.message_key
        if args.abstain_match and not args.abstain_slot:
            raise ValueError("--abstain-match scores the abstain slot's logit: add --abstain-slot.")
        config.memory.relative_read = args.relative_read
        for flag, weight in (("--gate-close-weight", tconf.gate_close_weight), ("--gate-open-weight", tconf.gate_open_weight)):
            if weight and not args.query_gate:
                raise ValueError(f"{flag} trains the read's query gates: add --query-gate.")
    except ValueError as err:
        p.error(str(err))
    log_file = setup_logging(tconf.log_dir, f"training_{time.strftime('%Y%m%d_%H%M%S')}.log")

    from seam.lm.model import MemoryAugmentedModel

    model = MemoryAugmentedModel(config)
    try:
        trainer = Trainer(model, tconf)
    except ValueError as err:  # e.g. --reinit naming an option this model has off
        p.error(str(err))
    result = trainer.train()
    plot = trainer.plot()
    result.update({"plot": str(plot), "log": str(log_file)})
    logging.getLogger("train").info("done: %s", json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
