"""Load a MemoryAugmentedModel with trained memory weights from any SEAM checkpoint file.

MemoryAugmentedModel.from_pretrained() does this for the shipped checkpoint of a base model; the scripts
also take any checkpoint (e.g. runs/*/checkpoints/best_step*.safetensors). As from_pretrained does, the
memory layer positions and memory settings come from the checkpoint's safetensors metadata unless the
caller fixes the positions (a mismatch is then refused by load_checkpoint with a readable message).
"""

from __future__ import annotations

import glob
import json
import logging
from pathlib import Path

from safetensors import safe_open

from ..lm.config import ExperimentConfig
from ..lm.model import CHECKPOINT_FORMAT, MemoryAugmentedModel

log = logging.getLogger(__name__)

NO_CHECKPOINT = "none"
"""--checkpoint none: untrained memory layers (their zero gates make the model the bare base model)."""


def resolve_checkpoint(checkpoint: str | Path | None, model_name: str) -> Path | None:
    """The checkpoint file to load: the shipped one for `model_name` by default, the newest match of a
    glob pattern (e.g. 'runs/smollm2/checkpoints/best_step*.safetensors'), or None for 'none'."""
    if checkpoint is None:
        path = MemoryAugmentedModel.pretrained_checkpoint(model_name)
        if not path.is_file():
            raise FileNotFoundError(
                f"No shipped SEAM checkpoint for base model {model_name!r} (looked for {path}). Train one with "
                f"train.py and pass it with --checkpoint, or pass --checkpoint {NO_CHECKPOINT} for untrained memory."
            )
        return path
    text = str(checkpoint)
    if text.lower() == NO_CHECKPOINT:
        return None
    if any(c in text for c in "*?["):
        matches = sorted(glob.glob(text), key=lambda p: Path(p).stat().st_mtime)
        if not matches:
            raise FileNotFoundError(f"No checkpoint matches {text!r}.")
        if len(matches) > 1:
            log.info("%d checkpoints match %r; using the newest, %s.", len(matches), text, matches[-1])
        text = matches[-1]
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    return path


def checkpoint_metadata(path: Path) -> dict[str, str]:
    """The safetensors metadata of a SEAM checkpoint; ValueError with a sentence for anything else."""
    if path.suffix != ".safetensors":
        raise ValueError(f"{path} is not a .safetensors file. SEAM checkpoints are safetensors (pickled .pt files are never loaded).")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as err:
        raise ValueError(f"{path} is not a readable safetensors file ({err}).") from err
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a SEAM checkpoint (its metadata has no '{CHECKPOINT_FORMAT}' format tag).")
    return meta


def load_trained_model(config: ExperimentConfig, checkpoint: Path | None) -> tuple[MemoryAugmentedModel, dict[str, str]]:
    """Build the model for `config` and load `checkpoint` (None: untrained memory).

    The checkpoint is checked before the base model is loaded, so a wrong path fails in milliseconds.
    Returns (model, checkpoint metadata or {}).
    """
    meta: dict[str, str] = {}
    if checkpoint is not None:
        meta = checkpoint_metadata(checkpoint)
        config = MemoryAugmentedModel.config_for_checkpoint(config, meta)
    model = MemoryAugmentedModel(config)
    if checkpoint is not None:
        model.load_checkpoint(checkpoint)
        log.info("Loaded memory weights from %s (layers %s, step %s).", checkpoint, model.config.memory_layer_positions, meta.get("step", "?"))
    else:
        log.warning("No checkpoint: the memory layers are untrained (zero gates: the model answers as the bare base model).")
    return model, meta


def training_split_sizes(meta: dict[str, str]) -> dict[str, int]:
    """num_train / num_val / num_test / seed of the run that made the checkpoint (the trainer's defaults otherwise)."""
    sizes = {"num_train": 500, "num_val": 50, "num_test": 200, "seed": 0}
    if "training_config" in meta:
        trained = json.loads(meta["training_config"])
        sizes.update({k: int(trained[k]) for k in sizes if k in trained})
    return sizes
