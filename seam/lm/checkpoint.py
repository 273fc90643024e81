"""Checkpoints: the one way to save, inspect and load SEAM's trained memory weights.

A checkpoint is a safetensors file holding only SEAM's tensors (never the base model's), with the
configuration that made them in its metadata (and in a readable .json beside it): base model, memory
layer positions, memory settings, system prompt, package versions, and what the trainer adds (step,
training config). Loading restores that configuration (`config_for_checkpoint`) and refuses, with a
sentence saying what differs, a checkpoint that does not fit the model. Pickled files are never loaded.
"""

from __future__ import annotations

import copy
import glob
import json
import logging
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from ..memory import MemoryConfig, save_file_atomic
from .config import ExperimentConfig

if TYPE_CHECKING:
    from .model import MemoryAugmentedModel

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "seam-checkpoint"
CHECKPOINT_VERSION = "1"
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
NO_CHECKPOINT = "none"
"""--checkpoint none: untrained memory layers (their zero gates make the model the bare base model)."""
OPTION_FIELDS = {"token_keys", "recency_bias", "abstain_slot", "abstain_match", "query_gate", "message_key"}
"""On/off designs that add parameters."""
_SHAPE_FIELDS = ({"hidden_dim", "memory_dim", "num_heads", "key_inputs", "relative_read", "token_channel", "abstain_match_dim"}
                 | OPTION_FIELDS)
"""Fields a checkpoint and its model must agree on (relative_read adds no parameter but changes what they mean)."""
_ONLY_WITH = {"token_channel": "token_keys", "abstain_match_dim": "abstain_match", "abstain_floor_positions": "abstain_match"}
"""Fields that mean something only with an option on: compared only where both the checkpoint and the model have it."""
_LEGACY_DEFAULTS = {"token_channel": "projection"}
"""Memory fields whose default changed after checkpoints were written without them: what those were made with."""


def checkpoint_memory_config(meta: dict[str, str]) -> dict:
    """The memory config a checkpoint was made with, every field present (fields added after it was written: what
    it was made with, i.e. today's default or, where that changed, _LEGACY_DEFAULTS)."""
    saved = json.loads(meta.get("memory_config", "{}"))
    return {**MemoryConfig().to_dict(), **{k: v for k, v in _LEGACY_DEFAULTS.items() if k not in saved}, **saved}


def pretrained_checkpoint(model_name: str) -> Path:
    """Where the project's shipped checkpoint for a base model lives (it may not exist)."""
    return PRETRAINED_DIR / f"{model_name}.safetensors"


def checkpoint_tensors(model: MemoryAugmentedModel, dtype: torch.dtype | None = None) -> dict:
    """SEAM's trainable tensors, on the CPU (cast to `dtype` if given): what a checkpoint holds."""
    from .model import trainable_parameters

    return {name: p.detach().cpu().to(dtype or p.dtype).contiguous() for name, p in trainable_parameters(model).items()}


def build_metadata(model: MemoryAugmentedModel) -> dict[str, str]:
    """The configuration a checkpoint of `model` records (safetensors metadata: strings only)."""
    versions = {pkg: _version(pkg) for pkg in ("seam", "torch", "transformers")}
    text_config = model.base.config.get_text_config()
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "base_model": model.config.model_name,
        "base_model_type": str(text_config.model_type),
        "hidden_size": str(text_config.hidden_size),
        "memory_layer_positions": json.dumps(model.config.memory_layer_positions),
        "memory_config": json.dumps(model.config.memory.to_dict(), sort_keys=True),
        "system_prompt": json.dumps(model.config.system_prompt),
        "versions": json.dumps(versions),
    }


def save_checkpoint(model: MemoryAugmentedModel, path: str | Path, extra_metadata: dict[str, str] | None = None,
                    dtype: torch.dtype | None = None) -> None:
    """Save only SEAM's trainable tensors (safetensors) with the config in the metadata, atomically, and
    the same metadata as readable JSON beside it. dtype: store the tensors in it (torch.float16 for a shipped
    checkpoint, half the size; loading casts to the model's dtype); None: as trained (exact resume)."""
    path = Path(path)
    meta = {**build_metadata(model), **(extra_metadata or {})}
    save_file_atomic(checkpoint_tensors(model, dtype), path, meta)
    path.with_suffix(".json").write_text(json.dumps({k: _maybe_json(v) for k, v in meta.items()}, indent=2))


