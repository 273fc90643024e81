"""The systems compared on the same episodes: SEAM and three ways to do without it.

All four use the same frozen base model (a MemoryAugmentedModel with use_memory=False is the bare model,
bit for bit). Every past message opens a new conversation; they differ in what survives it:

- "seam": each message is written to the user's SEAM memory (remember()); the question is asked with no
  history, reading memory.
- "no-memory": nothing survives; the question is asked with no history.
- "in-context": the whole past is replayed in the prompt as earlier turns of the conversation.
- "retrieval": the past messages are kept as text with their all-MiniLM-L6-v2 embeddings; the top-k by
  cosine to the question are replayed in the prompt, in their original order (what a RAG-style chat
  memory deployed today does).

Replayed turns (in-context, retrieval) alternate with a fixed assistant acknowledgement, ACK: a chat
alternates roles, and generating real replies for every past turn would cost more than the evaluation
itself (the training code's in-context baseline does the same).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor

from ..lm.model import MemoryAugmentedModel
from ..lm.prompts import Message

ACK = "Okay."
SYSTEM_LABELS = {
    "seam": "SEAM memory",
    "no-memory": "no memory (context cleared)",
    "in-context": "whole history in prompt",
    "retrieval": "retrieval (MiniLM top-k)",
}


class SentenceEncoderLike(Protocol):
    def encode(self, texts: list[str]) -> Tensor:  # (N, D) unit vectors
        ...


def replay(messages: Sequence[str]) -> list[Message]:
    """Past user messages as conversation history, each followed by the acknowledgement."""
    history: list[Message] = []
    for text in messages:
        history += [{"role": "user", "content": text}, {"role": "assistant", "content": ACK}]
    return history


class System:
    """What one system keeps of a user's past, and how it answers. Subclasses override the hooks."""

    name = "base"
    decays = False
    """Whether time passing (decay cycles) can change what this system answers."""

    def __init__(self, model: MemoryAugmentedModel):
        self.model = model

    def reset(self, users: Sequence[str]) -> None:
        """Start these users with nothing remembered."""

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        """Each user sends one message in a new conversation (one per user, batched)."""

    def decay(self, users: Sequence[str], cycles: int) -> None:
        """Time passes for these users."""

    def history(self, users: Sequence[str], questions: Sequence[str]) -> list[list[Message]] | None:
        return None

    def ask(self, users: Sequence[str], questions: Sequence[str], max_new_tokens: int) -> tuple[list[str], list[dict], float]:
        """Greedy replies to the questions in new conversations; returns (replies, infos, wall seconds)."""
        start = time.perf_counter()
        history = self.history(users, questions)
        replies, infos = self.model.generate(
            list(questions), user=list(users), history=history, update_memory=False,
            use_memory=self.name == "seam", max_new_tokens=max_new_tokens,
        )
        return replies, infos, time.perf_counter() - start

    def memory_bytes(self, user: str) -> dict[str, int]:
        """Bytes held for the user: `bytes` (what the system keeps) and, where it differs, `bytes_used`."""
        return {"bytes": 0}

    def release(self, users: Sequence[str]) -> None:
        """Drop what is held for these users (the evaluation's users are never asked again). generate()
        creates an (empty) SEAM memory for every user it sees, even with use_memory=False: drop it too."""
        for u in users:
            self.model.memories.pop(u, None)


class SeamSystem(System):
    name = "seam"
    decays = True

    def reset(self, users: Sequence[str]) -> None:
        for u in users:
            self.model.clear_memory(u)

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        self.model.remember(list(texts), user=list(users))

    def decay(self, users: Sequence[str], cycles: int) -> None:
        for u in users:
            self.model.decay(cycles, user=u)

    def memory_bytes(self, user: str) -> dict[str, int]:
        """`bytes`: the user's state tensors as held in RAM and saved (slots are preallocated);
        `bytes_used`: keys and values of the occupied slots only (fp32)."""
        states = self.model.memory_of(user)
        allocated = sum(t.nbytes for s in states for t in s.tensors().values())
        width = self.model.config.memory.width
        used = sum(int(s.buffer_used.sum() + s.store_used.sum()) for s in states) * 2 * width * 4
        return {"bytes": allocated, "bytes_used": used}



class NoMemorySystem(System):
    name = "no-memory"


class InContextSystem(System):
    name = "in-context"

    def __init__(self, model: MemoryAugmentedModel):
        super().__init__(model)
        self.past: dict[str, list[str]] = {}

    def reset(self, users: Sequence[str]) -> None:
        for u in users:
            self.past[u] = []

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        for u, t in zip(users, texts):
            self.past[u].append(t)

    def history(self, users: Sequence[str], questions: Sequence[str]) -> list[list[Message]]:
        return [replay(self.past[u]) for u in users]

    def memory_bytes(self, user: str) -> dict[str, int]:
        """UTF-8 bytes of the replayed history text (user messages and acknowledgements)."""
        return {"bytes": sum(len(m["content"].encode()) for m in replay(self.past[user]))}

    def release(self, users: Sequence[str]) -> None:
        super().release(users)
        for u in users:
            self.past.pop(u, None)


class RetrievalSystem(System):
    """Past messages as text + MiniLM embeddings; the top_k most similar to the question go in the prompt."""

    name = "retrieval"

    def __init__(self, model: MemoryAugmentedModel, encoder: SentenceEncoderLike, top_k: int = 3):
        super().__init__(model)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}.")
        self.encoder, self.top_k = encoder, top_k
        self.texts: dict[str, list[str]] = {}
        self.vectors: dict[str, list[Tensor]] = {}
        self.last_retrieved: dict[str, list[str]] = {}

    def reset(self, users: Sequence[str]) -> None:
        for u in users:
            self.texts[u], self.vectors[u] = [], []

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        vectors = self.encoder.encode(list(texts))  # (B, D)
        for u, t, v in zip(users, texts, vectors):
            self.texts[u].append(t)
            self.vectors[u].append(v.clone())  # not a view that keeps the whole batch alive

    def retrieve(self, user: str, query: Tensor) -> list[str]:
        """The top_k stored messages by cosine to query (D,), in the order they were said."""
        if not self.texts[user]:
            return []
        sims = torch.stack(self.vectors[user]) @ query  # (N,)
        top = torch.topk(sims, min(self.top_k, len(self.texts[user]))).indices.tolist()
        return [self.texts[user][i] for i in sorted(top)]

    def history(self, users: Sequence[str], questions: Sequence[str]) -> list[list[Message]]:
        queries = self.encoder.encode(list(questions))  # (B, D)
        self.last_retrieved = {u: self.retrieve(u, q) for u, q in zip(users, queries)}
        return [replay(self.last_retrieved[u]) for u in users]

    def memory_bytes(self, user: str) -> dict[str, int]:
        """UTF-8 bytes of the stored messages plus their fp32 embeddings."""
        text = sum(len(t.encode()) for t in self.texts[user])
        return {"bytes": text + sum(v.numel() * v.element_size() for v in self.vectors[user])}

    def release(self, users: Sequence[str]) -> None:
        super().release(users)
        for u in users:
            self.texts.pop(u, None)
            self.vectors.pop(u, None)
