"""Attaching SEAM memory to HuggingFace causal LMs."""

from .base_models import BUNDLED, DEFAULT_BASE_MODEL, load_base_model
from .config import ExperimentConfig
from .hooks import DECODER_LAYERS, decoder_layers
from .model import MemoryAugmentedModel, trainable_parameters

__all__ = [
    "BUNDLED",
    "DECODER_LAYERS",
    "DEFAULT_BASE_MODEL",
    "ExperimentConfig",
    "MemoryAugmentedModel",
    "decoder_layers",
    "load_base_model",
    "trainable_parameters",
]
