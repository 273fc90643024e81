"""MemoryCrossAttention: hidden states read the union of buffer and store slots.

Axis legend: B owners, T query positions, N slots, H heads, D memory width, C hidden width.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MemorySlots(NamedTuple):
    """Everything a read needs, with the null slot in front: keys/values (B, N+1, D), bias (B, N+1),
    tags (B, N+1) (the null slot's is -1); match_keys (B, N+1, M), where a design scores each query against the
    slots beyond attention (DualMemoryLayer's abstain_match), else None."""

    keys: Tensor
    values: Tensor
    bias: Tensor
    tags: Tensor
    match_keys: Tensor | None = None

    def rows(self, index: Tensor) -> "MemorySlots":
        """The slots of the owners `index` (n,), one row each."""
        return MemorySlots(*(None if f is None else f[index] for f in self))


class MemoryCrossAttention(nn.Module):
    """Multi-head cross-attention from hidden states (queries) to memory slots (keys, values).

    Slots carry an additive logit bias (log strength; -inf masks empty slots). A fixed all-zero "null"
    slot with bias 0 is always present, so attention can settle on nothing and an empty memory
    retrieves exactly zero (no NaN from an all-masked row). Given query tags, a query never reads a
    slot with its own tag (an LM tags items and queries by token id: the memory must supply what comes
    next, not echo the token just read, which would loop "Keesha" into "Keeshahahaha").
    """

    def __init__(self, hidden_dim: int, memory_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.query_norm = nn.LayerNorm(hidden_dim)
        self.query_proj = nn.Linear(hidden_dim, memory_dim, bias=False)
        self.out_proj = nn.Linear(memory_dim, hidden_dim, bias=False)

    @staticmethod
    def slots(keys: Tensor, values: Tensor, bias: Tensor, tags: Tensor | None = None) -> MemorySlots:
        """Prepare keys/values (B, N, D), bias (B, N) and tags (B, N) for reading: prepend the null slot.
        Done once per forward pass (or generate call), not per generated token."""
        B, N, D = keys.shape
        null = keys.new_zeros(B, 1, D)
        tags = torch.full((B, N), -1, dtype=torch.long, device=keys.device) if tags is None else tags
        return MemorySlots(
            torch.cat([null, keys], 1), torch.cat([null, values], 1), torch.cat([bias.new_zeros(B, 1), bias], 1),
            torch.cat([tags.new_full((B, 1), -1), tags], 1),
        )

    def forward(self, hidden: Tensor, slots: MemorySlots, query_tags: Tensor | None = None, query_extra: Tensor | None = None,
                last_slot_odds: Tensor | None = None) -> Tensor:
        """hidden (B, T, C) reads slots (B, N+1, D) -> retrieved (B, T, C). query_tags (B, T) or (B, T, W),
        if given, hide from each query the slots that carry one of its tags (negative tags hide nothing).
        query_extra (B, T, D), if given, is added to the projected queries (e.g. the token identity part);
        last_slot_odds (B, T), if given: see `attention_logits`."""
        return self.out_proj(attend(self.queries(hidden, query_extra), slots, self.num_heads, query_tags, last_slot_odds))

    def queries(self, hidden: Tensor, query_extra: Tensor | None = None) -> Tensor:
        """The read's queries (B, T, D) of hidden (B, T, C): projected, plus query_extra (B, T, D) if given."""
        q = self.query_proj(self.query_norm(hidden))
        return q if query_extra is None else q + query_extra


def attend(queries: Tensor, slots: MemorySlots, num_heads: int = 1, query_tags: Tensor | None = None,
           last_slot_odds: Tensor | None = None) -> Tensor:
    """Multi-head attention of queries (B, T, D) over prepared slots (B, N+1, D), no projections:
    softmax(q.k / sqrt(D/H) + bias) v per head -> (B, T, D). query_tags (B, T) or (B, T, W), if given, hide
    from each query the slots that carry one of its tags (negative tags hide nothing); last_slot_odds (B, T): see
    `attention_logits` (the weights are then computed from those logits, not by the fused kernel)."""
    B, T, _ = queries.shape
    H = num_heads
    q = queries.view(B, T, H, -1).transpose(1, 2)  # (B, H, T, D/H)
    k = slots.keys.view(B, -1, H, q.shape[-1]).transpose(1, 2)  # (B, H, N+1, D/H)
    v = slots.values.view(B, -1, H, q.shape[-1]).transpose(1, 2)
    if last_slot_odds is None:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_bias(slots, query_tags, q.dtype))  # (B, H, T, D/H)
    else:
        out = attention_logits(queries, slots, num_heads, query_tags, last_slot_odds).softmax(-1) @ v
    return out.transpose(1, 2).reshape(B, T, -1)


def attention_logits(queries: Tensor, slots: MemorySlots, num_heads: int = 1, query_tags: Tensor | None = None,
                     last_slot_odds: Tensor | None = None) -> Tensor:
    """The attention logits of `attend` (B, H, T, N+1), biases and tag mask included, for losses and probes.

    last_slot_odds (B, T), if given, sets a floor under the last slot's share of each query's attention, whatever
    the other logits are: the last slot then gets p + (1 - p) * its own share, every other slot (1 - p) times its own,
    p = sigmoid(odds) (every head). Its logit becomes logaddexp(its own, logsumexp(all) + odds): a decision on a fixed
    scale, where an additive bias would compete with logits that differ by tens to hundreds from query to query."""
    B, T, _ = queries.shape
    q = queries.view(B, T, num_heads, -1).transpose(1, 2)  # (B, H, T, D/H)
    k = slots.keys.view(B, -1, num_heads, q.shape[-1]).transpose(1, 2)
    logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5 + attention_bias(slots, query_tags, q.dtype)
    if last_slot_odds is None:
        return logits
    last = torch.logaddexp(logits[..., -1], logits.logsumexp(-1) + last_slot_odds[:, None].to(logits.dtype))
    return torch.cat([logits[..., :-1], last[..., None]], -1)


def attention_bias(slots: MemorySlots, query_tags: Tensor | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """The additive logit bias of a read: the slots' bias (B, 1, 1, N+1), and with query_tags (B, T) / (B, T, W)
    -inf where a slot carries one of the query's tags (negative tags hide nothing), (B, 1, T, N+1)."""
    mask = slots.bias[:, None, None, :].to(dtype)  # (B, 1, 1, N+1), broadcast over heads and queries
    if query_tags is not None:
        tags = query_tags if query_tags.dim() == 3 else query_tags[..., None]  # (B, T, W)
        tags = tags.masked_fill(tags < 0, -2)  # -2 matches no slot (empty slots and the null slot carry -1)
        same = (tags[:, None, :, :, None] == slots.tags[:, None, None, None, :]).any(-2)  # (B, 1, T, N+1)
        mask = mask.masked_fill(same, float("-inf"))  # the null slot always stays readable
    return mask
