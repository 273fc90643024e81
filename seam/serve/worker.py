"""ModelWorker: the one thread that touches the model, batching users and serialising each user's work.

The event loop never runs the model: a request becomes a job, the worker thread runs it and resolves
the job's future. The worker takes jobs in arrival order and puts turns of different users into one
`generate` call (one forward pass for all of them), each user at most once per batch; a user's later
job never overtakes an earlier one, so two writes to one memory never interleave and a memory
operation (decay, forget, import, stats) sees every turn sent before it. Everything that uses the
tokenizer or the memory runs here too (neither is shared across threads).

`generate` writes each user's message after the reply, and with a memory directory `model.users`
puts the new memory on disk (atomically) before it replaces the one in RAM; the future is resolved
after `generate` returns, so a response is never sent before its write is on disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..lm.model import MemoryAugmentedModel
from ..lm.prompts import Message
from .config import IDEMPOTENCY_HEADER, ServerConfig
from .errors import APIError, idempotency_key_reused

log = logging.getLogger(__name__)


@dataclass
class ChatTurn:
    """One request's work for the model."""

    user: str | None
    """Whose memory is read and written (None: no memory)."""
    text: str
    """The last user message: answered, and written to memory."""
    history: list[Message]
    """The conversation before it (context only, never written)."""
    max_tokens: int | None
    """Reply length asked for (None: the server's default, cut to what the context allows)."""
    temperature: float
    top_p: float
    stops: list[str] = field(default_factory=list)
    client: str | None = None
    """The user the request named, even when it asked for no memory (only used to anticipate batches)."""
    turn_id: str | None = None
    """The request's Idempotency-Key (with memory only): the turn is written with a receipt, and a turn whose
    receipt the user's memory already holds is answered from it, not generated or written again."""
    fingerprint: str = ""
    """The request body's hash: a turn id reused for another body is refused."""
    min_tokens: int = 0
    """The reply ends no sooner than this many tokens (vLLM's `min_tokens`; at most the reply budget)."""
    on_text: Callable[[str], None] | None = None
    """Streaming: called on the worker thread with the reply so far each time it grows (before any stop
    sequence is cut; the result's reply is the final text)."""


@dataclass
class ChatResult:
    reply: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int
    written_tokens: int  # tokens of the message written to memory (0 without memory)
    replayed: bool = False  # answered from the receipt of the same turn, written before (nothing written now)


@dataclass
class _Job:
    user: str | None
    future: Future
    turn: ChatTurn | None = None  # a chat turn, or
    operation: Callable[[MemoryAugmentedModel], Any] | None = None  # a memory operation, run alone
    max_new_tokens: int = 0  # set when the turn is prepared

    @property
    def min_new_tokens(self) -> int:
        """The turn's min_tokens, within its reply budget (set when the turn is prepared)."""
        return min(self.turn.min_tokens, self.max_new_tokens)

    def batch_key(self) -> tuple:
        """Turns share a generate call only if they agree on everything generate takes once per call."""
        t = self.turn
        return (self.user is not None, self.max_new_tokens, self.min_new_tokens, t.temperature > 0, t.temperature, t.top_p)