DERIVED_KEPT = ("training_config", "step", "kind_match_fit")
"""What a checkpoint derived from another without training keeps of its source's metadata."""


def save_derived_checkpoint(model: MemoryAugmentedModel, path: str | Path, source: str | Path, how: str,
                            extra_metadata: dict[str, str] | None = None) -> str:
    """Save a checkpoint made from `source` without training (a design option switched on, a score fitted), in fp16:
    the source's training config and step (DERIVED_KEPT) kept, and `derived_from` = "{source} {how}", after the
    source's own chain if it was itself derived. Returns that chain."""
    meta = read_metadata(source)
    derived = f"{source} {how}"
    if "derived_from" in meta:  # the source was itself derived: keep the whole chain
        derived = f"{meta['derived_from']}; then {derived}"
    kept = {k: v for k, v in meta.items() if k in DERIVED_KEPT}
    save_checkpoint(model, path, {**kept, "derived_from": derived, **(extra_metadata or {})}, dtype=torch.float16)
    return derived


def read_metadata(path: str | Path) -> dict[str, str]:
    """The safetensors metadata of a SEAM checkpoint; ValueError with a sentence for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
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


def system_prompt_of(meta: dict[str, str]) -> str | None:
    """The system prompt a checkpoint was trained with (checkpoints from before it was recorded: None,
    the chat template's own)."""
    return json.loads(meta["system_prompt"]) if "system_prompt" in meta else None


def config_for_checkpoint(config: ExperimentConfig, meta: dict[str, str]) -> ExperimentConfig:
    """A copy of `config` with what a checkpoint fixes: its memory sizes and system prompt, and its memory
    layer positions unless `config` names some (a mismatch is then refused by load_checkpoint)."""
    config = copy.deepcopy(config)
    if config.memory_layer_positions is None:
        config.memory_layer_positions = json.loads(meta["memory_layer_positions"])
    config.memory = MemoryConfig.from_dict(checkpoint_memory_config(meta))
    config.system_prompt = system_prompt_of(meta)
    return config


def load_checkpoint(model: MemoryAugmentedModel, path: str | Path, new_options: bool = False) -> dict[str, str]:
    """Load trained memory weights into `model`. Refuses, with a sentence saying what differs, a checkpoint
    made for another hidden size, other layer positions or memory sizes. Returns the checkpoint's metadata.

    new_options: the model may have options on that the checkpoint was trained without (token_keys,
    recency_bias, abstain_slot, query_gate): the checkpoint's tensors are loaded and the options' own
    parameters keep their initialisation (a warm start; every other difference is still refused)."""
    from .model import trainable_parameters

    path = Path(path)
    added: list[str] = []  # with new_options: the options the model has on and the checkpoint was trained without
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path), device=str(model.device))
    except Exception as err:
        raise ValueError(f"{path} is not a readable safetensors file ({err}).") from err
    mine = build_metadata(model)
    problems = []
    if meta.get("hidden_size") != mine["hidden_size"]:
        problems.append(f"it was trained for hidden size {meta.get('hidden_size')} but this base model has {mine['hidden_size']}")
    if meta.get("memory_layer_positions") != mine["memory_layer_positions"]:
        problems.append(
            f"it has memory layers at {meta.get('memory_layer_positions')} but this model has them at {mine['memory_layer_positions']}"
        )
    if meta.get("memory_config") != mine["memory_config"]:
        # fields added after a checkpoint was written take their defaults (what that checkpoint was trained with)
        theirs, ours = checkpoint_memory_config(meta), json.loads(mine["memory_config"])
        differing = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)
                     and (k not in _ONLY_WITH or (theirs.get(_ONLY_WITH[k]) and ours.get(_ONLY_WITH[k])))]
        diff = [f"{k}={theirs.get(k)} (model: {ours.get(k)})" for k in differing]
        shape = [k for k in differing if k in _SHAPE_FIELDS]
        if new_options:
            added = [k for k in shape if k in OPTION_FIELDS and theirs.get(k) is False and ours.get(k) is True]
        if len(added) < len(shape):
            problems.append("its memory design differs: " + ", ".join(diff))
        elif diff:  # (an older checkpoint's settings read with today's defaults may differ in nothing)
            log.info("Checkpoint memory settings differ from the model's (model's kept): %s", ", ".join(diff))
    params = trainable_parameters(model)
    missing, unexpected = sorted(set(params) - set(tensors)), sorted(set(tensors) - set(params))
    if not problems and added and missing and not unexpected and set(missing) <= option_parameters(model, added):
        log.info("Warm start from %s: %d new parameter(s) keep their initialisation: %s", path, len(missing), ", ".join(missing[:6]))
    elif not problems and (missing or unexpected):
        problems.append(f"its tensors differ (missing: {missing[:5]}, unexpected: {unexpected[:5]})")
    if problems:
        raise ValueError(f"Checkpoint {path} does not fit this model: " + "; ".join(problems) + ".")
    for name, tensor in tensors.items():
        if params[name].shape != tensor.shape:
            raise ValueError(f"Checkpoint {path} does not fit this model: "
                             f"{name} has shape {tuple(tensor.shape)}, expected {tuple(params[name].shape)}.")
    with torch.no_grad():
        for name, tensor in tensors.items():
            params[name].copy_(tensor)
    if meta.get("base_model") != model.config.model_name:
        log.warning("Checkpoint was trained on base model %s; this model uses %s.", meta.get("base_model"), model.config.model_name)
    trained_system = system_prompt_of(meta)
    if trained_system != model.config.system_prompt:
        log.warning("Checkpoint was trained with system prompt %r; this model uses %r (memory reads and writes see other "
                    "prompts than in training). Build the model with MemoryAugmentedModel.config_for_checkpoint.",
                    trained_system, model.config.system_prompt)
    return meta


