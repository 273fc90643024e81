"""SEAM memory math: pure torch, no transformers import."""

from .attention import MemoryCrossAttention
from .buffer import DecayingBuffer
from .config import MemoryConfig
from .layer import DualMemoryLayer, WriteReport
from .state import MemoryState, load_states, save_states
from .store import SurpriseGatedStore

__all__ = [
    "DecayingBuffer",
    "DualMemoryLayer",
    "MemoryConfig",
    "MemoryCrossAttention",
    "MemoryState",
    "SurpriseGatedStore",
    "WriteReport",
    "load_states",
    "save_states",
]
