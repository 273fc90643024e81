"""Attaching SEAM memory to HuggingFace causal LMs."""

from .base_models import BUNDLED, DEFAULT_BASE_MODEL, load_base_model
from .checkpoint import load_trained_model, resolve_checkpoint
from .config import ExperimentConfig
from .hooks import DECODER_LAYERS, decoder_layers
from .model import ForwardOutput, GenerateInfo, MemoryAugmentedModel, WriteInfo, trainable_parameters
from .users import UserMemories, UserMemory

__all__ = [
    "BUNDLED",
    "DECODER_LAYERS",
    "DEFAULT_BASE_MODEL",
    "ExperimentConfig",
    "ForwardOutput",
    "GenerateInfo",
    "MemoryAugmentedModel",
    "UserMemories",
    "UserMemory",
    "WriteInfo",
    "decoder_layers",
    "load_base_model",
    "load_trained_model",
    "resolve_checkpoint",
    "trainable_parameters",
]
