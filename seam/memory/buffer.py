"""DecayingBuffer: short-term memory. Every write enters; strength fades per decay cycle; reads weigh by it.

Axis legend: B owners, Nb buffer slots, T new items, D memory width.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .config import MemoryConfig
from .slots import upsert
from .state import MemoryState, untagged


class DecayingBuffer:
    """Episodic buffer with exponential temporal decay.

    Strength starts at 1 when an item is written (or re-written: a near-duplicate key refreshes its slot)
    and is multiplied by `decay_rate` per decay cycle. Reads add log(strength) to the attention logits,
    so a slot at strength s gets s times the weight it had when fresh: decay really fades recall. When the
    buffer is full the weakest slot (oldest among equals) is replaced.
    """

    def __init__(self, config: MemoryConfig):
        self.config = config

    def write(
        self, state: MemoryState, keys: Tensor, values: Tensor, mask: Tensor, tags: Tensor | None = None
    ) -> tuple[MemoryState, dict[str, Tensor]]:
        """Write items keys/values (B, T, D) where mask (B, T) is true, with optional integer tags (B, T)
        (-1: none). Returns the new state and counts per owner."""
        B, T, _ = keys.shape
        ones = torch.ones(B, T, dtype=state.buffer_strength.dtype, device=keys.device)
        step = state.clock[:, None].expand(B, T)
        tags = untagged(mask) if tags is None else tags
        up = upsert(
            state.buffer_keys, state.buffer_values, state.buffer_strength, state.buffer_step, state.buffer_tags, state.buffer_used,
            keys, values, ones, step, tags, mask, self.config.match_similarity, self.config.buffer_slots,
        )
        strength = torch.where(up.used, up.priority, torch.zeros_like(up.priority))
        new = state.replace(buffer_keys=up.keys, buffer_values=up.values, buffer_strength=strength, buffer_step=up.step,
                            buffer_tags=torch.where(up.used, up.tags, -1))
        return new, {"buffer_inserted": up.inserted.sum(1), "buffer_refreshed": up.matched.sum(1)}

    def decay(self, state: MemoryState, cycles: int = 1) -> MemoryState:
        """Fade every slot by decay_rate**cycles; slots below forget_below are freed."""
        if cycles < 0:
            raise ValueError(f"decay cycles must be >= 0, got {cycles}.")
        strength = state.buffer_strength * (self.config.decay_rate ** cycles)
        freed = strength < self.config.forget_below
        strength = torch.where(freed, torch.zeros_like(strength), strength)
        # A forgotten slot keeps nothing: its contents are wiped, not just masked.
        keys = state.buffer_keys.masked_fill(freed[..., None], 0.0)
        values = state.buffer_values.masked_fill(freed[..., None], 0.0)
        tags = state.buffer_tags.masked_fill(freed, -1)
        return state.replace(buffer_strength=strength, buffer_keys=keys, buffer_values=values, buffer_tags=tags)

    @staticmethod
    def read_bias(state: MemoryState) -> Tensor:
        """Additive attention logits (B, Nb): log(strength), -inf for empty slots."""
        return torch.log(state.buffer_strength.clamp(min=0)).masked_fill(~state.buffer_used, -math.inf)
