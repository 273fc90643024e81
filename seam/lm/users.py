"""Per-user memory: the one owner of which user holds which MemoryState, in RAM and on disk.

A user's memory is a list of MemoryState values, one per memory layer (`UserMemory`). Every other module
goes through `UserMemories` (usually as `model.users`): get, stack several users into one batch, commit
a batch's new states, decay, clear, forget from RAM, save and load files. With a `memory_dir`, each user's
memory is one safetensors file there, written atomically after every change, so a restart answers every
user from what they said before.

A written turn may carry a receipt (turn id -> record, e.g. the reply it got), saved in the same file as the
memory it changed, in the same atomic write: a caller that retries a turn (the server's Idempotency-Key)
finds whether it was written, even after a crash and a restart, and never writes it twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import torch
from torch import nn

from ..memory import (
    DualMemoryLayer,
    MemoryConfig,
    MemoryState,
    load_states,
    pack_owners,
    pack_states,
    read_metadata,
    save_file_atomic,
    sync_directory,
)

UserMemory = list[MemoryState]  # one state per memory layer
Receipt = tuple[str, dict]
"""(turn id, record) of a written turn: kept with the memory it changed (see UserMemories.receipt)."""
MAX_RECEIPTS = 32
"""Receipts kept per user (the latest turns'): enough for any client's retries."""
_USER_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$")


def stack_memories(memories: Sequence[UserMemory]) -> UserMemory:
    """Several memories (each one state per layer, any batch size) as one batch, in order."""
    return [MemoryState.stack([m[i] for m in memories]) for i in range(len(memories[0]))]


def check_user(user: object) -> str:
    """The user id if it is valid (it names a file in memory_dir), else a ValueError saying what is allowed."""
    if not isinstance(user, str) or not _USER_ID.match(user):
        raise ValueError(
            f"User id {user!r} is not valid: use 1-128 letters, digits, '_', '-', '.', '@', not starting with '.' or '-'."
        )
    return user


class UserMemories:
    """Each user's memory for a set of memory layers.

    Args:
        layers: the memory layers, by decoder position (a model's `memory_layers`).
        memory_config: the layers' MemoryConfig (memory files are checked against it).
        base_model: name recorded in memory files.
        memory_dir: if set, each user's memory persists there as <user>.safetensors.
    """

    def __init__(self, layers: nn.ModuleDict, memory_config: MemoryConfig, base_model: str, memory_dir: str | Path | None = None):
        self.layers = layers
        self.positions = [int(p) for p in layers]
        self.memory_config = memory_config
        self.base_model = base_model
        self.memory_dir = Path(memory_dir) if memory_dir else None
        self._held: dict[str, UserMemory] = {}
        self._receipts: dict[str, dict[str, dict]] = {}  # per user held: turn id -> record, oldest first
        self._last_stack: tuple[tuple, list[UserMemory], UserMemory] | None = None  # key, the memories (kept alive: ids stay theirs), batch
        self._pool: ThreadPoolExecutor | None = None  # writes a batch's files side by side

    @property
    def device(self) -> torch.device:
        return next(self.layers.parameters()).device

    def _layers(self) -> list[DualMemoryLayer]:
        return list(self.layers.values())

    # -- in RAM -----------------------------------------------------------------------------------------
    def empty(self, batch_size: int = 1) -> UserMemory:
        """A memory with nothing in it, for `batch_size` owners."""
        return [layer.empty_state(batch_size, self.device) for layer in self._layers()]

    def get(self, user: str) -> UserMemory:
        """The user's memory (loaded from memory_dir the first time, empty if none)."""
        user = check_user(user)
        if user not in self._held:
            path = self.path(user)
            self._held[user] = self.read_file(path) if path and path.is_file() else self.empty()
        return self._held[user]

    def stack(self, users: Sequence[str]) -> UserMemory:
        """The users' memories as one batch (row i = users[i]).

        Memories are values (never changed in place), so asking again for the same users before any of
        their memories is replaced returns the same batch without copying (generate reads a batch, then
        writes into it)."""
        memories = [self.get(u) for u in users]
        key = (tuple(users), tuple(id(m) for m in memories))
        if self._last_stack is None or self._last_stack[0] != key:
            self._last_stack = (key, memories, stack_memories(memories))
        return self._last_stack[2]

    def set(self, user: str, memory: UserMemory, keep_receipts: bool = True) -> None:
        """Replace the user's memory (on disk first, if persistent: a failed write changes nothing).

        A persistent memory is held as its file holds it (`MemoryState.as_saved`: fp16 keys and values), so
        a restarted process answers exactly as this one would have. Without keep_receipts the user's turn
        receipts go too (a memory replaced by a file, or cleared)."""
        self._replace({user: memory}, {} if keep_receipts else None)

    def commit(self, users: Sequence[str], memory: UserMemory, receipts: Sequence[Receipt | None] | None = None) -> None:
        """Keep row i of a batch's new memory as users[i]'s, cut from any autograd history (persistent: each
        user's file is on disk before their memory in RAM changes; the files of a batch are written side by
        side, so their flushes to disk overlap). receipts[i], if given, is saved with users[i]'s memory."""
        new = {user: [r] for user, r in zip(users, receipts or []) if r is not None}
        receipts_added = {user: new.get(user, []) for user in users}
        if self.memory_dir is None:
            batch = [s.detach() for s in memory]  # once for the batch
            self._replace({user: [s.select(i) for s in batch] for i, user in enumerate(users)}, receipts_added)
        else:
            # As the files hold it, and the files themselves, from one pass over the batch's used slots.
            saved, tensors, shared = pack_owners({f"layer{p}": s for p, s in zip(self.positions, memory)}, self.memory_config)
            batch = [saved[f"layer{p}"] for p in self.positions]
            self._replace({user: [s.select(i) for s in batch] for i, user in enumerate(users)}, receipts_added, packed=(tensors, shared))
        # The users' new memories are the rows of `batch`, in order: the next batch of the same users in the same
        # order (a server's next round) stacks to it without copying a slot.
        memories = [self._held[user] for user in users]
        self._last_stack = ((tuple(users), tuple(id(m) for m in memories)), memories, batch)

    def receipt(self, user: str, turn_id: str) -> dict | None:
        """The record saved with the turn `turn_id` of this user's, if that turn was written (None otherwise)."""
        return self._receipts_of(user).get(turn_id)

    def _receipts_of(self, user: str) -> dict[str, dict]:
        """The user's receipts (read from their file's metadata the first time; a damaged field counts as none)."""
        user = check_user(user)
        if user not in self._receipts:
            path = self.path(user)
            found: dict[str, dict] = {}
            if path is not None and path.is_file():
                try:
                    data = json.loads(read_metadata(path).get("receipts", "[]"))
                    found = {tid: record for tid, record in data if isinstance(tid, str) and isinstance(record, dict)}
                except (ValueError, TypeError):
                    found = {}
            self._receipts[user] = found
        return self._receipts[user]

    def _replace(self, memories: dict[str, UserMemory], receipts: dict[str, list[Receipt]] | None,
                 packed: tuple[list[dict], dict[str, str]] | None = None) -> None:
        """Replace memories; receipts: per user, those to add to what they hold (None: drop every user's);
        packed: the memories are already as their files will hold them (`as_saved`), and here are the files'
        tensors (in the order of `memories`) and the metadata they share (`pack_owners`)."""
        self._last_stack = None
        for user, memory in memories.items():
            check_user(user)
            if len(memory) != len(self.positions):
                raise ValueError(f"A user memory has one state per memory layer ({len(self.positions)}), got {len(memory)}.")
        kept = {}
        for user in memories:
            held = dict(self._receipts_of(user)) if receipts is not None else {}
            for tid, record in (receipts or {}).get(user, []):
                held.pop(tid, None)
                held[tid] = record
            kept[user] = dict(list(held.items())[-MAX_RECEIPTS:])
        if self.memory_dir is None:
            self._held.update(memories)
            self._receipts.update(kept)
            return
        if packed is None:
            memories = {user: [s.as_saved() for s in memory] for user, memory in memories.items()}
            files = {user: self._file_contents(memory, kept[user]) for user, memory in memories.items()}
        else:
            tensors, shared = packed
            files = {user: (tensors[i], {**shared, **self._file_metadata(kept[user])}) for i, user in enumerate(memories)}
        if len(files) == 1:
            ((user, (tensors, meta)),) = files.items()
            save_file_atomic(tensors, self.path(user), meta)
            self._held[user], self._receipts[user] = memories[user], kept[user]
            return
        if self._pool is None:  # kept for the process: starting threads per batch costs more than the files' bytes
            self._pool = ThreadPoolExecutor(8, thread_name_prefix="seam-memory-files")
        writes = {user: self._pool.submit(save_file_atomic, tensors, self.path(user), meta, sync_dir=False)
                  for user, (tensors, meta) in files.items()}
        wait(writes.values())
        for directory in {self.path(user).parent for user in writes}:  # the batch's renames flushed once, before anyone counts on them
            sync_directory(directory)
        failed = [(user, w.exception()) for user, w in writes.items() if w.exception() is not None]
        for user in writes:
            if writes[user].exception() is None:
                self._held[user], self._receipts[user] = memories[user], kept[user]
        if failed:
            raise failed[0][1]

    def decay(self, user: str, cycles: int = 1) -> None:
        """Let time pass for a user: the buffer fades by decay_rate**cycles; the store keeps."""
        if not isinstance(cycles, int) or cycles < 0:
            raise ValueError(f"decay cycles must be a non-negative integer, got {cycles!r}.")
        self.set(user, [layer.decay(s, cycles) for layer, s in zip(self._layers(), self.get(user))])

    def clear(self, user: str) -> None:
        """Forget everything this user said (their file, if any, then holds an empty memory and no receipts)."""
        self.set(user, self.empty(), keep_receipts=False)

    def drop(self, users: Sequence[str]) -> None:
        """Release these users' memories from RAM (their files stay; the next get reloads them)."""
        for user in users:
            self._held.pop(user, None)
            self._receipts.pop(user, None)
        self._last_stack = None

    def __contains__(self, user: object) -> bool:
        return user in self._held

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._held))

    def __len__(self) -> int:
        return len(self._held)

    def stats(self, user: str) -> dict[str, dict]:
        """Per memory layer: slots used and available, mean buffer strength, surprise statistics, turns."""
        out = {}
        for p, s in zip(self.positions, self.get(user)):
            out[f"layer{p}"] = {
                "buffer_used": int(s.buffer_used.sum()),
                "buffer_slots": self.memory_config.buffer_slots,
                "buffer_mean_strength": float(s.buffer_strength[s.buffer_used].mean()) if s.buffer_used.any() else 0.0,
                "store_used": int(s.store_used.sum()),
                "store_slots": self.memory_config.store_slots,
                "surprise_mean": float(s.surprise_mean[0]),
                "surprise_std": float(s.surprise_var[0].sqrt()),
                "turns_written": int(s.clock[0]),
            }
        return out

    def nbytes(self, user: str) -> int:
        """Bytes of the user's state tensors as held in RAM (the slots up to the last one in use, in fp32; a file
        holds only those in use, keys and values in fp16)."""
        return sum(t.nbytes for s in self.get(user) for t in s.tensors().values())

    # -- files ------------------------------------------------------------------------------------------
    def path(self, user: str) -> Path | None:
        """Where the user's memory persists (None without a memory_dir)."""
        return self.memory_dir / f"{check_user(user)}.safetensors" if self.memory_dir else None

    def save(self, path: str | Path, user: str) -> None:
        """Save one user's memory to a safetensors file (atomically)."""
        self.write_file(path, self.get(user))

    def load(self, path: str | Path, user: str) -> None:
        """Replace one user's memory with the file's (its receipts are not taken: they are of other turns);
        on any error the current memory is kept."""
        check_user(user)
        self.set(user, self.read_file(path), keep_receipts=False)

    def write_file(self, path: str | Path, memory: UserMemory) -> None:
        tensors, meta = self._file_contents(memory)
        save_file_atomic(tensors, path, meta)

    def _file_contents(self, memory: UserMemory, receipts: dict[str, dict] | None = None) -> tuple[dict, dict[str, str]]:
        """The tensors and metadata of the user's memory file (with its receipts, if any)."""
        return pack_states({f"layer{p}": s for p, s in zip(self.positions, memory)}, self.memory_config, self._file_metadata(receipts))

    def _file_metadata(self, receipts: dict[str, dict] | None) -> dict[str, str]:
        """What a user's memory file says besides its states: the memory config, the base model, the receipts."""
        meta = {"memory_config": json.dumps(self.memory_config.to_dict(), sort_keys=True), "base_model": self.base_model}
        if receipts:
            meta["receipts"] = json.dumps(list(receipts.items()))
        return meta

    def read_file(self, path: str | Path) -> UserMemory:
        """A user memory file (any format version), every tensor checked, and checked against these layers
        (ValueError naming what differs)."""
        states, _ = load_states(path, device=self.device, config=self.memory_config, batch_size=1)
        want = [f"layer{p}" for p in self.positions]
        if sorted(states) != sorted(want):
            raise ValueError(f"{path} holds memory for layers {sorted(states)}, but this model has memory layers {want}.")
        return [states[name] for name in want]
