"""DualMemoryLayer: a short-term buffer and a long-term store, written from and read into hidden states.

Axis legend: B owners, T positions, C hidden width, D memory width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import MemoryCrossAttention, MemorySlots, attention_logits
from .buffer import DecayingBuffer
from .config import MemoryConfig
from .state import MemoryState
from .store import SurpriseGatedStore


@dataclass
class WriteReport:
    """What one write did, per owner."""

    z: Tensor  # (B, T) surprise z-scores of the written items (0 where masked)
    threshold: Tensor  # (B,) store gate in force for this write
    counts: dict[str, Tensor]  # each (B,): buffer_inserted, buffer_refreshed, store_gated, store_inserted, store_updated


def write_items(
    buffer: DecayingBuffer, store: SurpriseGatedStore, state: MemoryState, keys: Tensor, values: Tensor, surprise: Tensor,
    mask: Tensor, tags: Tensor | None = None,
) -> tuple[MemoryState, WriteReport]:
    """Write items, keys and values (B, T, D), where mask (B, T): the one write step of every memory.

    The order matters: z-scores and the store's gate use the statistics from before this write; every
    item enters the buffer; then the surprise statistics move and the clock of each owner that wrote
    ticks. surprise (B, T) is each item's raw surprise; tags (B, T) optional labels (see
    MemoryCrossAttention). Differentiable in keys and values.
    """
    z = store.z_scores(state, surprise, mask)
    threshold = store.threshold(state)
    state, store_counts = store.write(state, keys, values, z, mask, tags)
    state, buffer_counts = buffer.write(state, keys, values, mask, tags)
    state = store.update_statistics(state, surprise, mask)
    state = state.replace(clock=state.clock + mask.any(1).long())
    return state, WriteReport(z=z.detach(), threshold=threshold, counts={**buffer_counts, **store_counts})


def held_items(buffer: DecayingBuffer, store: SurpriseGatedStore, state: MemoryState) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Keys (B, N, D), values (B, N, D), read bias (B, N) and tags (B, N) of every slot a read sees:
    the buffer's, then the store's (N = Nb + Ns; empty slots carry bias -inf)."""
    return _slot_fields(buffer, store, state)[:4]


