"""Configuration of one memory layer: sizes, decay, and the surprise gate."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


def config_from_dict(cls, data: dict):
    """Build the dataclass `cls` from a dict, refusing unknown fields with their names listed."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"Unknown {cls.__name__} field(s): {', '.join(unknown)}. Known fields: {', '.join(sorted(known))}.")
    return cls(**data)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


TOKEN_CHANNELS = ("scale", "projection")
"""How MemoryConfig.token_keys brings token identity into keys and queries."""


@dataclass
class MemoryConfig:
    """Sizes and dynamics of a SEAM memory layer (the seed's fields and defaults, plus what the design needs)."""

    hidden_dim: int = 768
    """Width of the hidden states the layer reads from and writes to (the base model's hidden size)."""
    memory_dim: int | None = None
    """Width of memory keys and values (None: same as hidden_dim). When equal to hidden_dim, the value and
    output projections start as the identity, so a stored token embedding is read back as itself."""
    num_heads: int = 4
    """Attention heads of the memory read; must divide memory_dim."""
    key_inputs: int = 1
    """How many hidden-state vectors (each hidden_dim wide) are concatenated to form a write key. The LM
    integration uses 2: the state before the token (its context) and the token's own state."""
    token_keys: bool = False
    """For an LM: keys also carry the identity of the token before the item (its input embedding) and
    queries the identity of the token being read at, so a read after "Hannah" matches the item that
    followed "Hannah" when it was said: a multi-token value is copied piece by piece, like an induction
    head. Off: items are keyed by hidden states only."""
    token_channel: str = "scale"
    """With token_keys, how the token identity enters keys and queries: "scale" adds the normalised embedding
    times one learned scalar per layer for keys and one for queries (the identity map; needs memory_dim ==
    hidden_dim; no matrix product, no parameters to speak of), "projection" through two learned C x D matrices per
    layer (starting at 0.5 x identity; what checkpoints from before this field were made with)."""
    recency_bias: bool = False
    """A learned read preference for newer items: each slot's attention logit gets -w * log(1 + age), age
    in written turns since the slot was written, w learned (starting at 0). Lets the later statement of a
    fact win over an earlier one however it was phrased. Off: no age term."""
    message_key: bool = False
    """Keys also carry the message an item was said in: a learned projection (starting at zero: the keys as without it)
    of the layer's state at the message's last token, added to the key of every item of that message. A causal state
    knows only what came before a token, so in "Thimphu, not Salzburg." or "Chloe is my turtle." the value's own key is
    "the start of a message", matched by no question; the message's last state has read the whole turn. Off: keys
    from the item's own states only."""
    abstain_slot: bool = False
    """A learned slot present in every read (its key and value trained, the value starting at zero): what
    a question about the user reads when memory holds no answer, so the model can say it was never told
    even with an empty memory (without it an empty memory retrieves exactly nothing: the bare model)."""
    abstain_match: bool = False
    """With abstain_slot: a learned kind-match score sets a floor under the abstain slot's share of each read,
    sigmoid(100 * (w0 - w1 * m)), where m is the best cosine, over the memory's readable slots, between a small
    projection of the query state and one of each slot's key (-1 for an empty memory), and w0, w1 learned (w0 = -1,
    w1 = 0 at the start: a floor of e^-100, the read as without it; the score itself is trained by the training's
    kind-match term or fitted, never through the read). Lets a read abstain because nothing the user told matches the
    kind asked, a contrast `q . abstain_key` alone never learned (results/design/match_signal), on a fixed scale
    whatever the other slots' logits (results/design/abstain_match). Off: the abstain slot is read like any other."""
    abstain_floor_positions: int = 0
    """With abstain_match, where its floor applies: 0 at every position a pass reads; n > 0 only at the first forward
    call's last position and the n - 1 calls after it: in `generate`, the prompt's last position (whose next token
    opens the reply) and the reply's first n - 1 tokens, where "You haven't told me ..." parts from "You live in ..."
    or "Your name is ...". The decision is made there, and the reply's later positions read as without the floor, so a
    floor partly on cannot spoil a copy (results/design/abstain_match, stage 6). A reading choice, no weight."""
    abstain_match_dim: int = 64
    """With abstain_match: the width of the kind-match projections."""
    query_gate: bool = False
    """A learned per-position gate on the read: hidden + tanh(gate) * (1 + tanh(w . LN(hidden) + b)) * retrieved,
    w and b starting at 0 (so the factor starts at exactly 1). Lets the layer decide from the position's own
    state whether what is being said is about the user at all, and read nothing when it is not (a general
    question asked right after the user said something). Off: every position reads at the layer's one gate."""
    relative_read: bool = False
    """Scale what a read adds by the root-mean-square of the hidden state it is added to (per position):
    hidden + tanh(gate) * rms(hidden) * retrieved. The next block normalises its input by that same RMS, so a
    trained read means the same on any base model. Needed where the residual stream is large: Gemma 3's is
    about 700-1200 per element at the layers memory attaches to, SmolLM2's 12-25, and a read of unit scale
    (LayerNorm'd values through identity projections) is lost in Gemma's. Off: the read's own scale."""
    hide_recent_tokens: int = 4
    """For tagged reads (the LM tags items and queries by token id): a query hides the slots tagged with
    its own token and the tokens just before it, this many in all (0: hide nothing). Memory then supplies
    what comes next and cannot send a name back to a piece it already said ("Zach-ari-as-ari-as")."""
    buffer_slots: int = 256
    """Capacity of the short-term DecayingBuffer."""
    store_slots: int = 128
    """Capacity of the long-term SurpriseGatedStore."""
    decay_rate: float = 0.95
    """Buffer strength kept per decay cycle (one cycle = time between conversations, never a token)."""
    forget_below: float = 0.01
    """A buffer slot whose strength falls below this is freed."""
    z_score_threshold: float = 1.0
    """Surprise z-score an item must exceed to enter the store (before capacity pressure)."""
    ema_alpha: float = 0.1
    """How far one written turn moves the running surprise mean and variance."""
    capacity_pressure: float = 0.5
    """Store threshold = z_score_threshold + capacity_pressure * fullness (fullness in [0, 1])."""
    match_similarity: float = 0.9
    """Cosine similarity of keys above which a write updates that slot (a correction or a repeat) instead of adding a rival."""
    surprise_std_floor: float = 1e-3
    """Smallest standard deviation used for z-scores, so a run of identical surprises cannot divide by zero."""

    def __post_init__(self) -> None:
        if self.memory_dim is not None:
            _check(
                isinstance(self.memory_dim, int) and self.memory_dim >= 1,
                f"MemoryConfig.memory_dim must be a positive integer or None, got {self.memory_dim!r}.",
            )
        for name in ("hidden_dim", "num_heads", "key_inputs", "buffer_slots", "store_slots", "abstain_match_dim"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, f"MemoryConfig.{name} must be a positive integer, got {value!r}.")
        _check(isinstance(self.hide_recent_tokens, int) and self.hide_recent_tokens >= 0,
               f"MemoryConfig.hide_recent_tokens must be an integer >= 0, got {self.hide_recent_tokens!r}.")
        _check(self.abstain_slot or not self.abstain_match,
               "MemoryConfig.abstain_match scores the abstain slot's logit: it needs abstain_slot on.")
        _check(isinstance(self.abstain_floor_positions, int) and self.abstain_floor_positions >= 0,
               f"MemoryConfig.abstain_floor_positions must be an integer >= 0, got {self.abstain_floor_positions!r}.")
        _check(self.token_channel in TOKEN_CHANNELS,
               f"MemoryConfig.token_channel must be one of {', '.join(TOKEN_CHANNELS)}, got {self.token_channel!r}.")
        _check(not (self.token_keys and self.token_channel == "scale" and self.width != self.hidden_dim),
               f"MemoryConfig.token_channel='scale' adds token embeddings to keys as they are, so memory_dim ({self.width}) "
               f"must equal hidden_dim ({self.hidden_dim}); use token_channel='projection' for another width.")
        _check(
            self.width % self.num_heads == 0,
            f"MemoryConfig.memory_dim ({self.width}) must be divisible by num_heads ({self.num_heads}).",
        )
        _check(0.0 < self.decay_rate <= 1.0, f"MemoryConfig.decay_rate must be in (0, 1], got {self.decay_rate!r}.")
        _check(0.0 <= self.forget_below < 1.0, f"MemoryConfig.forget_below must be in [0, 1), got {self.forget_below!r}.")
        _check(0.0 < self.ema_alpha <= 1.0, f"MemoryConfig.ema_alpha must be in (0, 1], got {self.ema_alpha!r}.")
        _check(
            self.capacity_pressure >= 0.0,
            f"MemoryConfig.capacity_pressure must be >= 0, got {self.capacity_pressure!r}.",
        )
        _check(
            -1.0 <= self.match_similarity <= 1.0,
            f"MemoryConfig.match_similarity must be in [-1, 1], got {self.match_similarity!r}.",
        )
        _check(
            self.surprise_std_floor > 0.0,
            f"MemoryConfig.surprise_std_floor must be > 0, got {self.surprise_std_floor!r}.",
        )
        _check(
            isinstance(self.z_score_threshold, (int, float)),
            f"MemoryConfig.z_score_threshold must be a number, got {self.z_score_threshold!r}.",
        )

    @property
    def width(self) -> int:
        """Width of keys and values actually used: memory_dim, or hidden_dim when memory_dim is None."""
        return self.memory_dim if self.memory_dim is not None else self.hidden_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MemoryConfig":
        return config_from_dict(cls, data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))
