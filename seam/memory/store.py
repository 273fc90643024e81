"""SurpriseGatedStore: long-term memory that keeps only what surprised the model.

Axis legend: B owners, Ns store slots, T new items, D memory width.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .config import MemoryConfig
from .slots import gather_pool, upsert
from .state import MemoryState, untagged


class SurpriseGatedStore:
    """Consolidating store gated by surprise z-scores.

    The caller supplies a raw surprise per item (for an LM, the token's surprisal under the frozen model;
    for embeddings, novelty against memory). It is turned into a z-score against the owner's EMA
    statistics; an item enters when z > z_score_threshold + capacity_pressure * fullness. A written item
    whose key matches a slot replaces that slot (a correction updates rather than adds a rival); when the
    store is full the least important slot (lowest z, then oldest) goes. Store slots do not decay.
    Only `write` moves the statistics; reading never does.
    """

    def __init__(self, config: MemoryConfig):
        self.config = config

    def z_scores(self, state: MemoryState, surprise: Tensor, mask: Tensor) -> Tensor:
        """z (B, T) of surprise against the owner's statistics; an owner with none yet is scored against
        this turn itself. Non-finite surprise (unmeasurable) and masked items get z = 0."""
        valid = mask & torch.isfinite(surprise)
        x = torch.where(valid, surprise, torch.zeros_like(surprise))
        n = valid.sum(1).clamp(min=1)
        turn_mean = x.sum(1) / n
        turn_var = ((x - turn_mean[:, None]) ** 2 * valid).sum(1) / n
        has_stats = state.surprise_count > 0
        mean = torch.where(has_stats, state.surprise_mean, turn_mean)
        var = torch.where(has_stats, state.surprise_var, turn_var)
        std = var.sqrt().clamp(min=self.config.surprise_std_floor)
        z = (x - mean[:, None]) / std[:, None]
        return torch.where(valid, z, torch.zeros_like(z))

    def update_statistics(self, state: MemoryState, surprise: Tensor, mask: Tensor) -> MemoryState:
        """Move the EMA mean/variance by one turn: m' = (1-a) m + a mean_turn, v' = (1-a) v + a E_turn[(x-m')^2]."""
        a = self.config.ema_alpha
        valid = mask & torch.isfinite(surprise)
        count = valid.sum(1)
        x = torch.where(valid, surprise, torch.zeros_like(surprise)).detach()
        n = count.clamp(min=1)
        turn_mean = x.sum(1) / n
        has_stats = state.surprise_count > 0
        mean = torch.where(has_stats, (1 - a) * state.surprise_mean + a * turn_mean, turn_mean)
        turn_var = ((x - mean[:, None]) ** 2 * valid).sum(1) / n
        var = torch.where(has_stats, (1 - a) * state.surprise_var + a * turn_var, turn_var)
        seen = count > 0
        return state.replace(
            surprise_mean=torch.where(seen, mean, state.surprise_mean),
            surprise_var=torch.where(seen, var, state.surprise_var),
            surprise_count=state.surprise_count + count,
        )

    def threshold(self, state: MemoryState) -> Tensor:
        """Per-owner gate (B,): z_score_threshold + capacity_pressure * fullness (slots used of the capacity)."""
        fullness = state.store_used.sum(1).to(state.store_importance.dtype) / self.config.store_slots
        return self.config.z_score_threshold + self.config.capacity_pressure * fullness

    def write(
        self, state: MemoryState, keys: Tensor, values: Tensor, z: Tensor, mask: Tensor, tags: Tensor | None = None
    ) -> tuple[MemoryState, dict[str, Tensor]]:
        """Write the items of keys/values (B, T, D) whose z (B, T) passes the gate, with optional integer
        tags (B, T) (-1: none). Statistics are not touched here."""
        B, T, _ = keys.shape
        gate = mask & (z > self.threshold(state)[:, None])
        step = state.clock[:, None].expand(B, T)
        tags = untagged(mask) if tags is None else tags
        up = upsert(
            state.store_keys, state.store_values, state.store_importance, state.store_step, state.store_tags, state.store_used,
            keys, values, z.to(state.store_importance.dtype), step, tags, gate, self.config.match_similarity, self.config.store_slots,
        )
        ones = torch.ones(B, T, dtype=state.store_usage.dtype, device=keys.device)
        usage = gather_pool(state.store_usage + up.updated.long(), ones, up.keep)
        usage = torch.where(up.used, usage, torch.zeros_like(usage))
        new = state.replace(
            store_keys=up.keys, store_values=up.values, store_importance=torch.where(up.used, up.priority, torch.zeros_like(up.priority)),
            store_used=up.used, store_step=up.step, store_usage=usage, store_tags=torch.where(up.used, up.tags, -1),
        )
        return new, {"store_gated": gate.sum(1), "store_inserted": up.inserted.sum(1), "store_updated": up.matched.sum(1)}

    @staticmethod
    def read_bias(state: MemoryState) -> Tensor:
        """Additive attention logits (B, Ns): 0 for used slots (store memories do not fade), -inf for empty."""
        return torch.zeros_like(state.store_importance).masked_fill(~state.store_used, -math.inf)

