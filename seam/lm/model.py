"""MemoryAugmentedModel: SEAM memory layers inside a frozen HuggingFace causal LM, one memory per user.

Axis legend: B users in a batch, T tokens, C hidden width, V vocabulary.

The base model never changes. Forward hooks after the decoder layers at `memory_layer_positions` read
the current users' memory (every forward pass: the prompt and each generated token, with the KV cache),
and capture hidden states on a write pass. A user's turn is written once per turn from the prompt's
prefill pass: hidden states at each memory layer are the items, the frozen model's own surprisal of each
token is the surprise (the "internal model"). Memory contents are MemoryState values held per user,
never inside the weights.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypedDict

import torch
from torch import Tensor, nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..memory import DualMemoryLayer, MemoryConfig, MemorySlots, WriteReport
from . import checkpoint
from .base_models import chat_format as resolve_chat_format
from .base_models import load_base_model
from .config import ExperimentConfig, auto_layer_positions
from .hooks import LayerHooks, decoder_layers
from .prompts import Batch, Message, Rendered, check_history, check_text, left_pad, render, render_reply
from .streaming import RowStreamer
from .users import Receipt, UserMemories, UserMemory, check_user

log = logging.getLogger(__name__)

SPAN_SPARE_ROWS = 64
"""A write takes its message's surprisal from the prefill's own logits when at most this many of the rows they
need are not the message's (see `MemoryAugmentedModel.surprisal_span`)."""

__all__ = ["Batch", "ForwardOutput", "GenerateInfo", "MemoryAugmentedModel", "UserMemory", "WriteInfo", "position_ids",
           "trainable_parameters"]


class WriteInfo(TypedDict):
    """What writing one user turn did (remember's result; part of generate's info when it writes)."""

    tokens_written: int
    tokens: list[str]
    """The message's tokens, as the tokenizer spells them."""
    surprise_z: list[float]
    """Each token's surprise z-score (the first memory layer's statistics)."""
    max_surprise_z: float
    store_threshold: float
    """The store's gate in force for this write (z above it enters the long-term store)."""
    written: dict[str, int]
    """Items per outcome, summed over the memory layers: buffer_inserted, buffer_refreshed, store_gated, ..."""


class GenerateInfo(TypedDict, total=False):
    """What generate() reports per user: always user, prompt_tokens and new_tokens; with update_memory the
    WriteInfo fields of the written turn; with memory in use, "memory": slots used per layer."""

    user: str
    prompt_tokens: int
    new_tokens: int
    tokens_written: int
    tokens: list[str]
    surprise_z: list[float]
    max_surprise_z: float
    store_threshold: float
    written: dict[str, int]
    memory: dict[str, dict[str, int]]


@dataclass
class ForwardOutput:
    """What MemoryAugmentedModel.forward returns."""

    logits: Tensor  # (B, L, V): the last L positions (all of them unless logits_to_keep was given)
    hidden: dict[int, Tensor] = field(default_factory=dict)
    """Each memory layer's input hidden states (B, T, C) by decoder position, when captured."""
    final: Tensor | None = None
    """The decoder's last hidden states (B, T, C), what the LM head reads, when captured."""