class ModelWorker:
    """Runs chat turns and memory operations on `model` in one background thread (see the module docstring)."""

    def __init__(self, model: MemoryAugmentedModel, config: ServerConfig):
        self.model = model
        self.config = config
        self._inbox: deque[_Job] = deque()
        self._queue: list[_Job] = []  # prepared jobs, in arrival order; only the worker thread touches it
        self._wake = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._recent_users: OrderedDict[str, None] = OrderedDict()
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # sizes of the last generate calls
        self._recent_clients: deque[set] = deque(maxlen=2)  # who the last two batches answered
        self.batches = 0  # generate calls so far
        self.batched_turns = 0  # turns they answered
        self.generate_seconds = 0.0  # wall time inside those calls (reads, generation, writes and files included)

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="seam-model-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the jobs already submitted, then end the thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- submitting (any thread) ----------------------------------------------------------------------
    def submit_turn(self, turn: ChatTurn) -> Future:
        """A future of the turn's ChatResult (or of an APIError for a turn that does not fit the context)."""
        return self._submit(_Job(turn.user, Future(), turn=turn))

    def submit_operation(self, user: str, operation: Callable[[MemoryAugmentedModel], Any]) -> Future:
        """Run `operation(model)` on the worker thread, in order with the user's turns; a future of its result."""
        return self._submit(_Job(user, Future(), operation=operation))

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet taken into a batch."""
        with self._wake:
            return len(self._inbox) + len(self._queue)

    def _submit(self, job: _Job) -> Future:
        with self._wake:
            if self._closing:
                raise APIError(503, "The server is shutting down; retry in a moment.", code="server_shutting_down")
            if len(self._inbox) + len(self._queue) >= self.config.max_pending:
                raise APIError(503, f"The server has {self.config.max_pending} requests waiting; retry in a moment.",
                               code="server_overloaded")
            self._inbox.append(job)
            self._wake.notify()
        return job.future

    # -- the worker thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._inbox and not self._queue and not self._closing:
                    self._wake.wait()
                if self._closing and not self._inbox and not self._queue:
                    return
            self._admit()
            if self._queue and self._queue[0].turn is not None:
                self._gather()
            if not self._queue:
                continue
            jobs = self._take()
            log.debug("running %d job(s), %d waiting", len(jobs), len(self._queue))
            if jobs[0].operation is not None:
                self._run_operation(jobs[0])
            else:
                self._run_turns(jobs)
            self._release_idle_users([j.user for j in jobs if j.user is not None])

    def _gather(self) -> None:
        """Wait up to batch_window_ms until as many turns wait as there were clients in the last two batches,
        so that clients answered together (or in two halves) share the next forward pass; a lone user never waits."""
        expected = min(self.config.max_batch, len(set().union(*self._recent_clients)) if self._recent_clients else 1)
        deadline = time.monotonic() + self.config.batch_window_ms / 1000
        while len(self._queue) < expected:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with self._wake:
                if not self._inbox and not self._closing:
                    self._wake.wait(left)
            self._admit()

    def _admit(self) -> None:
        """Move new jobs from the inbox to the queue, preparing each turn (refused turns fail here, alone)."""
        with self._wake:
            new, self._inbox = list(self._inbox), deque()
        for job in new:
            if job.future.set_running_or_notify_cancel():
                try:
                    if job.turn is not None:
                        job.max_new_tokens = self._reply_budget(job.turn)
                    self._queue.append(job)
                except Exception as err:  # the error goes to the request that caused it
                    job.future.set_exception(err)

    def _reply_budget(self, turn: ChatTurn) -> int:
        """Reply tokens for the turn: what it asked for, or the default cut to the context; refuses what does not fit."""
        prompt = len(self.model.render_prompt(turn.history, turn.text).input_ids)
        room = self.model.max_context - prompt
        asked = turn.max_tokens
        budget = min(self.config.default_max_tokens, room) if asked is None else asked
        if budget < 1 or budget > room:
            raise APIError(
                400, f"This model's maximum context length is {self.model.max_context} tokens. However, you requested "
                f"{prompt + max(budget, 1)} tokens ({prompt} in the messages, {max(budget, 1)} in the completion). "
                "Please reduce the length of the messages or completion.", "messages", "context_length_exceeded")
        return budget

    def _take(self) -> list[_Job]:
        """The next batch: the first job, and later turns that can share its generate call, in arrival order.

        A user's jobs never overtake each other: once a job of a user is left waiting, every later job of
        that user waits too. A memory operation always runs alone.
        """
        first = self._queue[0]
        if first.operation is not None:
            return [self._queue.pop(0)]
        key = first.batch_key()
        taken: list[int] = []
        in_batch: set[str] = set()
        waiting: set[str] = set()
        for i, job in enumerate(self._queue):
            if len(taken) == self.config.max_batch:
                break
            user = job.user
            if user is not None and (user in waiting or user in in_batch):
                waiting.add(user)
                continue
            if job.turn is not None and job.batch_key() == key:
                taken.append(i)
                if user is not None:
                    in_batch.add(user)
            elif user is not None:
                waiting.add(user)
        jobs = [self._queue[i] for i in taken]
        for i in reversed(taken):
            self._queue.pop(i)
        return jobs

    def _replay(self, job: _Job) -> bool:
        """Answer a turn from its receipt if the user's memory holds one (True), without generating or writing."""
        turn = job.turn
        if turn.turn_id is None or job.user is None:
            return False
        try:
            record = self.model.users.receipt(job.user, turn.turn_id)
            if record is None:
                return False
            if record.get("fingerprint") != turn.fingerprint:
                raise idempotency_key_reused(IDEMPOTENCY_HEADER)
            job.future.set_result(self._result(job, record["reply"], int(record["new_tokens"]), int(record["prompt_tokens"]),
                                               int(record["tokens_written"]), replayed=True))
        except Exception as err:  # the error goes to the request that caused it
            job.future.set_exception(err)
        return True

    def _result(self, job: _Job, reply: str, new_tokens: int, prompt_tokens: int, written: int, replayed: bool = False) -> ChatResult:
        finish = "length" if new_tokens >= job.max_new_tokens else "stop"
        cut = min((reply.find(s) for s in job.turn.stops if s in reply), default=-1)
        if cut >= 0:
            reply, finish = reply[:cut], "stop"
        return ChatResult(reply, finish, prompt_tokens, new_tokens, written, replayed)

    def _run_turns(self, jobs: list[_Job]) -> None:
        jobs = [j for j in jobs if not self._replay(j)]
        if not jobs:
            return
        if jobs[0].user is not None:  # rows in user order: the next batch of the same users stacks their memories without a copy
            jobs.sort(key=lambda j: j.user)
        turns = [j.turn for j in jobs]
        memory = jobs[0].user is not None
        # Rows without memory still need distinct ids in a batch; with neither reads nor writes generate
        # never creates or touches a memory for them.
        users = [t.user if memory else f"_anonymous-{i}" for i, t in enumerate(turns)]
        sample = turns[0].temperature > 0

        def on_text(row: int, text: str) -> None:
            if turns[row].on_text is not None:
                try:
                    turns[row].on_text(text)
                except Exception:  # a client's stream never stops the batch
                    log.exception("streaming a reply failed")

        start = time.perf_counter()
        try:
            replies, infos = self.model.generate(
                [t.text for t in turns], update_memory=memory, use_memory=memory, user=users, history=[t.history for t in turns],
                max_new_tokens=jobs[0].max_new_tokens, min_new_tokens=jobs[0].min_new_tokens,
                do_sample=sample, temperature=turns[0].temperature, top_p=turns[0].top_p,
                on_text=on_text if any(t.on_text is not None for t in turns) else None,
                receipts=[(t.turn_id, {"fingerprint": t.fingerprint}) if t.turn_id else None for t in turns] if memory else None,
            )
        except Exception as err:  # every request of the batch learns it failed
            log.exception("generate failed for a batch of %d", len(jobs))
            for job in jobs:
                job.future.set_exception(err)
            return
        finally:
            self.generate_seconds += time.perf_counter() - start
        self.batch_sizes.append(len(jobs))
        self._recent_clients.append({t.client if t.client is not None else id(t) for t in turns})
        self.batches += 1
        self.batched_turns += len(jobs)
        for job, reply, info in zip(jobs, replies, infos):
            job.future.set_result(self._result(job, reply, info["new_tokens"], info["prompt_tokens"],
                                               info.get("tokens_written", 0) if memory else 0))

    def _run_operation(self, job: _Job) -> None:
        try:
            job.future.set_result(job.operation(self.model))
        except Exception as err:  # the error goes to the request that asked
            job.future.set_exception(err)

    def _release_idle_users(self, users: list[str]) -> None:
        """With a memory directory, keep at most max_users_in_ram users in RAM (the rest reload from their files)."""
        for user in users:
            self._recent_users[user] = None
            self._recent_users.move_to_end(user)
        held = self.model.users
        if held.memory_dir is None:
            return
        busy = {j.user for j in self._queue}
        while len(held) > self.config.max_users_in_ram and self._recent_users:
            user = next(iter(self._recent_users))
            self._recent_users.pop(user)
            if user not in busy:
                held.drop([user])
