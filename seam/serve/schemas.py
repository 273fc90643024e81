"""The request bodies the server accepts, as strict pydantic models (a wrong JSON type is refused, never coerced).

Only what SEAM can honour is accepted with a meaning; OpenAI fields it cannot honour (several choices,
tools, log-probabilities) are refused with a 400 naming the field; other OpenAI fields (seed,
presence_penalty, metadata, ...) are accepted and ignored, as OpenAI-compatible servers commonly do.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..lm.prompts import Message
from .errors import bad_request

ROLES = ("system", "developer", "user", "assistant")


class TextPart(BaseModel):
    """A content part; only text parts are supported."""

    model_config = ConfigDict(strict=True, extra="ignore")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`: OpenAI's fields that SEAM honours."""

    model_config = ConfigDict(strict=True, extra="ignore")
    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    min_tokens: int | None = Field(None, ge=0)
    """Not OpenAI's: vLLM's extension (its name and meaning): the reply ends no sooner than this many tokens."""
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    n: int | None = Field(None, ge=1)
    tools: list | None = None
    logprobs: bool | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("up to 4 non-empty stop sequences")
        return value

    def refuse_unsupported(self) -> None:
        """400 for fields this server cannot honour rather than silently answering something else."""
        if self.n not in (None, 1):
            raise bad_request("This server returns one choice per request: n must be 1.", "n", "unsupported_value")
        if self.tools:
            raise bad_request("Tools (function calling) are not supported by this server.", "tools", "unsupported_parameter")
        if self.logprobs:
            raise bad_request("logprobs are not supported by this server.", "logprobs", "unsupported_parameter")

    def stops(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    def conversation(self) -> tuple[list[Message], str, int]:
        """(history, the last user message, number of system/developer messages left out).

        The last message must be the user's: it is the one that is answered and written to memory; the
        user and assistant messages before it are the conversation's context. System and developer messages
        are not used: the model is prompted with the system turn its checkpoint was trained with.
        An assistant message without text (e.g. an empty reply) is left out of the context.
        """
        last = self.messages[-1]
        index = len(self.messages) - 1
        if last.role != "user":
            raise bad_request(f"The last message must have role 'user' (it is the one answered and remembered), got '{last.role}'.",
                              f"messages[{index}].role")
        history: list[Message] = []
        ignored = 0
        for i, message in enumerate(self.messages):
            text = message.text()
            if message.role in ("system", "developer"):
                ignored += 1
                continue
            if not text.strip():
                if message.role == "assistant":
                    continue
                raise bad_request(f"Invalid 'messages[{i}].content': a user message must contain text.", f"messages[{i}].content",
                                  "empty_content")
            if i < index:
                history.append({"role": message.role, "content": text})
        return history, last.text(), ignored


class DecayRequest(BaseModel):
    """`POST /v1/memory/{user}/decay`: let this many decay cycles pass (time between conversations)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    cycles: int = Field(1, ge=0, le=100_000)
