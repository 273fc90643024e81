"""MemoryState: the contents of one memory layer for B owners, kept apart from the learned weights.

Axis legend: B owners (users), N slots, D memory width.

A state is a value: the memory modules take a state and return a new one, so one owner's memory never
lives inside the shared weights, and B owners batched together never mix (every op is per row).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from .config import MemoryConfig

FORMAT_VERSION = "2"  # 2 added buffer_tags/store_tags; version-1 files load with every tag -1
TAG_FIELDS = ("buffer_tags", "store_tags")


@dataclass
class MemoryState:
    """Buffer and store slots of one memory layer for a batch of B owners."""

    buffer_keys: Tensor  # (B, Nb, D)
    buffer_values: Tensor  # (B, Nb, D)
    buffer_strength: Tensor  # (B, Nb) in [0, 1]; 0 marks an empty slot
    buffer_step: Tensor  # (B, Nb) the owner's write counter when the slot was written (age = clock - step)
    store_keys: Tensor  # (B, Ns, D)
    store_values: Tensor  # (B, Ns, D)
    store_importance: Tensor  # (B, Ns) surprise z-score of the item when it was (last) written
    store_used: Tensor  # (B, Ns) bool
    store_step: Tensor  # (B, Ns)
    store_usage: Tensor  # (B, Ns) how many writes created or updated the slot
    surprise_mean: Tensor  # (B,) EMA of written surprise
    surprise_var: Tensor  # (B,) EMA of its variance
    surprise_count: Tensor  # (B,) number of surprise values seen
    clock: Tensor  # (B,) number of written turns
    buffer_tags: Tensor  # (B, Nb) integer tag of each item (an LM stores the token id), -1 for none or empty
    store_tags: Tensor  # (B, Ns)

    @classmethod
    def empty(
        cls, config: MemoryConfig, batch_size: int = 1, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
    ) -> "MemoryState":
        B, Nb, Ns, D = batch_size, config.buffer_slots, config.store_slots, config.width
        f = dict(device=device, dtype=dtype)
        i = dict(device=device, dtype=torch.long)
        return cls(
            buffer_keys=torch.zeros(B, Nb, D, **f),
            buffer_values=torch.zeros(B, Nb, D, **f),
            buffer_strength=torch.zeros(B, Nb, **f),
            buffer_step=torch.zeros(B, Nb, **i),
            store_keys=torch.zeros(B, Ns, D, **f),
            store_values=torch.zeros(B, Ns, D, **f),
            store_importance=torch.zeros(B, Ns, **f),
            store_used=torch.zeros(B, Ns, device=device, dtype=torch.bool),
            store_step=torch.zeros(B, Ns, **i),
            store_usage=torch.zeros(B, Ns, **i),
            surprise_mean=torch.zeros(B, **f),
            surprise_var=torch.zeros(B, **f),
            surprise_count=torch.zeros(B, **i),
            clock=torch.zeros(B, **i),
            buffer_tags=torch.full((B, Nb), -1, **i),
            store_tags=torch.full((B, Ns), -1, **i),
        )

    # -- views ---------------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self.clock.shape[0]

    @property
    def buffer_used(self) -> Tensor:  # (B, Nb)
        return self.buffer_strength > 0

    def fill(self) -> dict[str, list[int]]:
        """Occupied slots per owner, for reports."""
        return {
            "buffer": self.buffer_used.sum(-1).tolist(),
            "store": self.store_used.sum(-1).tolist(),
        }

    def tensors(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def map(self, fn) -> "MemoryState":
        return MemoryState(**{name: fn(t) for name, t in self.tensors().items()})

    def detach(self) -> "MemoryState":
        """Cut the autograd history (e.g. between training steps or after a write at inference)."""
        return self.map(lambda t: t.detach())

    def to(self, device: torch.device | str) -> "MemoryState":
        return self.map(lambda t: t.to(device))

    def clone(self) -> "MemoryState":
        return self.map(lambda t: t.clone())

    def select(self, index: int | slice) -> "MemoryState":
        """Owners `index` as a state of their own (a slice keeps the batch axis)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return self.map(lambda t: t[index])

    @staticmethod
    def stack(states: list["MemoryState"]) -> "MemoryState":
        """Concatenate owners along the batch axis."""
        names = [f.name for f in fields(MemoryState)]
        return MemoryState(**{n: torch.cat([getattr(s, n) for s in states], 0) for n in names})

    def replace(self, **changes: Tensor) -> "MemoryState":
        return replace(self, **changes)

    def check_compatible(self, config: MemoryConfig) -> None:
        """Raise a ValueError naming what differs if this state cannot be used with `config`."""
        want = {
            "buffer_slots": (self.buffer_keys.shape[1], config.buffer_slots),
            "store_slots": (self.store_keys.shape[1], config.store_slots),
            "memory_dim": (self.buffer_keys.shape[2], config.width),
        }
        bad = [f"{k} is {have} in the memory but {need} in the model" for k, (have, need) in want.items() if have != need]
        if bad:
            raise ValueError("This memory state does not fit the memory layers: " + "; ".join(bad) + ".")


def untagged(mask: Tensor) -> Tensor:
    """Tags (B, T) = -1 for items that carry none."""
    return torch.full(mask.shape, -1, dtype=torch.long, device=mask.device)


def save_states(path: str | Path, states: dict[str, MemoryState], metadata: dict[str, str] | None = None) -> None:
    """Write named states to one safetensors file, atomically (a crash leaves any old file intact)."""
    tensors = {f"{name}.{key}": t.detach().contiguous().cpu() for name, s in states.items() for key, t in s.tensors().items()}
    meta = {"format": "seam-memory", "format_version": FORMAT_VERSION, "states": json.dumps(sorted(states))}
    meta.update(metadata or {})
    save_file_atomic(tensors, path, meta)


def save_file_atomic(tensors: dict[str, Tensor], path: str | Path, metadata: dict[str, str]) -> None:
    """save_file to a temporary file beside `path`, then rename: a crash leaves any old file intact
    and never a half-written one. The one way SEAM writes a safetensors file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_metadata(path: str | Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def load_states(path: str | Path, device: torch.device | str = "cpu") -> tuple[dict[str, MemoryState], dict[str, str]]:
    """Read states written by `save_states`. Raises ValueError with a readable reason on a bad file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No memory file at {path}.")
    try:
        meta = read_metadata(path)
        tensors = load_file(str(path), device=str(device))
    except Exception as err:  # safetensors raises several error types on a damaged file
        raise ValueError(f"{path} is not a readable SEAM memory file ({err}).") from err
    if meta.get("format") != "seam-memory":
        raise ValueError(f"{path} is a safetensors file but not a SEAM memory file (no 'seam-memory' format tag).")
    names = json.loads(meta.get("states", "[]"))
    keys = [f.name for f in fields(MemoryState)]
    states = {}
    for name in names:
        if meta.get("format_version") == "1":  # written before tags existed: every item untagged
            for k, slots in zip(TAG_FIELDS, ("buffer_strength", "store_importance")):
                if f"{name}.{slots}" in tensors:
                    tensors[f"{name}.{k}"] = torch.full_like(tensors[f"{name}.{slots}"], -1, dtype=torch.long)
        missing = [k for k in keys if f"{name}.{k}" not in tensors]
        if missing:
            raise ValueError(f"{path} is missing tensors for memory '{name}': {', '.join(missing)}.")
        states[name] = MemoryState(**{k: tensors[f"{name}.{k}"] for k in keys})
    return states, meta
