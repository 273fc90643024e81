"""The one episode player: a user's past played turn by turn through a system, the question asked, the
reply scored. Training's validation, the evaluation and the benchmark all play episodes here.

A System is what keeps (or does not keep) a user's past: SEAM's memory (`SeamSystem`), or the
baselines of seam.evaluation.systems. Episodes are played in batches: turn t of every episode of a
batch in one call, users side by side (`steps`); training's differentiable write walks the same steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .episodes import Decay, Episode, Turn
from .scoring import abstains, leaks, score_episode

if TYPE_CHECKING:
    from ..lm.model import MemoryAugmentedModel
    from ..lm.prompts import Message


class Answers(Protocol):
    """How a baseline gets the bare model's replies (seam.evaluation.systems.BareAnswers)."""

    def answer(self, users: Sequence[str], questions: Sequence[str], histories: list[list[Message]] | None,
               max_new_tokens: int) -> tuple[list[str], list[dict], list[float], list[bool]]: ...


@dataclass
class TaskRun:
    """Episodes played through each system in one pass; their asks fill one or more results rows."""

    key: str
    rows: dict[str, str]
    """Row key -> label, in table order."""
    episodes: list[Episode]
    systems: tuple[str, ...] | None = None
    """Only these systems play the run (None: all)."""
    max_new_tokens: int | None = None
    """Reply length of this run's answers (None: the evaluation's default)."""
    limits: dict[str, dict[str, int]] = field(default_factory=dict)
    """System -> row -> how many episodes (the first ones) it is asked on (a slow baseline on long pasts)."""


@dataclass
class Step:
    """Turn `turn` of a batch of episodes: which rows say something, and which let time pass."""

    turn: int
    speaking: list[int] = field(default_factory=list)
    decaying: dict[int, list[int]] = field(default_factory=dict)
    """Decay cycles -> rows."""


def steps(turns: Sequence[Sequence[Turn]]) -> Iterator[Step]:
    """Each turn index of a batch of episodes' turns, with the rows that speak and those that decay at it
    (rows whose past is over take no part)."""
    for t in range(max((len(ts) for ts in turns), default=0)):
        step = Step(t)
        for i, ts in enumerate(turns):
            if t >= len(ts):
                continue
            if isinstance(ts[t], Decay):
                step.decaying.setdefault(ts[t].cycles, []).append(i)
            else:
                step.speaking.append(i)
        yield step


class System:
    """What one system keeps of a user's past, and how it answers. Subclasses override the hooks."""

    name = "base"

    def __init__(self, model: MemoryAugmentedModel, answers: Answers | None = None):
        self.model = model
        self.answers = answers

    def reset(self, users: Sequence[str]) -> None:
        """Start these users with nothing remembered."""

    def converse(self, users: Sequence[str], texts: Sequence[str]) -> None:
        """The conversation itself: each user sends one message in a new conversation and gets a reply.
        Only what a system keeps of it (observe) is its cost; SEAM keeps the message, not the reply."""

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        """Keep what the system keeps of each user's message (one per user, batched)."""

    def decay(self, users: Sequence[str], cycles: int) -> None:
        """Time passes for these users."""

    def history(self, users: Sequence[str], questions: Sequence[str]) -> list[list[Message]] | None:
        """What the bare model is shown before the question."""
        return None

    def ask(self, users: Sequence[str], questions: Sequence[str], max_new_tokens: int,
            chats: Sequence[list[Message]] | None = None) -> tuple[list[str], list[dict], list[float]]:
        """Greedy replies to the questions: (replies, infos, latency seconds per query). Each is asked in a
        new conversation, or after the messages of its own conversation so far (`chats`).

        Baselines ask the bare model with their history, then the conversation's messages (prompts seen
        before are answered once, see BareAnswers; infos then carry reused=True); the latency includes
        building the history.
        """
        start = time.perf_counter()
        histories = self.history(users, questions)
        if chats is not None:
            histories = [[*(h or []), *c] for h, c in zip(histories or [None] * len(users), chats)]
        overhead = (time.perf_counter() - start) / len(users)
        replies, infos, latencies, reused = self.answers.answer(users, questions, histories, max_new_tokens)
        for info, r in zip(infos, reused):
            info["reused"] = r
        return replies, infos, [overhead + t for t in latencies]

    def memory_bytes(self, user: str) -> dict[str, int]:
        """Bytes held for the user: `bytes` (what the system keeps) and, where it differs, `bytes_used`."""
        return {"bytes": 0}

    def release(self, users: Sequence[str]) -> None:
        """Drop what is held for these users (the evaluation's users are never asked again)."""