def option_parameters(model: MemoryAugmentedModel, options: list[str]) -> set[str]:
    """The names of the model's parameters that exist only because these on/off options are on."""
    from ..memory import DualMemoryLayer

    off = [*options, "abstain_match"] if "abstain_slot" in options else options  # (abstain_match needs abstain_slot)
    without = MemoryConfig.from_dict({**model.config.memory.to_dict(), **dict.fromkeys(off, False)})
    own = {name for name, _ in DualMemoryLayer(without).named_parameters()}
    return {f"memory_layers.{p}.{name}" for p, layer in model.memory_layers.items()
            for name, _ in layer.named_parameters() if name not in own}


def reinitialise_options(model: MemoryAugmentedModel, options: list[str]) -> list[str]:
    """Put the parameters of these on/off options (e.g. ["query_gate"]) back at a fresh layer's initialisation,
    in every memory layer; the rest of the model is untouched. Returns the names of the parameters reset.

    For a warm start whose option learned a saturated state: a query gate that learned to shut (1 + tanh at -1)
    gets almost no gradient there, so an opening term cannot reopen it; from its start (a factor of 1 everywhere)
    the closing and opening terms train it together."""
    from ..memory import DualMemoryLayer

    off = [o for o in options if o not in OPTION_FIELDS or not getattr(model.config.memory, o)]
    if off:
        raise ValueError(f"Cannot reinitialise {', '.join(off)}: the options this model has on are "
                         f"{', '.join(sorted(o for o in OPTION_FIELDS if getattr(model.config.memory, o))) or 'none'}.")
    names = sorted(option_parameters(model, options))
    fresh = dict(DualMemoryLayer(model.config.memory).named_parameters())
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in names:
            params[name].copy_(fresh[name.split(".", 2)[2]])
    return names


def resolve_checkpoint(checkpoint: str | Path | None, model_name: str) -> Path | None:
    """The checkpoint file to load: the shipped one for `model_name` by default, the newest match of a
    glob pattern (e.g. 'runs/smollm2/checkpoints/best_step*.safetensors'), or None for 'none'."""
    if checkpoint is None:
        path = pretrained_checkpoint(model_name)
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


def load_trained_model(config: ExperimentConfig, checkpoint: str | Path | None) -> tuple[MemoryAugmentedModel, dict[str, str]]:
    """Build the model for `config` and load `checkpoint` (None: untrained memory), restoring what the
    checkpoint fixes (see config_for_checkpoint).

    The checkpoint is checked before the base model is loaded, so a wrong path fails in milliseconds.
    Returns (model, checkpoint metadata or {}).
    """
    from .model import MemoryAugmentedModel

    meta: dict[str, str] = {}
    if checkpoint is not None:
        meta = read_metadata(checkpoint)
        config = config_for_checkpoint(config, meta)
    model = MemoryAugmentedModel(config)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
        log.info("Loaded memory weights from %s (layers %s, step %s).", checkpoint, model.config.memory_layer_positions,
                 meta.get("step", "?"))
    else:
        log.warning("No checkpoint: the memory layers are untrained (zero gates: the model answers as the bare base model).")
    return model, meta


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def _maybe_json(value: str):
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value
