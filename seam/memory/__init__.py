"""SEAM memory math: pure torch, no transformers import."""

from .attention import MemoryCrossAttention, MemorySlots, attend
from .buffer import DecayingBuffer
from .config import MemoryConfig
from .layer import DualMemoryLayer, WriteReport, held_items, write_items
from .state import MemoryState, load_states, pack_owners, pack_states, read_metadata, save_file_atomic, save_states, sync_directory
from .store import SurpriseGatedStore

__all__ = [
    "DecayingBuffer",
    "DualMemoryLayer",
    "MemoryConfig",
    "MemoryCrossAttention",
    "MemorySlots",
    "MemoryState",
    "SurpriseGatedStore",
    "WriteReport",
    "attend",
    "held_items",
    "load_states",
    "pack_owners",
    "pack_states",
    "read_metadata",
    "save_file_atomic",
    "sync_directory",
    "save_states",
    "write_items",
]
