"""Turn a conversation into token ids, and find which tokens are the user's current message."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

Message = dict[str, str]  # {"role": "user" | "assistant", "content": str}


@dataclass
class Rendered:
    input_ids: list[int]
    message_mask: list[bool]  # True on the tokens of the current user message (what memory writes)


def render(tokenizer: PreTrainedTokenizerBase, chat_format: str, history: list[Message], message: str) -> Rendered:
    """The prompt for `message` after `history`, ending where the assistant's reply begins."""
    messages = [*history, {"role": "user", "content": message}]
    if chat_format == "template":
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        add_special = False
    else:  # plain "User:/Assistant:" lines for base models without a chat template (Gemma 3 270M)
        lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in messages]
        text = "\n".join(lines) + "\nAssistant:"
        add_special = True
    start = text.rfind(message)
    end = start + len(message)
    enc = tokenizer(text, add_special_tokens=add_special, return_offsets_mapping=True)
    mask = [s < end and e > start and e > s for s, e in enc["offset_mapping"]]
    return Rendered(list(enc["input_ids"]), mask)


def render_reply(tokenizer: PreTrainedTokenizerBase, chat_format: str, reply: str) -> list[int]:
    """Token ids of an assistant reply as it continues the rendered prompt (for training targets)."""
    if chat_format == "plain":
        reply = " " + reply
    return tokenizer(reply, add_special_tokens=False)["input_ids"]
