"""Turn conversations into token ids and left-padded batches, and find which tokens are the user's current message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from transformers import PreTrainedTokenizerBase

Message = dict[str, str]  # {"role": "user" | "assistant", "content": str}
PLAIN_REPLY_PREFIX = "\nAssistant:"
_PLACEHOLDER = "\uE000SEAM-MESSAGE\uE000"  # private-use characters: never in a real message or template


@dataclass
class Rendered:
    input_ids: list[int]
    message_mask: list[bool]  # True on the tokens of the current user message (what memory writes)


def render(tokenizer: PreTrainedTokenizerBase, chat_format: str, history: list[Message], message: str,
           system: str | None = None) -> Rendered:
    """The prompt for `message` after `history`, ending where the assistant's reply begins.

    `system`: None renders the chat template as it is (SmolLM2's adds its default system turn, 16 tokens);
    a string is given as the system turn ("" an empty one); in plain format a non-empty string is a first line.
    """
    messages = [*history, {"role": "user", "content": message}]
    if chat_format == "template":
        head = [] if system is None else [{"role": "system", "content": system}]
        text = tokenizer.apply_chat_template([*head, *messages], tokenize=False, add_generation_prompt=True)
        start, end = _message_span(tokenizer, [*head, *history], text, message)
        add_special = False
    else:  # plain "User:/Assistant:" lines for base models without a chat template (Gemma 3 270M)
        lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in messages]
        text = "\n".join(([system] if system else []) + lines) + PLAIN_REPLY_PREFIX
        end = len(text) - len(PLAIN_REPLY_PREFIX)
        start = end - len(message)
        add_special = True
    enc = tokenizer(text, add_special_tokens=add_special, return_offsets_mapping=True)
    mask = [s < end and e > start and e > s for s, e in enc["offset_mapping"]]
    return Rendered(list(enc["input_ids"]), mask)


def _message_span(tokenizer: PreTrainedTokenizerBase, history: list[Message], text: str, message: str) -> tuple[int, int]:
    """Character span of the current message in the rendered `text`. Found where a placeholder message
    renders, not by searching for the message text: that text may also occur later, in the generation
    prompt ('a' in 'assistant')."""
    probe = tokenizer.apply_chat_template(
        [*history, {"role": "user", "content": _PLACEHOLDER}], tokenize=False, add_generation_prompt=True
    )
    start = probe.find(_PLACEHOLDER)
    for content in (message, message.strip()):  # some templates trim the content
        if start >= 0 and content and text.startswith(content, start):
            return start, start + len(content)
    start = text.rfind(message)
    return start, start + len(message)


def render_reply(tokenizer: PreTrainedTokenizerBase, chat_format: str, reply: str) -> list[int]:
    """Token ids of an assistant reply as it continues the rendered prompt (for training targets)."""
    if chat_format == "plain":
        reply = " " + reply
    return tokenizer(reply, add_special_tokens=False)["input_ids"]


@dataclass
class Batch:
    """A left-padded batch of prompts with the positions of each user's current message."""

    input_ids: Tensor  # (B, T)
    attention_mask: Tensor  # (B, T)
    message_mask: Tensor  # (B, T) bool: tokens that memory writes


def check_text(text: object, what: str = "message") -> str:
    """`text` if it is a non-empty string; TypeError / ValueError saying what is wrong otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"The {what} must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise ValueError(f"The {what} is empty.")
    return text


def check_history(history: list[Message]) -> None:
    for m in history:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise ValueError("history must be a list of {'role': 'user'|'assistant', 'content': str} dicts.")
        check_text(m.get("content"), what="history message")


def left_pad(rendered: Sequence[Rendered], pad_id: int, device: torch.device | str = "cpu") -> Batch:
    """Rendered prompts as one left-padded batch (the model continues every row at the same position)."""
    T = max(len(r.input_ids) for r in rendered)
    ids = torch.full((len(rendered), T), pad_id, dtype=torch.long)
    attn = torch.zeros(len(rendered), T, dtype=torch.long)
    msg = torch.zeros(len(rendered), T, dtype=torch.bool)
    for i, r in enumerate(rendered):
        n = len(r.input_ids)
        ids[i, T - n :] = torch.tensor(r.input_ids)
        attn[i, T - n :] = 1
        msg[i, T - n :] = torch.tensor(r.message_mask)
    return Batch(ids.to(device), attn.to(device), msg.to(device))


def continuation_batch(prompts: Batch, continuations: Sequence[Sequence[int]], pad_id: int) -> tuple[Batch, Tensor]:
    """Left-padded prompts (B, P) followed by right-padded continuations (token ids): the batch, and a mask
    (B, P + A) of the positions whose next token is a continuation token (where the logits predict it).
    Teacher forcing for training's targets and the benchmark's KL to the bare model alike."""
    P, B = prompts.input_ids.shape[1], len(continuations)
    A = max(max((len(c) for c in continuations), default=1), 1)
    dev = prompts.input_ids.device
    ids = torch.full((B, P + A), pad_id, dtype=torch.long, device=dev)
    attn = torch.zeros(B, P + A, dtype=torch.long, device=dev)
    predicts = torch.zeros(B, P + A, dtype=torch.bool, device=dev)
    ids[:, :P], attn[:, :P] = prompts.input_ids, prompts.attention_mask
    for i, row in enumerate(continuations):
        ids[i, P : P + len(row)] = torch.tensor(list(row), dtype=torch.long, device=dev)
        attn[i, P : P + len(row)] = 1
        predicts[i, P - 1 : P + len(row) - 1] = True
    return Batch(ids, attn, torch.zeros_like(ids, dtype=torch.bool)), predicts
