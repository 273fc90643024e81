"""The systems compared on the same episodes: SEAM and three ways to do without it.

All four use the same frozen base model (a MemoryAugmentedModel with use_memory=False is the bare model,
bit for bit). Every past message opens a new conversation; they differ in what survives it:

- "seam": each message is written to the user's SEAM memory (remember()); the question is asked with no
  history, reading memory.
- "no-memory": nothing survives; the question is asked with no history.
- "in-context": the whole past is replayed in the prompt: every earlier conversation (the user's
  message and the model's reply to it) as earlier turns of this one.
- "retrieval": the past conversations are kept as text, indexed by the all-MiniLM-L6-v2 embedding of the
  user's message; the top-k by cosine to the question are replayed the same way, in their original
  order (what a RAG-style chat memory deployed today does). With at most k past conversations its
  prompt is exactly the in-context one.

The replayed replies are the bare model's own greedy replies to each message in a new conversation, cut
at `reply_tokens` tokens to bound the prompt. (A fixed acknowledgement such as "Okay." is cheaper but
unfair: after a few of them the model answers the question with "Okay." too.)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..lm.model import MemoryAugmentedModel
from ..lm.prompts import Message
from ..tasks.player import SeamSystem, System

__all__ = ["BareAnswers", "InContextSystem", "NoMemorySystem", "RetrievalSystem", "SeamSystem", "System", "SYSTEM_LABELS"]

EMPTY_REPLY = "Okay."
"""Stands in for an empty reply (a chat history needs non-empty turns)."""
REPLY_USER = "__bare_reply_"
"""Names of the throwaway users the replies are generated for."""
SYSTEM_LABELS = {
    "seam": "SEAM memory",
    "no-memory": "no memory (context cleared)",
    "in-context": "whole history in prompt",
    "retrieval": "retrieval (MiniLM top-k)",
}


class SentenceEncoderLike(Protocol):
    def encode(self, texts: list[str]) -> Tensor:  # (N, D) unit vectors
        ...


class BareAnswers:
    """Greedy replies of the bare model (no memory read) by prompt, shared by the baselines.

    The bare model's reply depends only on the prompt (history + question), so a prompt answered in an
    earlier call, by any baseline, is answered from here instead of generating again: e.g. the retrieval
    baseline with at most top_k past messages builds exactly the in-context prompt, and the no-memory
    prompt does not change with distractors or decay. Each entry keeps the latency of the call that made it.
    """

    def __init__(self, model: MemoryAugmentedModel, reply_tokens: int = 16):
        self.model = model
        self.reply_tokens = reply_tokens
        self.entries: dict[tuple, tuple[str, dict, float]] = {}
        self.replies: dict[str, str] = {}
        self.reply_seconds = 0.0

    def reply_to(self, texts: Sequence[str], batch_size: int | None = None, progress: bool = False) -> None:
        """The model's reply to each message in a new conversation, generated once per distinct message,
        in batches of similar length (less padding; None: one batch). The evaluation calls this once with
        every past message of a run: one pass in full batches instead of a few new messages per turn."""
        todo = sorted(dict.fromkeys(t for t in texts if t not in self.replies), key=len)
        batch_size = batch_size or max(1, len(todo))
        for i in tqdm(range(0, len(todo), batch_size), desc="replies to past messages", unit="batch", disable=not progress or not todo):
            chunk = todo[i : i + batch_size]
            users = [f"{REPLY_USER}{j}" for j in range(len(chunk))]
            start = time.perf_counter()
            replies, _ = self.model.generate(chunk, user=users, update_memory=False, use_memory=False, max_new_tokens=self.reply_tokens)
            self.reply_seconds += time.perf_counter() - start
            self.replies.update({t: r.strip() or EMPTY_REPLY for t, r in zip(chunk, replies)})

    def replay(self, messages: Sequence[str]) -> list[Message]:
        """Past conversations (a message and the reply it got) as the history of a new one."""
        history: list[Message] = []
        for text in messages:
            history += [{"role": "user", "content": text}, {"role": "assistant", "content": self.replies[text]}]
        return history

    @staticmethod
    def key(question: str, history: list[Message] | None, max_new_tokens: int) -> tuple:
        return question, tuple((m["role"], m["content"]) for m in history or []), max_new_tokens

    def answer(self, users: Sequence[str], questions: Sequence[str], histories: list[list[Message]] | None,
               max_new_tokens: int) -> tuple[list[str], list[dict], list[float], list[bool]]:
        """(replies, infos, latency seconds each, reused each); new prompts are generated in one batch."""
        histories = histories or [[] for _ in questions]
        keys = [self.key(q, h, max_new_tokens) for q, h in zip(questions, histories)]
        # Repeats within one call are generated too: the batch keeps its size, so its latency is a real one.
        reused = [k in self.entries for k in keys]
        new = [i for i, r in enumerate(reused) if not r]
        if new:
            start = time.perf_counter()
            replies, infos = self.model.generate(
                [questions[i] for i in new], user=[users[i] for i in new], history=[histories[i] for i in new],
                update_memory=False, use_memory=False, max_new_tokens=max_new_tokens,
            )
            latency = (time.perf_counter() - start) / len(new)
            for i, reply, info in zip(new, replies, infos):
                self.entries[keys[i]] = (reply, {k: info[k] for k in ("prompt_tokens", "new_tokens")}, latency)
        out = [self.entries[k] for k in keys]
        return [o[0] for o in out], [dict(o[1]) for o in out], [o[2] for o in out], reused


class Baseline(System):
    """A system that answers with the bare model (through a shared BareAnswers) and what it kept."""

    def __init__(self, model: MemoryAugmentedModel, answers: BareAnswers | None = None):
        super().__init__(model, answers or BareAnswers(model))


class NoMemorySystem(Baseline):
    name = "no-memory"


class InContextSystem(Baseline):
    name = "in-context"

    def __init__(self, model: MemoryAugmentedModel, answers: BareAnswers | None = None):
        super().__init__(model, answers)
        self.past: dict[str, list[str]] = {}

    def reset(self, users: Sequence[str]) -> None:
        for u in users:
            self.past[u] = []

    def converse(self, users: Sequence[str], texts: Sequence[str]) -> None:
        self.answers.reply_to(texts)

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        for u, t in zip(users, texts):
            self.past[u].append(t)

    def history(self, users: Sequence[str], questions: Sequence[str]) -> list[list[Message]]:
        return [self.answers.replay(self.past[u]) for u in users]

    def memory_bytes(self, user: str) -> dict[str, int]:
        """UTF-8 bytes of the replayed history text (messages and replies)."""
        return {"bytes": sum(len(m["content"].encode()) for m in self.answers.replay(self.past[user]))}

    def release(self, users: Sequence[str]) -> None:
        for u in users:
            self.past.pop(u, None)


class RetrievalSystem(Baseline):
    """Past conversations as text + MiniLM embeddings of their messages; the top_k most similar to the
    question are replayed in the prompt."""

    name = "retrieval"

    def __init__(self, model: MemoryAugmentedModel, encoder: SentenceEncoderLike, top_k: int = 3, answers: BareAnswers | None = None):
        super().__init__(model, answers)
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}.")
        self.encoder, self.top_k = encoder, top_k
        self.texts: dict[str, list[str]] = {}
        self.vectors: dict[str, list[Tensor]] = {}
        self.last_retrieved: dict[str, list[str]] = {}

    def reset(self, users: Sequence[str]) -> None:
        for u in users:
            self.texts[u], self.vectors[u] = [], []

    def converse(self, users: Sequence[str], texts: Sequence[str]) -> None:
        self.answers.reply_to(texts)

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
        return [self.answers.replay(self.last_retrieved[u]) for u in users]

    def memory_bytes(self, user: str) -> dict[str, int]:
        """UTF-8 bytes of the stored conversations (messages and replies) plus the fp32 message embeddings."""
        text = sum(len(m["content"].encode()) for m in self.answers.replay(self.texts[user]))
        return {"bytes": text + sum(v.numel() * v.element_size() for v in self.vectors[user])}

    def release(self, users: Sequence[str]) -> None:
        for u in users:
            self.texts.pop(u, None)
            self.vectors.pop(u, None)