def recent_token_windows(input_ids: Tensor, window: int, prev: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The query tags of a forward call: each position's last `window` token ids (B, T, W), the earlier ones from
    `prev` (B, W-1) (the previous call's, in a generate pass; -1, hiding nothing, before the first), and the
    last W-1 ids for the next call."""
    B = input_ids.shape[0]
    if prev is None or prev.shape[0] != B:
        prev = input_ids.new_full((B, window - 1), -1)
    seq = torch.cat([prev, input_ids], 1)  # (B, W-1+T)
    return seq.unfold(1, window, 1), seq[:, seq.shape[1] - (window - 1) :]


class _Pass:
    """What the hooks do during one forward or generate call: which memory to read, whether to capture."""

    def __init__(self, slots: list[MemorySlots] | None, capture: bool):
        self.slots = slots  # one per memory layer, prepared once for the whole pass
        self.query_tags: Tensor | None = None  # (B, T, W): each position's token and the W-1 before it
        self.recent: Tensor | None = None  # (B, W-1): the last tokens seen in this pass (a decode step's window)
        self.tokens: Tensor | None = None  # (B, T, C): embeddings of this forward call's tokens (token_keys only)
        self.captured: dict[int, Tensor] | None = {} if capture else None
        self.final: Tensor | None = None  # with capture: the decoder's output of the first call (the prompt)
        self.calls = 0  # forward calls seen so far (the first is the prompt's prefill)
        self.floor_at: Tensor | Literal[False] | None = None  # (B, T) where abstain_match's floor applies (None: all, False: none)


LOGSUMEXP_ROWS = 16
"""Rows of logits (K, V) that `_logsumexp_rows` reduces at a time."""


def _logsumexp_rows(logits: Tensor) -> Tensor:
    """torch.logsumexp(logits, -1) of (K, V), LOGSUMEXP_ROWS rows at a time: the same bits (each row is reduced
    on its own either way), but its temporaries (logits less their row maxima, exponentiated) stay in the CPU's
    cache: a 16-user turn's ~250 message rows of a 49k vocabulary take about a quarter of the time."""
    return torch.cat([torch.logsumexp(part, -1) for part in logits.split(LOGSUMEXP_ROWS)])


def bf16_native(device: torch.device | str) -> bool:
    """Whether `device` multiplies bfloat16 natively (a CUDA GPU with bf16, a CPU with AVX512-BF16 or AMX): there a
    bf16 matrix product is faster than a float32 one; elsewhere it is emulated, and slower."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):  # a torch build without oneDNN
            return False
    return False


def position_ids(attention_mask: Tensor) -> Tensor:
    """Positions (B, T) that skip left padding, as transformers' generate() computes them: a padded row then
    sees the same positions in our own prefill as in generate()'s decode steps and as when run alone."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def trainable_parameters(module: nn.Module) -> dict[str, nn.Parameter]:
    """The one rule for what SEAM trains and saves: the memory layers' parameters, nothing of the base."""
    return {name: p for name, p in module.named_parameters() if name.startswith("memory_layers.")}


class MemoryAugmentedModel(nn.Module):
    """A frozen causal LM with SEAM dual memory layers and per-user memory.

    Args:
        config: base model, memory layer positions and memory settings.
        base_model, tokenizer: an already loaded model (tests, notebooks); by default loaded from config.
    """

    def __init__(
        self,
        config: ExperimentConfig | None = None,
        base_model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ):
        super().__init__()
        config = copy.deepcopy(config or ExperimentConfig())
        if base_model is None:
            base_model, tokenizer = load_base_model(config.model_name, device=config.device)
        if tokenizer is None:
            raise ValueError("A tokenizer must be given together with base_model.")
        base_model.requires_grad_(False)
        base_model.eval()
        self.base = base_model
        self.tokenizer = tokenizer
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.chat_format = resolve_chat_format(config.model_name, tokenizer)
        hidden = base_model.config.get_text_config().hidden_size
        if config.memory.key_inputs not in (1, 2):
            raise ValueError(f"memory.key_inputs must be 1 (context) or 2 (context and token) for an LM, got {config.memory.key_inputs}.")
        config.memory = MemoryConfig.from_dict({**config.memory.to_dict(), "hidden_dim": hidden})
        layers = decoder_layers(base_model)
        if config.memory_layer_positions is None:
            config.memory_layer_positions = auto_layer_positions(len(layers))
        self.config = config
        self.memory_layers = nn.ModuleDict({str(p): DualMemoryLayer(config.memory) for p in config.memory_layer_positions})
        self.memory_layers.to(config.device)
        self.users = UserMemories(self.memory_layers, config.memory, config.model_name, config.memory_dir)
        self._layer_index = {p: i for i, p in enumerate(config.memory_layer_positions)}
        self._pass: _Pass | None = None
        self.hooks = LayerHooks(
            layers, config.memory_layer_positions, self._on_layer_output, base_model.get_input_embeddings(), self._on_input_ids,
            head=base_model.get_output_embeddings(), decoder=base_model.get_decoder(), on_decoder_output=self._on_decoder_output,
        )
        self.max_context = int(getattr(base_model.config.get_text_config(), "max_position_embeddings", 2048))
        self._keeps_logits = "logits_to_keep" in inspect.signature(base_model.forward).parameters  # logits of the last k positions only
        self.surprisal_bf16 = bf16_native(config.device) if config.surprisal_bf16 is None else config.surprisal_bf16
        self._head_bf16: tuple[int, Tensor, Tensor | None] | None = None  # (the head weight's data_ptr, its bf16 copy, bias)

    # -- hooks ------------------------------------------------------------------------------------
    def _token_embeddings(self, input_ids: Tensor) -> Tensor:
        """Input embeddings of token ids (B, T) -> (B, T, C), looked up without calling the embedding module
        (whose hook this would re-enter); the memory layers normalise them, so a model's embedding scale
        (Gemma's sqrt(C)) does not matter."""
        return self.base.get_input_embeddings().weight[input_ids].to(torch.float32)

    def _on_input_ids(self, input_ids: Tensor) -> None:
        """Token windows (and with token_keys, token embeddings) of this forward call, carried across the
        prefill and decode calls of one pass; with abstain_floor_positions, the call's positions where the abstain
        floor applies."""
        current, W = self._pass, self.config.memory.hide_recent_tokens
        if current is None or not isinstance(input_ids, Tensor) or input_ids.dim() != 2:
            return
        current.calls += 1
        span = self.config.memory.abstain_floor_positions if self.config.memory.abstain_match else 0
        if span:  # the prompt's last position (it opens the reply) and the next span - 1 calls' (the reply's first tokens)
            current.floor_at = torch.ones_like(input_ids, dtype=torch.bool) if current.calls <= span else False
            if current.calls == 1:
                current.floor_at[:, :-1] = False
        if self.config.memory.token_keys and current.slots is not None:
            current.tokens = self._token_embeddings(input_ids)
        if W == 0:
            return
        prev = current.recent
        current.query_tags, current.recent = recent_token_windows(input_ids, W, prev)

    def _on_layer_output(self, position: int, hidden: Tensor) -> Tensor:
        current = self._pass
        if current is None:
            return hidden  # not a SEAM call: the base model, untouched
        if current.captured is not None and position not in current.captured:
            current.captured[position] = hidden  # first call of a pass = the prompt (prefill)
        if current.slots is None:
            return hidden
        index = self._layer_index[position]
        tags = current.query_tags if current.query_tags is not None and current.query_tags.shape[:2] == hidden.shape[:2] else None
        tokens = current.tokens if current.tokens is not None and current.tokens.shape[:2] == hidden.shape[:2] else None
        floor_at = current.floor_at
        if isinstance(floor_at, Tensor) and floor_at.shape != hidden.shape[:2]:
            floor_at = None
        with torch.profiler.record_function("seam.memory_read"):
            return self.memory_layers[str(position)].read(current.slots[index], hidden, tags, tokens, floor_at)

    def _on_decoder_output(self, hidden: Tensor) -> None:
        current = self._pass
        if current is not None and current.captured is not None and current.final is None:
            current.final = hidden  # the prompt's last hidden states: each message token's surprisal comes from them

    @contextmanager
    def memory_pass(self, states: UserMemory | None, capture: bool = False) -> Iterator[_Pass]:
        """Within the block, forward passes read `states` (and capture the first hidden states if asked)."""
        if not self.hooks.attached:
            raise RuntimeError("The memory hooks were detached; create a new MemoryAugmentedModel to use memory again.")
        if self._pass is not None:
            raise RuntimeError("A memory pass is already running on this model (calls are not re-entrant).")
        slots = None if states is None else [layer.slots(s) for layer, s in zip(self.memory_layers.values(), states)]
        self._pass = _Pass(slots, capture)
        try:
            yield self._pass
        finally:
            self._pass = None

    def detach(self) -> None:
        """Remove the hooks: the base model is then exactly the plain model again."""
        self.hooks.remove()

    def __enter__(self) -> "MemoryAugmentedModel":
        return self

    def __exit__(self, *exc) -> None:
        self.detach()

    @property
    def device(self) -> torch.device:
        return next(self.memory_layers.parameters()).device

    # -- per-user memory (kept by self.users, see users.py) ------------------------------------------
    def empty_memory(self, batch_size: int = 1) -> UserMemory:
        return self.users.empty(batch_size)

    def memory_of(self, user: str = "default") -> UserMemory:
        """The user's memory (loaded from memory_dir the first time, empty if none)."""
        return self.users.get(user)

    def save_memory(self, path: str | Path, user: str = "default") -> None:
        """Save one user's memory to a safetensors file (atomically)."""
        self.users.save(path, user)

    def load_memory(self, path: str | Path, user: str = "default") -> None:
        """Replace one user's memory with the file's; on any error the current memory is kept."""
        self.users.load(path, user)

    def clear_memory(self, user: str = "default") -> None:
        """Forget everything this user told the model."""
        self.users.clear(user)

    def decay(self, cycles: int = 1, user: str = "default") -> None:
        """Let time pass for a user: the buffer fades by decay_rate**cycles; the store keeps."""
        self.users.decay(user, cycles)

    def memory_stats(self, user: str = "default") -> dict:
        return self.users.stats(user)

    # -- prompts ------------------------------------------------------------------------------------
    def render_prompt(self, history: list[Message], message: str) -> Rendered:
        """Token ids of the prompt for `message` after `history`, with this model's system turn."""
        return render(self.tokenizer, self.chat_format, history, message, self.config.system_prompt)

    def prepare(self, texts: Sequence[str], histories: Sequence[list[Message]] | None = None, reserve: int = 0) -> Batch:
        """Render and left-pad prompts; refuses prompts that do not fit the model's context."""
        histories = histories or [[] for _ in texts]
        rendered = []
        for text, history in zip(texts, histories):
            check_text(text)
            check_history(history)
            r = self.render_prompt(history, text)
            if len(r.input_ids) + reserve > self.max_context:
                raise ValueError(
                    f"The prompt is {len(r.input_ids)} tokens; with {reserve} new tokens it exceeds the model's context of "
                    f"{self.max_context} tokens. Shorten the message or the history."
                )
            rendered.append(r)
        return left_pad(rendered, self.tokenizer.pad_token_id, self.device)

    # -- the forward pass ---------------------------------------------------------------------------
    def _base_forward(self, input_ids: Tensor, attention_mask: Tensor, logits_to_keep: int) -> Tensor:
        """The frozen model's logits (B, L, V) for the last L = logits_to_keep positions, inside the current pass."""
        return self.base(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids(attention_mask),
            logits_to_keep=logits_to_keep, use_cache=False,
        ).logits

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, memory: UserMemory | None = None, logits_to_keep: int = 0,
        capture: bool = False,
    ) -> ForwardOutput:
        """One forward pass of the frozen model over left-padded prompts (B, T), reading `memory` (one
        batched state per memory layer; None: the bare model). Differentiable in the memory weights and
        the states' keys and values, which is what the training loss needs.

        Args:
            logits_to_keep: logits only for the last this many positions (0: all).
            capture: also return each memory layer's input hidden states (what a write keys items by).
        """
        with self.memory_pass(memory, capture=capture) as p:
            logits = self._base_forward(input_ids, attention_mask, logits_to_keep)
        return ForwardOutput(logits, dict(p.captured) if capture else {}, p.final)

    # -- writing -------------------------------------------------------------------------------------
    def head_logits(self, hidden: Tensor, bf16: bool = False) -> Tensor:
        """The frozen model's next-token logits (..., V) in float32 from its last hidden states (..., C), as its forward
        computes them: the LM head, then the final soft cap of models that have one (Gemma 2). With bf16, through a
        bfloat16 copy of the head (made once, 2 bytes a weight; see ExperimentConfig.surprisal_bf16)."""
        head = self.base.get_output_embeddings()
        if bf16:
            if self._head_bf16 is None or self._head_bf16[0] != head.weight.data_ptr():
                bias = getattr(head, "bias", None)
                self._head_bf16 = (head.weight.data_ptr(), head.weight.detach().to(torch.bfloat16),
                                   None if bias is None else bias.detach().to(torch.bfloat16))
            _, weight, bias = self._head_bf16
            logits = nn.functional.linear(hidden.to(torch.bfloat16), weight, bias).float()
        else:
            logits = head(hidden).float()
        cap = getattr(self.base.config.get_text_config(), "final_logit_softcapping", None)
        return logits if cap is None else torch.tanh(logits / cap) * cap

    def message_surprisal(self, final: Tensor | None, input_ids: Tensor, mask: Tensor, logits: Tensor | None = None) -> Tensor:
        """-log p(x_t | x_<t) under the frozen model for the tokens where `mask` (B, T); nan elsewhere.

        From the prefill's own logits of its last L positions (`logits` (B, L, V), L = `surprisal_span(mask)`)
        when given, else from the decoder's last hidden states `final` (B, T, C): then only the masked tokens'
        predictions go through the vocabulary head, so a turn's write costs its message, not every position of
        the prompt."""
        B, T = input_ids.shape
        out = torch.full((B, T), float("nan"), device=input_ids.device)
        where = mask.clone()
        where[:, 0] = False  # the first token has no prediction
        rows, cols = where.nonzero(as_tuple=True)
        if rows.numel():
            if logits is not None:
                L = logits.shape[1]
                if int(cols.min()) - 1 < T - L:
                    raise ValueError(f"The kept logits cover the last {L} positions; the message needs {T - int(cols.min()) + 1}.")
                kept = logits[rows, cols - 1 - (T - L)].float()  # (K, V): the position before each token predicts it
            else:
                kept = self.head_logits(final[rows, cols - 1], bf16=self.surprisal_bf16)
            out[rows, cols] = _logsumexp_rows(kept) - kept.gather(-1, input_ids[rows, cols, None]).squeeze(-1)
        return out

    def surprisal_span(self, mask: Tensor) -> int:
        """How many trailing positions of the prefill should keep their logits for the message's surprisal
        (`message_surprisal(logits=)`): from the position before the batch's earliest message token on, when at
        most SPAN_SPARE_ROWS of those rows (over the batch) are not the message's; else 0 (the message rows go
        through the head afterwards). The span shares the head's one weight read that the prefill pays anyway
        (one user's turn: about 30-40 ms saved here); in a batch of messages of unequal length most of its rows
        would be padding and prompt, whose arithmetic costs more than a second read. 0 with `surprisal_bf16`: the
        message rows then always go through the bf16 head, so a turn's surprisal is the same alone or in a batch
        (the float32 span would save a few ms at a few users; at 16 the bf16 rows cost a third of float32 rows)."""
        B, T = mask.shape
        columns = mask.any(0).nonzero()
        if not columns.numel() or not self._keeps_logits or self.surprisal_bf16:
            return 0
        span = min(T, T - int(columns[0]) + 1)
        return span if B * span - int(mask.sum()) <= SPAN_SPARE_ROWS else 0

    def write_captured(
        self, memory: UserMemory, captured: dict[int, Tensor], input_ids: Tensor, surprisal: Tensor, mask: Tensor
    ) -> tuple[UserMemory, list[WriteReport]]:
        """Write the tokens where `mask` (B, T) into the users' memory.

        Each token x_t becomes one item per memory layer: its key comes from that layer's hidden state at
        t-1 (the context that predicted x_t; with key_inputs=2 also the state at t, x_t in its context),
        its value from x_t's input embedding (the token itself), its tag is x_t's id (a query at x_t never
        reads it back), its surprise is the frozen model's surprisal of x_t. A later query from a similar
        context then retrieves the token that followed it. With message_key the key also carries the layer's
        state at the message's last token, the same for every item of the message. Differentiable in the write
        projections; the frozen model's hidden states need no gradient.
        """
        T = mask.shape[1]
        # Only positions from the first written one on are projected (exact: nothing before it is written), so
        # a turn's write costs its message, not the whole conversation resent before it.
        start = int(mask.any(0).nonzero()[0]) if mask.any() else T
        content = self.base.get_input_embeddings()(input_ids[:, start:T]).to(torch.float32)  # (B, T', C)
        previous = None
        if self.config.memory.token_keys:  # the token before each item (a zero vector before the first)
            before = self._token_embeddings(input_ids[:, max(start - 1, 0) : T - 1])
            previous = torch.cat([torch.zeros_like(content[:, :1]), before], 1) if start == 0 else before
        last = None
        if self.config.memory.message_key:  # each row's last message token (left-padded rows: the highest masked position)
            last = torch.where(mask, torch.arange(T, device=mask.device), -1).amax(1).clamp(min=0)
        new_memory, reports = [], []
        for (p, layer), state in zip(self.memory_layers.items(), memory):
            hidden = captured[int(p)][:, :T].to(torch.float32)
            message = None if last is None else hidden[torch.arange(hidden.shape[0], device=hidden.device), last]  # (B, C)
            context = torch.cat([torch.zeros_like(hidden[:, :1]), hidden[:, :-1]], 1)  # (B, T, C) state at t-1
            if self.config.memory.key_inputs == 2:
                context = torch.cat([context, hidden], -1)  # (B, T, 2C): what preceded x_t, and x_t in context
            with torch.profiler.record_function("seam.memory_write"):
                state, report = layer.write(state, context[:, start:], surprisal[:, start:], mask[:, start:], content=content,
                                            tags=input_ids[:, start:T], previous=previous, message=message)
            if start:  # reports cover every position of the prompt, as the caller indexes them
                report.z = torch.cat([report.z.new_zeros(report.z.shape[0], start), report.z], 1)
            new_memory.append(state)
            reports.append(report)
        return new_memory, reports

    def write_turns(self, batch: Batch, memory: UserMemory) -> tuple[UserMemory, list[WriteReport]]:
        """Write each row's user message (batch.message_mask) into the batched `memory`, from one forward
        pass over the prompts that reads it. The frozen model needs no gradient; the write is
        differentiable in the write projections. Returns the new memory and what each layer wrote."""
        span = self.surprisal_span(batch.message_mask)
        with torch.no_grad():
            out = self(batch.input_ids, batch.attention_mask, memory, logits_to_keep=span or 1, capture=True)
        surprisal = self.message_surprisal(out.final, batch.input_ids, batch.message_mask, out.logits if span else None)
        return self.write_captured(memory, {k: v.detach() for k, v in out.hidden.items()}, batch.input_ids, surprisal, batch.message_mask)

    def remember(self, text: str | Sequence[str], user: str | Sequence[str] = "default", history=None) -> list[WriteInfo]:
        """Write a user turn to memory without generating a reply (the write half of generate)."""
        texts, users, histories = self._as_batch(text, user, history)
        batch = self.prepare(texts, histories)
        memory, reports = self.write_turns(batch, self.users.stack(users))
        self.users.commit(users, memory)
        return [self._write_info(reports, i, batch) for i in range(len(users))]

    def _write_info(self, reports: list[WriteReport], i: int, batch: Batch) -> WriteInfo:
        mask = batch.message_mask[i]
        z = reports[0].z[i][mask]
        tokens = self.tokenizer.convert_ids_to_tokens(batch.input_ids[i][mask].tolist())
        counts = {k: int(sum(r.counts[k][i] for r in reports)) for k in reports[0].counts}
        return WriteInfo(**{
            "tokens_written": int(mask.sum()),
            "tokens": tokens,
            "surprise_z": [round(float(v), 3) for v in z],
            "max_surprise_z": float(z.max()) if z.numel() else 0.0,
            "store_threshold": float(reports[0].threshold[i]),
            "written": counts,
        })

    # -- generation ----------------------------------------------------------------------------------
    def _as_batch(self, text, user, history):
        if isinstance(text, str) or not isinstance(text, (list, tuple)):
            texts, users, histories = [text], [user], [history or []]
        else:
            texts = list(text)
            users = list(user) if isinstance(user, (list, tuple)) else [user] * len(texts)
            histories = list(history) if history is not None else [[] for _ in texts]
            if not (len(texts) == len(users) == len(histories)):
                raise ValueError("text, user and history must have the same length when batched.")
            if len(set(users)) != len(users):
                raise ValueError("A batch may hold each user once (their turns are sequential).")
        if not texts:
            raise ValueError("No message given.")
        for u in users:
            check_user(u)
        return texts, users, histories

    @torch.no_grad()
    def generate(
        self,
        text: str | Sequence[str],
        update_memory: bool = True,
        user: str | Sequence[str] = "default",
        history: list[Message] | Sequence[list[Message]] | None = None,
        max_new_tokens: int | None = None,
        min_new_tokens: int = 0,
        do_sample: bool = False,
        temperature: float = 0.7,
        top_p: float = 0.9,
        use_memory: bool = True,
        on_text: Callable[[int, str], None] | None = None,
        receipts: Sequence[Receipt | None] | None = None,
    ) -> tuple[str, GenerateInfo] | tuple[list[str], list[GenerateInfo]]:
        """Reply to `text` in a conversation that so far holds `history` (default: a new conversation).

        With update_memory the user's message is written to their memory once, from the prompt's prefill
        pass, after the reply was generated; on any error nothing is written. A list of texts and users
        generates for several users in one batch (each user at most once). With neither use_memory nor
        update_memory it is the bare model: the users' memories are not touched (not even created) and
        the infos carry no "memory" stats. min_new_tokens: no reply ends before this many tokens (its end of
        turn is held back; benchmarks use it to compare replies of equal length). `on_text(i, text)` streams:
        it is called with row i's reply so far each time it grows, token by token (seam.lm.streaming.RowStreamer),
        before the memory is written.
        `receipts[i]` = (turn id, fields) records row i's turn with its memory, in the same write (the record
        adds the reply and the info's token counts): `users.receipt(user, turn id)` then finds it, after a
        restart too, so a retried turn need not be written twice.
        Returns (reply, info) for one text, (replies, infos) for a list.
        """
        single = isinstance(text, str)
        texts, users, histories = self._as_batch(text, user, history)
        max_new_tokens = max_new_tokens or self.config.max_new_tokens
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}.")
        if not isinstance(min_new_tokens, int) or not 0 <= min_new_tokens <= max_new_tokens:
            raise ValueError(f"min_new_tokens must be an integer from 0 to max_new_tokens ({max_new_tokens}), got {min_new_tokens!r}.")
        if receipts is not None and (not update_memory or len(receipts) != len(texts)):
            raise ValueError("receipts record written turns: pass one (or None) per text, with update_memory=True.")
        batch = self.prepare(texts, histories, reserve=max_new_tokens)
        memory = self.users.stack(users) if use_memory else None
        gen_kwargs = dict(
            max_new_tokens=max_new_tokens,
            **({"min_new_tokens": min_new_tokens} if min_new_tokens else {}),
            do_sample=do_sample,
            pad_token_id=self.tokenizer.pad_token_id,
            **({"temperature": temperature, "top_p": top_p} if do_sample else {"temperature": None, "top_p": None, "top_k": None}),
        )
        new_memory, reports = None, None
        # The turn is written from the pass that answers it, at no extra forward: the hooks capture generate()'s
        # own prefill (each memory layer's hidden states and the decoder's output, whence the message's surprisal).
        # With few rows the prefill also keeps the message's logits (`surprisal_span`; a forward hook takes them
        # from its first call), else the message rows go through the head afterwards.
        span = self.surprisal_span(batch.message_mask) if update_memory else 0
        prefill: dict[str, Tensor] = {}
        hook = None
        if span:
            gen_kwargs["logits_to_keep"] = span  # decode steps have one position: they keep it, as they would anyway

            def keep_prefill_logits(module: nn.Module, args: tuple, output) -> None:  # (returns None: the output is unchanged)
                prefill.setdefault("logits", output.logits)

            hook = self.base.register_forward_hook(keep_prefill_logits)
        with self.memory_pass(memory, capture=update_memory) as p:
            streamer = None
            if on_text is not None:  # a finished row is padded: padding ends a row's text too
                stops = self.end_of_turn_ids() | {self.tokenizer.pad_token_id}
                streamer = RowStreamer(self.tokenizer, len(texts), on_text, self._clean_reply, stops)
            try:
                out = self.base.generate(input_ids=batch.input_ids, attention_mask=batch.attention_mask, streamer=streamer, **gen_kwargs)
            finally:
                if hook is not None:
                    hook.remove()
            captured, final = (dict(p.captured), p.final) if update_memory else ({}, None)
        if update_memory:
            surprisal = self.message_surprisal(final, batch.input_ids, batch.message_mask, prefill.get("logits"))
            new_memory, reports = self.write_captured(self.users.stack(users), captured, batch.input_ids, surprisal, batch.message_mask)
        new_tokens = out[:, batch.input_ids.shape[1] :]
        replies = [self._clean_reply(self.tokenizer.decode(t, skip_special_tokens=True)) for t in new_tokens]
        infos = []
        for i, u in enumerate(users):
            info = GenerateInfo(user=u, prompt_tokens=int(batch.attention_mask[i].sum()),
                                new_tokens=int((new_tokens[i] != self.tokenizer.pad_token_id).sum()))
            if reports is not None:
                info.update(self._write_info(reports, i, batch))
            infos.append(info)
        if update_memory:
            records = None
            if receipts is not None:
                records = [None if r is None else (r[0], {**r[1], "reply": replies[i], "prompt_tokens": infos[i]["prompt_tokens"],
                                                          "new_tokens": infos[i]["new_tokens"],
                                                          "tokens_written": infos[i].get("tokens_written", 0)})
                           for i, r in enumerate(receipts)]
            self.users.commit(users, new_memory, records)
            if self.config.write_replies:
                for i, u in enumerate(users):
                    if replies[i].strip():
                        self._write_reply(u, histories[i], texts[i], replies[i])
        held = new_memory if update_memory else memory  # the bare model (neither) leaves the users' memories untouched
        if held is not None and update_memory and self.config.write_replies:  # the replies were written after new_memory
            held = self.users.stack(users)
        if held is not None:  # slots in use per layer, counted for the whole batch at once
            counts = {f"layer{p}": (s.buffer_used.sum(-1).tolist(), s.store_used.sum(-1).tolist())
                      for p, s in zip(self.config.memory_layer_positions, held)}
            for i in range(len(users)):
                infos[i]["memory"] = {k: {"buffer": b[i], "store": st[i]} for k, (b, st) in counts.items()}
        return (replies[0], infos[0]) if single else (replies, infos)

    def end_of_turn_ids(self) -> set[int]:
        """The token ids that end a reply: the generation config's end-of-sequence ids and the tokenizer's."""
        eos = self.base.generation_config.eos_token_id
        return {t for t in (*(eos if isinstance(eos, list) else [eos]), self.tokenizer.eos_token_id) if t is not None}

    def _clean_reply(self, text: str) -> str:
        """A decoded reply as generate returns it: stripped; a plain prompt's reply ends where it starts the user's next turn."""
        text = text.strip()
        return text.split("\nUser:")[0].strip() if self.chat_format == "plain" else text

    def _write_reply(self, user: str, history: list[Message], message: str, reply: str) -> None:
        """Write the assistant's reply tokens, in the context of the prompt they answered."""
        prompt = self.render_prompt(history, message)
        reply_ids = render_reply(self.tokenizer, self.chat_format, reply)
        ids = torch.tensor([prompt.input_ids + reply_ids], device=self.device)
        mask = torch.tensor([[False] * len(prompt.input_ids) + [True] * len(reply_ids)], device=self.device)
        memory, _ = self.write_turns(Batch(ids, torch.ones_like(ids), mask), self.users.stack([user]))
        self.users.commit([user], memory)

    # -- checkpoints (see checkpoint.py) ------------------------------------------------------------
    def checkpoint_tensors(self) -> dict[str, Tensor]:
        return checkpoint.checkpoint_tensors(self)

    def checkpoint_metadata(self) -> dict[str, str]:
        return checkpoint.build_metadata(self)

    def save_checkpoint(self, path: str | Path, extra_metadata: dict[str, str] | None = None, dtype: torch.dtype | None = None) -> None:
        """Save only SEAM's trainable tensors (safetensors) with the config in the metadata, atomically
        (in `dtype` if given: torch.float16 for a shipped checkpoint)."""
        checkpoint.save_checkpoint(self, path, extra_metadata, dtype)

    def load_checkpoint(self, path: str | Path, new_options: bool = False) -> dict[str, str]:
        """Load trained memory weights (see checkpoint.load_checkpoint). Returns the checkpoint's metadata."""
        return checkpoint.load_checkpoint(self, path, new_options)

    @staticmethod
    def config_for_checkpoint(config: ExperimentConfig, meta: dict[str, str]) -> ExperimentConfig:
        """`config` with what a checkpoint fixes (see checkpoint.config_for_checkpoint)."""
        return checkpoint.config_for_checkpoint(config, meta)

    @classmethod
    def pretrained_checkpoint(cls, model_name: str) -> Path:
        return checkpoint.pretrained_checkpoint(model_name)

    @classmethod
    def from_pretrained(cls, config: ExperimentConfig | None = None) -> "MemoryAugmentedModel":
        """The base model with the project's shipped trained memory weights for it (at the checkpoint's
        memory layers)."""
        config = config or ExperimentConfig()
        path = checkpoint.pretrained_checkpoint(config.model_name)
        if not path.is_file():
            raise FileNotFoundError(
                f"No shipped SEAM checkpoint for base model {config.model_name!r} (looked for {path}). Train one with train.py."
            )
        model, _ = checkpoint.load_trained_model(replace(config, memory_layer_positions=None), path)
        return model
