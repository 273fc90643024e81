"""SEAM: Surprise-gated Episodic Adaptive Memory for frozen causal LMs."""

from .memory import (
    DecayingBuffer,
    DualMemoryLayer,
    MemoryConfig,
    MemoryCrossAttention,
    MemoryState,
    SurpriseGatedStore,
)

__all__ = [
    "DecayingBuffer",
    "DualMemoryLayer",
    "ExperimentConfig",
    "MemoryAugmentedModel",
    "MemoryConfig",
    "MemoryCrossAttention",
    "MemoryState",
    "SurpriseGatedStore",
]


def __getattr__(name: str):
    # The LM layer imports transformers; load it only when asked, so the memory core stays torch-only.
    if name in ("ExperimentConfig", "MemoryAugmentedModel"):
        from . import lm

        return getattr(lm, name)
    raise AttributeError(name)