def _slot_fields(
    buffer: DecayingBuffer, store: SurpriseGatedStore, state: MemoryState, in_use: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """held_items and each slot's write step (B, N); with in_use only the slots some owner of the batch uses
    (the others weigh exactly 0 in every read), in the same order: the rest are never copied."""
    parts = [(state.buffer_keys, state.buffer_values, buffer.read_bias(state), state.buffer_tags, state.buffer_step),
             (state.store_keys, state.store_values, store.read_bias(state), state.store_tags, state.store_step)]
    if in_use:
        kept = [torch.isfinite(part[2]).any(0) for part in parts]  # (N,) per part
        parts = [part if bool(used.all()) else tuple(t[:, used] for t in part) for part, used in zip(parts, kept)]
    return tuple(torch.cat(fields, 1) for fields in zip(*parts))


TOKEN_MATCH_INIT = 0.5
"""Initial scale of the token-identity channel (its scalars, or identity matrices times this) when token_keys is on."""
ABSTAIN_MATCH_SCALE = 100.0
"""With abstain_match: log-odds of the abstain slot's share per unit of its two learned weights (w0 = -1 at the start:
odds of e^-100, the read as without it)."""


def abstain_match_weights(temperature: float, threshold: float, trust: float, shift: float = 0.0) -> Tensor:
    """abstain_match's (w0, w1) for a score calibrated as the logistic "told" = temperature * m - threshold: the floor's
    odds = trust * (threshold - temperature * m) + shift, i.e. trust times the score's log-odds of "never told"
    (results/design/abstain_match/fit_score.py). Trust 0 switches the floor off (w0 = -1, w1 = 0, the start)."""
    if trust == 0:
        return torch.tensor([-1.0, 0.0])
    return torch.tensor([trust * threshold + shift, trust * temperature]) / ABSTAIN_MATCH_SCALE


class DualMemoryLayer(nn.Module):
    """Learned write and read paths around a DecayingBuffer and a SurpriseGatedStore.

    write: keys/values = projections of the (normalised) hidden states; every item enters the buffer,
    items with a high surprise z-score also enter the store. Differentiable in the new keys and values,
    so a loss on a later read trains the write projections.
    read:  hidden + tanh(gate) * CrossAttention(hidden, buffer + store). The gate starts at 0, so an
    untrained layer returns its input exactly (as in PEFT's adaption prompts). With query_gate, each
    position's read is also scaled by a learned factor in [0, 2] of its own state (starting at 1); with
    relative_read, by the RMS of that state (the scale the next block normalises away).
    """

    def __init__(self, config: MemoryConfig):
        super().__init__()
        self.config = config
        C, D = config.hidden_dim, config.width
        self.write_norm = nn.LayerNorm(C)
        self.value_norm = nn.LayerNorm(C)
        self.key_proj = nn.Linear(C * config.key_inputs, D, bias=False)
        self.value_proj = nn.Linear(C, D, bias=False)
        self.attention = MemoryCrossAttention(C, D, config.num_heads)
        self.gate = nn.Parameter(torch.zeros(1))
        if config.token_keys:  # previous-token identity in the key, current-token identity in the query
            self.token_norm = nn.LayerNorm(C)
            if config.token_channel == "scale":  # the same token matches itself from the start (as below)
                self.token_key_scale = nn.Parameter(torch.full((1,), TOKEN_MATCH_INIT))
                self.token_query_scale = nn.Parameter(torch.full((1,), TOKEN_MATCH_INIT))
            else:
                self.token_key_proj = nn.Linear(C, D, bias=False)
                self.token_query_proj = nn.Linear(C, D, bias=False)
        if config.recency_bias:
            self.recency = nn.Parameter(torch.zeros(1))
        if config.message_key:  # starts at zero: an existing layer keys items exactly as before
            self.message_key_norm = nn.LayerNorm(C)
            self.message_key_proj = nn.Linear(C, D, bias=False)
            nn.init.zeros_(self.message_key_proj.weight)
        if config.query_gate:  # starts at a factor of exactly 1: an existing layer reads as before
            self.query_gate_norm = nn.LayerNorm(C)
            self.query_gate = nn.Linear(C, 1)
            nn.init.zeros_(self.query_gate.weight)
            nn.init.zeros_(self.query_gate.bias)
        if config.abstain_slot:
            self.abstain_key = nn.Parameter(torch.randn(D) / D**0.5)
            self.abstain_value = nn.Parameter(torch.zeros(D))
        if config.abstain_match:  # w0 = -1, w1 = 0: a floor of sigmoid(-100) under the abstain share, the read as without it
            M = config.abstain_match_dim
            self.abstain_match_norm = nn.LayerNorm(C)
            self.abstain_match_query = nn.Linear(C, M)
            self.abstain_match_key = nn.Linear(D, M)
            self.abstain_match_weights = nn.Parameter(torch.tensor([-1.0, 0.0]))
        if C == D:
            with torch.no_grad():
                self.value_proj.weight.copy_(torch.eye(C))
                self.attention.out_proj.weight.copy_(torch.eye(C))
                # the same token matches itself from the start (a logit of ~C/H * scale^2 / sqrt(D/H))
                if config.token_keys and config.token_channel == "projection":
                    self.token_key_proj.weight.copy_(TOKEN_MATCH_INIT * torch.eye(C))
                    self.token_query_proj.weight.copy_(TOKEN_MATCH_INIT * torch.eye(C))
        self.buffer = DecayingBuffer(config)
        self.store = SurpriseGatedStore(config)

    def empty_state(self, batch_size: int = 1, device: torch.device | str | None = None) -> MemoryState:
        return MemoryState.empty(self.config, batch_size, device=device or self.gate.device)

    def write(
        self, state: MemoryState, hidden: Tensor, surprise: Tensor, mask: Tensor, content: Tensor | None = None,
        tags: Tensor | None = None, previous: Tensor | None = None, message: Tensor | None = None,
    ) -> tuple[MemoryState, WriteReport]:
        """Write items where mask (B, T); surprise (B, T) is the raw surprise of each item; tags (B, T)
        optional integer labels a query with the same label will not read (see MemoryCrossAttention);
        previous (B, T, C) the embedding of the token before each item (required with token_keys); message (B, C) the
        state at the last token of the message the items were said in (required with message_key).

        Keys are projections of `hidden` (B, T, K*C), K = key_inputs vectors side by side: what a later
        query should match. Values are
        projections of `content` (B, T, C), by default `hidden` itself: what the read returns. (The LM
        integration keys an item by the context that preceded a token and stores the token itself,
        so a read at a similar context retrieves what came next, like an induction head.)
        """
        content = hidden if content is None else content
        B, T, _ = hidden.shape
        parts = hidden.view(B, T, self.config.key_inputs, -1)  # (B, T, K, C): each part normalised on its own
        keys = self.key_proj(self.write_norm(parts).view(B, T, -1))  # (B, T, D)
        if self.config.token_keys:
            if previous is None:
                raise ValueError("This memory layer keys items by the previous token too (token_keys): pass `previous`.")
            keys = keys + self.token_identity(previous, "key")
        if self.config.message_key:
            if message is None:
                raise ValueError("This memory layer keys items by their message too (message_key): pass `message`.")
            keys = keys + self.message_key_proj(self.message_key_norm(message))[:, None]
        values = self.value_proj(self.value_norm(content))  # (B, T, D)
        return write_items(self.buffer, self.store, state, keys, values, surprise, mask, tags)

    def slots(self, state: MemoryState, dtype: torch.dtype = torch.float32) -> MemorySlots:
        """The union of buffer and store, ready to read (computed once per pass, reused for every token), without
        the slots no owner of the batch uses; with recency_bias newer slots weigh more, with abstain_slot the
        learned slot is appended."""
        # Every generated token reads only the slots some owner of the batch uses (a memory is rarely full).
        keys, values, bias, tags, step = _slot_fields(self.buffer, self.store, state, in_use=True)
        if self.config.recency_bias:
            age = (state.clock[:, None] - step).clamp(min=0).to(bias.dtype)
            bias = bias - self.recency.to(bias.dtype) * torch.log1p(age)  # empty slots stay at -inf
        match_keys = None
        if self.config.abstain_match:  # each slot's kind-match key, zero for the null and abstain slots (never compared)
            match_keys = F.pad(F.normalize(self.abstain_match_key(keys), dim=-1), (0, 0, 1, 1)).to(dtype)
        if self.config.abstain_slot:
            B = keys.shape[0]
            keys = torch.cat([keys, self.abstain_key.to(keys.dtype).expand(B, 1, -1)], 1)
            values = torch.cat([values, self.abstain_value.to(values.dtype).expand(B, 1, -1)], 1)
            bias = torch.cat([bias, bias.new_zeros(B, 1)], 1)
            tags = torch.cat([tags, tags.new_full((B, 1), -1)], 1)
        return self.attention.slots(keys.to(dtype), values.to(dtype), bias, tags)._replace(match_keys=match_keys)

    def read(self, state: MemoryState | MemorySlots, hidden: Tensor, query_tags: Tensor | None = None,
             tokens: Tensor | None = None, floor_at: Tensor | Literal[False] | None = None) -> Tensor:
        """hidden (B, T, C) -> hidden + tanh(gate) * retrieved. Never changes the state. query_tags (B, T):
        see MemoryCrossAttention; tokens (B, T, C): the embedding of the token at each position (used with
        token_keys; without it the query carries no token identity); floor_at, with abstain_match: where the abstain
        floor applies, (B, T) bool, None at every position, False at none (the caller knows it, as the model does for
        a decode step past the reply's first tokens: the fused read, no kind match computed, no look at a mask that
        would wait for the device). See MemoryConfig.abstain_floor_positions."""
        slots = state if isinstance(state, MemorySlots) else self.slots(state, hidden.dtype)
        odds = None
        if self.config.abstain_match and floor_at is not False:
            odds = self.abstain_odds(slots, hidden)
            if floor_at is not None:
                odds = odds.masked_fill(~floor_at, float("-inf"))  # a floor of sigmoid(-inf) = 0: the read as without it
        retrieved = self.attention(hidden, slots, query_tags, self.query_identity(tokens, hidden.dtype), odds)
        if self.config.query_gate:
            retrieved = retrieved * self.query_factor(hidden)
        if self.config.relative_read:  # a normaliser, not a signal: no gradient through it
            retrieved = retrieved * hidden.detach().pow(2).mean(-1, keepdim=True).sqrt()
        return hidden + torch.tanh(self.gate).to(hidden.dtype) * retrieved

    def read_logits(self, slots: MemorySlots, hidden: Tensor, query_tags: Tensor | None = None,
                    tokens: Tensor | None = None) -> Tensor:
        """The attention logits (B, H, T, N+1) of `read` over the null slot, the memory's slots and (with abstain_slot,
        last) the abstain slot, for the same queries as `read` (differentiable; -inf where a slot is hidden or empty).
        A loss on what the read picks should use their log_softmax: the read's softmax saturates (logits differ by tens
        to hundreds), where a loss on the probabilities themselves has no gradient left."""
        q = self.attention.queries(hidden, self.query_identity(tokens, hidden.dtype))
        return attention_logits(q, slots, self.attention.num_heads, query_tags, self.abstain_odds(slots, hidden))

    def kind_match(self, slots: MemorySlots, hidden: Tensor) -> Tensor:
        """With abstain_match: for each query state of hidden (B, T, C), the best cosine (B, T) of its kind-match
        projection with a readable memory slot's (-1 when memory holds none: nothing matches)."""
        if not self.config.abstain_match:
            raise ValueError("This memory layer has no kind-match score (MemoryConfig.abstain_match is off).")
        q = F.normalize(self.abstain_match_query(self.abstain_match_norm(hidden)), dim=-1)  # (B, T, M)
        cosine = q @ slots.match_keys.to(q.dtype).transpose(1, 2)  # (B, T, N+2): null, memory slots, abstain
        readable = torch.isfinite(slots.bias)
        readable[:, 0] = readable[:, -1] = False  # (a copy: isfinite makes one) only the memory's own slots count
        return cosine.masked_fill(~readable[:, None], -1.0).amax(-1)

    def abstain_odds(self, slots: MemorySlots, hidden: Tensor) -> Tensor | None:
        """With abstain_match: the log-odds (B, T) of a floor under each query's abstain share, 100 * (w0 - w1 *
        kind_match): the abstain slot (last) gets at least sigmoid(odds) of every head's attention, however far the
        other slots' logits are (see attention_logits); None without it. A floor, not an additive bias: session 31's
        additive form competed with read margins of 40-300 logits that vary from question to question, so no setting
        of w0, w1 separated told from never-told questions (results/design/abstain_match). No gradient reaches the
        score through the read: w0 and w1 learn how far the read trusts it, and the score itself learns only from what
        it is for, told or not (RecallLoss's kind_match_weight, or a fit: results/design/abstain_match/fit_score.py)."""
        if not self.config.abstain_match:
            return None
        w0, w1 = (ABSTAIN_MATCH_SCALE * self.abstain_match_weights).to(hidden.dtype)
        return w0 - w1 * self.kind_match(slots, hidden).detach()  # (B, T)

    def query_identity(self, tokens: Tensor | None, dtype: torch.dtype) -> Tensor | None:
        """What the token channel adds to a read's queries (B, T, D) for token embeddings (B, T, C); None without
        token_keys or without tokens (the query then carries no token identity)."""
        if not self.config.token_keys or tokens is None:
            return None
        return self.token_identity(tokens.to(dtype), "query")

    def token_identity(self, embeddings: Tensor, side: str) -> Tensor:
        """With token_keys: what token embeddings (B, T, C) add to the keys (side "key") or queries ("query"),
        (B, T, D): normalised, then times the channel's scalar or through its projection."""
        normed = self.token_norm(embeddings)
        if self.config.token_channel == "scale":
            return getattr(self, f"token_{side}_scale").to(normed.dtype) * normed
        return getattr(self, f"token_{side}_proj")(normed)

    def query_factor(self, hidden: Tensor) -> Tensor:
        """With query_gate: each position's read factor (B, T, 1) in [0, 2] from its hidden state (B, T, C)."""
        if not self.config.query_gate:
            raise ValueError("This memory layer has no query gate (MemoryConfig.query_gate is off).")
        return 1 + torch.tanh(self.query_gate(self.query_gate_norm(hidden)))

    def decay(self, state: MemoryState, cycles: int = 1) -> MemoryState:
        return self.buffer.decay(state, cycles)