class SeamSystem(System):
    """SEAM: each message written to the user's memory (remember()); the question asked with no history,
    reading memory."""

    name = "seam"

    def reset(self, users: Sequence[str]) -> None:
        for u in users:
            self.model.clear_memory(u)

    def observe(self, users: Sequence[str], texts: Sequence[str]) -> None:
        self.model.remember(list(texts), user=list(users))

    def decay(self, users: Sequence[str], cycles: int) -> None:
        for u in users:
            self.model.decay(cycles, user=u)

    def ask(self, users: Sequence[str], questions: Sequence[str], max_new_tokens: int,
            chats: Sequence[list[Message]] | None = None) -> tuple[list[str], list[dict], list[float]]:
        """The question in a new conversation (or after its conversation's `chats`), reading each user's
        memory (one batched call, never reused)."""
        start = time.perf_counter()
        replies, infos = self.model.generate(list(questions), user=list(users), history=list(chats) if chats else None,
                                             update_memory=False, max_new_tokens=max_new_tokens)
        latency = (time.perf_counter() - start) / len(users)
        return (replies, [{"prompt_tokens": i["prompt_tokens"], "new_tokens": i["new_tokens"], "reused": False} for i in infos],
                [latency] * len(users))

    def memory_bytes(self, user: str) -> dict[str, int]:
        """`bytes`: the user's state tensors as held in RAM and saved (slots are preallocated);
        `bytes_used`: keys and values of the occupied slots only (fp32)."""
        states = self.model.memory_of(user)
        width = self.model.config.memory.width
        used = sum(int(s.buffer_used.sum() + s.store_used.sum()) for s in states) * 2 * width * 4
        return {"bytes": self.model.users.nbytes(user), "bytes_used": used}

    def release(self, users: Sequence[str]) -> None:
        """Drop these users' SEAM memories from RAM."""
        self.model.users.drop(users)


def batches(episodes: Sequence[Episode], batch_size: int) -> list[list[Episode]]:
    """ceil(N / batch_size) batches of nearly equal size; the users of a group always share a batch."""
    units: list[list[Episode]] = []
    for e in episodes:
        if units and e.group is not None and units[-1][0].group == e.group:
            units[-1].append(e)
        else:
            units.append([e])
    count = max(1, math.ceil(len(episodes) / batch_size))
    out: list[list[Episode]] = [[]]
    placed = 0
    for unit in units:
        if placed >= len(episodes) * len(out) / count - 1e-9:  # batch k is full once k/count of all are placed
            out.append([])
        out[-1] += unit
        placed += len(unit)
    return out


def asked(episodes: Sequence[Episode], limits: dict[str, int] | None = None) -> dict[str, dict[int, str]]:
    """Per episode (by user), the asks it makes: all of them, but a row in `limits` only on its first n episodes."""
    limits = limits or {}
    return {e.user: {t: row for t, row in e.asks.items() if i < limits.get(row, len(episodes))} for i, e in enumerate(episodes)}


def run_episodes(system: System, episodes: Sequence[Episode], batch_size: int, max_new_tokens: int,
                 progress: Callable[[int], None] | None = None, row_limits: dict[str, int] | None = None) -> list[dict]:
    """Play the episodes through a system in batches (turn t of every episode in one call), asking the
    question at each of an episode's ask points (0: before anything was said); one record per ask.
    `row_limits` caps how many episodes (the first ones) are asked for a row."""
    records: list[dict] = []
    allowed = asked(episodes, row_limits)
    played = [e for e in episodes if allowed[e.user]]  # an episode asked nothing is not played at all
    for chunk in batches(played, batch_size):
        users = [e.user for e in chunk]
        system.reset(users)
        write_seconds, writes = 0.0, 0

        def ask(played: int) -> None:
            asking = [e for e in chunk if played in allowed[e.user]]
            if not asking:
                return
            held = {e.user: system.memory_bytes(e.user) for e in asking}
            chats = [e.history for e in asking] if any(e.history for e in asking) else None  # questions asked inside a conversation
            replies, infos, latencies = system.ask([e.user for e in asking], [e.question for e in asking], max_new_tokens, chats)
            retrieved = getattr(system, "last_retrieved", {})
            for e, reply, info, latency in zip(asking, replies, infos, latencies):
                record = {
                    "row": e.asks[played], "user": e.user, "question": e.question, "expected": e.expected, "forbidden": e.forbidden,
                    "past": [x if isinstance(x, str) else {"decay_cycles": x.cycles} for x in e.turns[:played]],
                    "reply": reply, "hit": score_episode(e, reply), "leaks": leaks(e, reply), "prompt_tokens": info["prompt_tokens"],
                    "new_tokens": info["new_tokens"], "reused": info["reused"], "latency_s": latency,
                    "write_s_per_message": write_seconds / writes if writes else 0.0, **held[e.user],
                }
                if e.expect != "silent":
                    record["expect"] = e.expect
                    record["abstained"] = abstains(reply)
                if e.meta:
                    record["meta"] = e.meta
                if e.history:
                    record["conversation"] = e.history
                if e.user in retrieved:
                    record["retrieved"] = retrieved[e.user]
                records.append(record)
            if progress:
                progress(len(asking))

        ask(0)
        for step in steps([e.turns for e in chunk]):
            t = step.turn
            if step.speaking:
                speaking = [chunk[i] for i in step.speaking]
                system.converse([e.user for e in speaking], [e.turns[t] for e in speaking])
                start = time.perf_counter()
                system.observe([e.user for e in speaking], [e.turns[t] for e in speaking])
                write_seconds += time.perf_counter() - start
                writes += len(speaking)
            for cycles, rows in step.decaying.items():
                system.decay([chunk[i].user for i in rows], cycles)
            ask(t + 1)
        system.release(users)
    return records
