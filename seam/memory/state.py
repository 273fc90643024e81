"""MemoryState: the contents of one memory layer for B owners, kept apart from the learned weights.

Axis legend: B owners (users), N slots, D memory width.

A state is a value: the memory modules take a state and return a new one, so one owner's memory never
lives inside the shared weights, and B owners batched together never mix (every op is per row).

A state holds as many slots as its owners use, not the memory's capacity (MemoryConfig.buffer_slots /
store_slots, which bound it): an empty memory holds none, a write keeps the used slots in front and the state
as wide as its fullest owner, a batch of owners is padded with empty slots to the widest. Empty slots weigh
nothing in a read, so a state and the same state with empty slots added read the same; a memory then costs
what was said, in RAM, in every read and write, and on disk.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import safetensors.numpy
import safetensors.torch
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import Tensor

from .config import MemoryConfig

FORMAT_VERSION = "3"
"""Memory file versions: 1 every slot in full; 2 added buffer_tags/store_tags (version-1 files load with every
tag -1); 3 holds only the slots in use, their keys and values in fp16 (see `MemoryState.as_saved`); its metadata
gives the memory's capacity (buffer_slots, store_slots), its index the used slots' places in it."""
TAG_FIELDS = ("buffer_tags", "store_tags")
FLOAT_FIELDS = ("buffer_keys", "buffer_values", "buffer_strength", "store_keys", "store_values", "store_importance", "surprise_mean",
                "surprise_var")
BUFFER_SLOT_FIELDS = ("buffer_keys", "buffer_values", "buffer_strength", "buffer_step", "buffer_tags")
STORE_SLOT_FIELDS = ("store_keys", "store_values", "store_importance", "store_step", "store_usage", "store_tags")
OWNER_FIELDS = ("surprise_mean", "surprise_var", "surprise_count", "clock")
HALF_FIELDS = ("buffer_keys", "buffer_values", "store_keys", "store_values")
"""Saved in fp16 (the bulk of a file: slots x memory width); every other field keeps its dtype."""
_FLOAT_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
_MAX_ELEMENTS = 2**31


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
        """A memory with nothing in it: no slots (writes add them, up to the config's capacity)."""
        return cls.zeros(batch_size, 0, 0, config.width, device, dtype)

    @classmethod
    def zeros(
        cls, batch_size: int, buffer_slots: int, store_slots: int, width: int, device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> "MemoryState":
        """An empty state of the given sizes (B owners, Nb buffer slots, Ns store slots, width D)."""
        B, Nb, Ns, D = batch_size, buffer_slots, store_slots, width
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

    @property
    def widths(self) -> tuple[int, int]:
        """Slots held (buffer, store): at least the used ones, at most the memory's capacity."""
        return self.buffer_strength.shape[1], self.store_importance.shape[1]

    def widen(self, buffer_slots: int, store_slots: int) -> "MemoryState":
        """The same memory holding at least this many slots: empty slots (zeros, tag -1) added at the end. Reads
        and writes see the same memory (empty slots weigh nothing; a write keeps the used slots in front)."""
        Nb, Ns = self.widths
        if buffer_slots <= Nb and store_slots <= Ns:
            return self
        B = self.batch_size
        pads = {"buffer": max(buffer_slots - Nb, 0), "store": max(store_slots - Ns, 0)}

        def pad(name: str, t: Tensor) -> Tensor:
            kind = name.split("_")[0]
            if kind not in pads or t.dim() < 2 or not pads[kind]:
                return t
            fill = -1 if name in TAG_FIELDS else 0
            return torch.cat([t, t.new_full((B, pads[kind], *t.shape[2:]), fill)], 1)

        return MemoryState(**{name: pad(name, t) for name, t in self.tensors().items()})

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
    def padded(states: list["MemoryState"]) -> list["MemoryState"]:
        """The states, each widened with empty slots to the widest (the same memories, equal widths)."""
        Nb, Ns = (max(w) for w in zip(*(s.widths for s in states)))
        return [s.widen(Nb, Ns) for s in states]

    @staticmethod
    def stack(states: list["MemoryState"]) -> "MemoryState":
        """Concatenate owners along the batch axis (each widened with empty slots to the widest)."""
        states = MemoryState.padded(states)
        names = [f.name for f in fields(MemoryState)]
        return MemoryState(**{n: torch.cat([getattr(s, n) for s in states], 0) for n in names})

    def replace(self, **changes: Tensor) -> "MemoryState":
        return replace(self, **changes)

    def check_compatible(self, config: MemoryConfig) -> None:
        """Raise a ValueError naming what differs if this state cannot be used with `config` (a state may hold
        fewer slots than the capacity, never more)."""
        Nb, Ns = self.widths
        bad = [f"{k} is {have} in the memory but at most {need} in the model" for k, have, need in
               (("buffer_slots", Nb, config.buffer_slots), ("store_slots", Ns, config.store_slots)) if have > need]
        if self.buffer_keys.shape[2] != config.width:
            bad.append(f"memory_dim is {self.buffer_keys.shape[2]} in the memory but {config.width} in the model")
        if bad:
            raise ValueError("This memory state does not fit the memory layers: " + "; ".join(bad) + ".")

    def as_saved(self) -> "MemoryState":
        """This state as a memory file holds it, exactly what loading the file gives back: keys and values
        rounded to fp16, empty slots holding nothing (zeros, tag -1), and no slots after the last one any owner
        uses (loading one owner's file gives that owner's row without the empty slots after its own last).
        Reads see the same slots; the fp16 rounding moves a key or value by at most 1 part in 2,000. (Each owner
        on its own: an owner with a value that overflows fp16 keeps that field in its own dtype, as its own
        file would.)"""
        state = self.detach()
        return _saved_state(state, _used_slots(state))

    def check_valid(self) -> None:
        """Raise a ValueError naming the first field that no SEAM write could have produced (a damaged or
        hostile file): wrong dtype or shape, a non-finite number, a strength outside [0, 1], a tag below -1,
        a slot written after the owner's clock, a negative count."""
        B = self.clock.shape[0] if self.clock.dim() == 1 else -1
        Nb, Ns = self.buffer_strength.shape[-1], self.store_importance.shape[-1]
        D = self.buffer_keys.shape[-1]
        for f in fields(self):
            t = getattr(self, f.name)
            kind = "float" if f.name in FLOAT_FIELDS else "bool" if f.name == "store_used" else "long"
            ok = t.is_floating_point() if kind == "float" else t.dtype == (torch.bool if kind == "bool" else torch.long)
            if not ok:
                raise ValueError(f"{f.name} has dtype {t.dtype}; a SEAM memory holds {kind} values there.")
            want = ((B, Nb, D) if f.name in ("buffer_keys", "buffer_values") else (B, Ns, D) if f.name in ("store_keys", "store_values")
                    else (B, Nb) if f.name.startswith("buffer_") else (B, Ns) if f.name.startswith("store_") else (B,))
            if tuple(t.shape) != want:
                raise ValueError(f"{f.name} has shape {tuple(t.shape)}, but the other fields make it {want}.")
            if kind == "float" and not torch.isfinite(t).all():
                raise ValueError(f"{f.name} holds non-finite values.")
        checks = [
            ("buffer_strength", (self.buffer_strength < 0) | (self.buffer_strength > 1), "a strength outside [0, 1]"),
            ("buffer_tags", self.buffer_tags < -1, "a tag below -1"),
            ("store_tags", self.store_tags < -1, "a tag below -1"),
            *((name, getattr(self, name) < 0, "a negative value") for name in
              ("clock", "surprise_count", "store_usage", "surprise_var", "buffer_step", "store_step")),
            ("buffer_step", self.buffer_step > self.clock[:, None], "a slot written after the owner's clock"),
            ("store_step", self.store_step > self.clock[:, None], "a slot written after the owner's clock"),
        ]
        for name, bad, what in checks:
            if bool(bad.any()):
                raise ValueError(f"{name} holds {what}.")


def untagged(mask: Tensor) -> Tensor:
    """Tags (B, T) = -1 for items that carry none."""
    return torch.full(mask.shape, -1, dtype=torch.long, device=mask.device)


def save_states(path: str | Path, states: dict[str, MemoryState], config: MemoryConfig, metadata: dict[str, str] | None = None) -> None:
    """Write named states of a memory of `config`'s capacity to one safetensors file, atomically (a crash leaves
    any old file intact).

    Only slots in use are written (their keys and values in fp16); loading gives `state.as_saved()`."""
    tensors, meta = pack_states(states, config, metadata)
    save_file_atomic(tensors, path, meta)


def pack_states(states: dict[str, MemoryState], config: MemoryConfig, metadata: dict[str, str] | None = None
                ) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors and metadata of a memory file holding `states` (what save_states writes)."""
    tensors: dict[str, Tensor] = {}
    shapes = {}
    for name, state in states.items():
        state = state.detach()
        state.check_compatible(config)
        (packed,), shapes[name] = _pack(state, name, _used_slots(state), [0, state.batch_size], config)
        tensors.update(packed)
    return tensors, _file_metadata(shapes, metadata)


def pack_owners(states: dict[str, MemoryState], config: MemoryConfig
                ) -> tuple[dict[str, MemoryState], list[dict[str, Tensor]], dict[str, str]]:
    """Each owner's memory file of a batch at once: (the states as the files hold them, i.e. `as_saved`; owner
    b's file tensors, as `pack_states` of owner b alone makes them; the metadata every owner's file shares,
    before its own is added). One pass over the batch's used slots serves both, instead of one per owner and
    one more to round the batch."""
    saved: dict[str, MemoryState] = {}
    B = next(iter(states.values())).batch_size
    files: list[dict[str, Tensor]] = [{} for _ in range(B)]
    shapes = {}
    for name, state in states.items():
        state = state.detach()
        state.check_compatible(config)
        used = _used_slots(state)
        saved[name] = _saved_state(state, used)
        packed, shapes[name] = _pack(state, name, used, list(range(B + 1)), config)
        for b in range(B):
            files[b].update(packed[b])
    return saved, files, _file_metadata(shapes, None)


def _file_metadata(shapes: dict, metadata: dict[str, str] | None) -> dict[str, str]:
    meta = {"format": "seam-memory", "format_version": FORMAT_VERSION, "states": json.dumps(sorted(shapes)), "shapes": json.dumps(shapes)}
    meta.update(metadata or {})
    return meta


_HALF_OVERFLOW = 65520.0  # the smallest magnitude that fp16 rounds to infinity


def _fits_half(t: Tensor) -> Tensor:
    """(K,): whether all of row k of t (K, ...) is a finite number in fp16 (nan and inf never are). amax and amin
    apart: on CPU about ten times faster than aminmax along a dimension."""
    rows = t.flatten(1)
    return (rows.amax(1) < _HALF_OVERFLOW) & (rows.amin(1) > -_HALF_OVERFLOW)


@dataclass
class _Used:
    """The used slots of one state, read once: what a file holds and what loading it gives back are made from it."""

    index: dict[str, Tensor]
    """Per kind ("buffer", "store"): the used slots (K,), flat over B x N, in owner order."""
    span: dict[str, int]
    """Per kind: slots up to the last one any owner uses (what the state as saved holds)."""
    bounds: dict[str, list[int]]
    """Per kind: owner b's slots are index[bounds[b]:bounds[b + 1]]."""
    rows: dict[str, Tensor]
    """Per slot field: its used rows (K, ...)."""
    half: dict[str, Tensor]
    """Per HALF_FIELDS field: its used rows in fp16."""
    fits: dict[str, Tensor]
    """Per HALF_FIELDS field: (B,) whether all of the owner's rows are finite in fp16."""


def _used_slots(state: MemoryState) -> _Used:
    B = state.batch_size
    used = _Used({}, {}, {}, {}, {}, {})
    for kind, mask, names in (("buffer", state.buffer_used, BUFFER_SLOT_FIELDS), ("store", state.store_used, STORE_SLOT_FIELDS)):
        N = mask.shape[1]
        index = mask.reshape(-1).nonzero().flatten()  # (K,) used slots, flat over B x N (owner by owner)
        used.index[kind] = index
        used.span[kind] = _span(index, N)
        used.bounds[kind] = [0, *mask.sum(1).cumsum(0).tolist()]
        for field in names:
            t = getattr(state, field)
            rows = t.reshape(B * N, *t.shape[2:]).index_select(0, index)
            used.rows[field] = rows
            if field in HALF_FIELDS:
                used.half[field] = rows.half()
                fits = _fits_half(rows)  # (K,): per used slot
                bad = torch.zeros(B, dtype=torch.bool, device=t.device)
                if not bool(fits.all()):  # an owner with any slot that does not fit keeps all of its rows in its own dtype
                    bad.index_fill_(0, (index // N)[~fits], True)
                used.fits[field] = ~bad
    return used


def _span(index: Tensor, width: int) -> int:
    """Slots up to the last one used, for used slots `index` (K,) flat over owners x `width` slots."""
    return int((index % width).max()) + 1 if index.numel() else 0


def _reflat(index: Tensor, width: int, new_width: int) -> Tensor:
    """Slots `index` (K,) flat over owners x `width` slots, flat over owners x `new_width` instead (the same owner
    and slot; every slot below both widths)."""
    return index if width == new_width else (index // width) * new_width + index % width


def _saved_state(state: MemoryState, used: _Used) -> MemoryState:
    """`state` as loading its owners' files gives it back: the used slots' fields (fp16-rounded keys and values
    where the owner's file holds fp16) in an empty state (zeros, tags -1) as wide as the last slot any owner
    uses, the owner fields as they are."""
    B, D = state.batch_size, state.buffer_keys.shape[2]
    widths = {"buffer": state.widths[0], "store": state.widths[1]}
    empty = MemoryState.zeros(B, used.span["buffer"], used.span["store"], D, state.buffer_keys.device, state.buffer_keys.dtype)
    changes: dict[str, Tensor] = {}
    for kind, names in (("buffer", BUFFER_SLOT_FIELDS), ("store", STORE_SLOT_FIELDS)):
        N, W = widths[kind], used.span[kind]
        owner = used.index[kind] // N
        index = _reflat(used.index[kind], N, W)
        for field in names:
            full = getattr(empty, field)
            rows = used.rows[field]
            if field in HALF_FIELDS:
                rounded = used.half[field].to(rows.dtype)
                fits = used.fits[field]
                rows = rounded if bool(fits.all()) else torch.where(fits[owner][:, None], rounded, rows)
            full.view(B * W, *full.shape[2:]).index_copy_(0, index, rows)
            changes[field] = full
    changes["store_used"] = state.store_used[:, : used.span["store"]].clone()
    return state.replace(**changes)


def _pack(state: MemoryState, name: str, used: _Used, cuts: list[int], config: MemoryConfig) -> tuple[list[dict[str, Tensor]], dict]:
    """The file tensors of one state for consecutive groups of owners, group g = owners cuts[g] to cuts[g + 1] - 1
    (every owner in a file of its own: cuts 0, 1, ..., B; all in one file: 0, B): indices of the group's used slots
    (flat over its owners x the memory's capacity), those slots' fields (keys and values in fp16 unless a value of
    the group's owners overflows it) and the per-owner fields; and the sizes of one group (what its file's metadata
    says: owners, the config's capacity, width; groups are equal).
    Each field is cut into its groups' parts at once (views of one selection, no copy per group)."""
    B, D = state.batch_size, state.buffer_keys.shape[2]
    held = dict(zip(("buffer", "store"), state.widths))
    Nb, Ns = config.buffer_slots, config.store_slots
    G = len(cuts) - 1
    widths = [cuts[g + 1] - cuts[g] for g in range(G)]
    if len(set(widths)) != 1 or cuts[0] != 0 or cuts[-1] != B:
        raise ValueError(f"groups of owners must cover the batch of {B} in equal parts, got cuts {cuts}.")
    out: list[dict[str, Tensor]] = [{} for _ in range(G)]
    for kind, N, names in (("buffer", Nb, BUFFER_SLOT_FIELDS), ("store", Ns, STORE_SLOT_FIELDS)):
        bounds = used.bounds[kind]
        sizes = [bounds[cuts[g + 1]] - bounds[cuts[g]] for g in range(G)]
        first = torch.tensor(cuts[:-1], device=used.index[kind].device).repeat_interleave(
            torch.tensor(sizes, device=used.index[kind].device))  # each used slot's group's first owner
        index = _reflat(used.index[kind], held[kind], N)  # flat over B x capacity, as the file counts
        for g, part in enumerate((index - first * N).to(torch.int32).split(sizes)):
            out[g][f"{name}.{kind}_index"] = part
        for field in names:
            parts = used.rows[field].split(sizes)
            if field in HALF_FIELDS:
                fits = used.fits[field].tolist()
                halves = used.half[field].split(sizes)
                parts = [halves[g] if all(fits[cuts[g]:cuts[g + 1]]) else parts[g] for g in range(G)]
            for g in range(G):
                out[g][f"{name}.{field}"] = parts[g]
    for field in OWNER_FIELDS:  # a copy: a row of a batch is a view of the batch's storage, which a file must not share
        for g, part in enumerate(getattr(state, field).clone().split(widths)):
            out[g][f"{name}.{field}"] = part
    out = [{k: v.contiguous().cpu() for k, v in group.items()} for group in out]
    dtype = next(k for k, v in _FLOAT_DTYPES.items() if v == state.buffer_strength.dtype)
    return out, {"batch": widths[0], "buffer_slots": Nb, "store_slots": Ns, "width": D, "dtype": dtype}


def _unpack(tensors: dict[str, Tensor], name: str, shape: dict, device: torch.device | str) -> MemoryState:
    """The state `_pack` wrote (ValueError naming what is wrong for anything else)."""
    try:
        B, Nb, Ns, D = (int(shape[k]) for k in ("batch", "buffer_slots", "store_slots", "width"))
        dtype = _FLOAT_DTYPES[shape["dtype"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"no valid sizes in the file's metadata ({shape!r}).") from None
    if min(B, Nb, Ns, D) < 1 or B * (Nb + Ns) * (D + 8) > _MAX_ELEMENTS:
        raise ValueError(f"implausible sizes {shape!r}.")
    missing = [f for f in ("buffer_index", "store_index", *BUFFER_SLOT_FIELDS, *STORE_SLOT_FIELDS, *OWNER_FIELDS)
               if f"{name}.{f}" not in tensors]
    if missing:
        raise ValueError(f"missing tensors: {', '.join(missing)}.")
    indices = {}
    for kind, N in (("buffer", Nb), ("store", Ns)):
        index = tensors[f"{name}.{kind}_index"]
        if index.dim() != 1 or index.dtype != torch.int32:
            raise ValueError(f"{kind}_index must be a 1-d int32 tensor.")
        index = index.long()
        K = index.shape[0]
        if K and (int(index.min()) < 0 or int(index.max()) >= B * N or index.unique().numel() != K):
            raise ValueError(f"{kind}_index holds slots out of range or twice.")
        indices[kind] = index
    # Held as wide as the last slot any owner uses (see MemoryState.as_saved), not the capacity.
    span = {kind: _span(index, N) for (kind, index), N in zip(indices.items(), (Nb, Ns))}
    state = MemoryState.zeros(B, span["buffer"], span["store"], D, dtype=dtype)
    changes: dict[str, Tensor] = {}
    for kind, Nc, names in (("buffer", Nb, BUFFER_SLOT_FIELDS), ("store", Ns, STORE_SLOT_FIELDS)):
        N = span[kind]
        index = _reflat(indices[kind], Nc, N)  # flat over B x the slots held
        K = index.shape[0]
        for field in names:
            full = getattr(state, field)
            rows = tensors[f"{name}.{field}"]
            if tuple(rows.shape) != (K, *full.shape[2:]):
                raise ValueError(f"{field} has shape {tuple(rows.shape)}, expected {(K, *full.shape[2:])}.")
            if rows.is_floating_point() != full.is_floating_point():
                raise ValueError(f"{field} has dtype {rows.dtype}, expected {full.dtype}.")
            full.view(B * N, *full.shape[2:]).index_copy_(0, index, rows.to(full.dtype))  # fills the fresh zeros in place
            changes[field] = full
        if kind == "buffer" and K and not bool((tensors[f"{name}.buffer_strength"] > 0).all()):
            raise ValueError("a used buffer slot has strength 0.")
        if kind == "store":
            changes["store_used"] = torch.zeros(B * N, dtype=torch.bool).index_fill(0, index, True).view(B, N)
    for field in OWNER_FIELDS:
        t = tensors[f"{name}.{field}"]
        if tuple(t.shape) != (B,) or t.is_floating_point() != getattr(state, field).is_floating_point():
            raise ValueError(f"{field} has shape {tuple(t.shape)} and dtype {t.dtype}, expected ({B},) "
                             f"{getattr(state, field).dtype}.")
        changes[field] = t.to(getattr(state, field).dtype)
    return state.replace(**changes).to(device)


def save_file_atomic(tensors: dict[str, Tensor], path: str | Path, metadata: dict[str, str], sync_dir: bool = True) -> None:
    """The safetensors file of `tensors` to a temporary file beside `path`, flushed to disk, then rename: a crash
    (even of the machine) leaves the old file or the new one, never a half-written one; once this returns, the new
    file is on disk. The one way SEAM writes a safetensors file. Without sync_dir the rename is not yet flushed:
    the caller flushes the directory (`sync_directory`) once for several files before it counts on them."""
    path = Path(path)
    data = file_bytes(tensors, metadata)  # before any file exists: a tensor it refuses leaves nothing behind
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _fsync(tmp)  # the bytes are on disk before the new name points at them
        os.replace(tmp, path)
        if sync_dir:
            sync_directory(path.parent)  # and the rename itself is
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_NUMPY_DTYPES = {torch.float64, torch.float32, torch.float16, torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool}


def file_bytes(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors file of `tensors` as bytes. Through the library's numpy front end when numpy holds every
    tensor as it is (contiguous, on the CPU, no grad, a dtype numpy has): the same bytes as its torch front end, in
    about a third of the time (a user's memory file: 0.3 ms instead of 0.9 ms, a 16-user batch's files pay it 16
    times); else the torch front end (bf16, GPU tensors), which also refuses tensors that share memory."""
    if all(t.device.type == "cpu" and t.dtype in _NUMPY_DTYPES and t.is_contiguous() and not t.requires_grad for t in tensors.values()):
        return safetensors.numpy.save({k: t.numpy() for k, t in tensors.items()}, metadata=metadata)
    return safetensors.torch.save(tensors, metadata=metadata)


def sync_directory(path: str | Path) -> None:
    """Flush a directory's entries (the renames into it) to disk."""
    _fsync(path)


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_metadata(path: str | Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def load_states(
    path: str | Path, device: torch.device | str = "cpu", config: MemoryConfig | None = None, batch_size: int | None = None
) -> tuple[dict[str, MemoryState], dict[str, str]]:
    """Read states written by `save_states` (any format version), checking every tensor (`check_valid`).

    With `config` (and `batch_size`), a file made for other sizes is refused before anything is allocated.
    Raises ValueError with a readable reason on a bad file: nothing of it is returned.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No memory file at {path}.")
    try:
        meta = read_metadata(path)
        tensors = load_file(str(path), device="cpu")
    except Exception as err:  # safetensors raises several error types on a damaged file
        raise ValueError(f"{path} is not a readable SEAM memory file ({err}).") from err
    if meta.get("format") != "seam-memory":
        raise ValueError(f"{path} is a safetensors file but not a SEAM memory file (no 'seam-memory' format tag).")
    version = meta.get("format_version")
    if version not in ("1", "2", FORMAT_VERSION):
        raise ValueError(f"{path} is a SEAM memory file of format version {version!r}; this SEAM reads versions 1 to {FORMAT_VERSION}.")
    try:
        names = json.loads(meta.get("states", "[]"))
        shapes = json.loads(meta.get("shapes", "{}"))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not isinstance(shapes, dict):
            raise ValueError
    except ValueError:
        raise ValueError(f"{path} has damaged metadata (states / shapes are not what SEAM writes).") from None
    keys = [f.name for f in fields(MemoryState)]
    states = {}
    for name in names:
        try:
            if version == FORMAT_VERSION:
                shape = shapes.get(name)
                if config is not None and isinstance(shape, dict):
                    _check_sizes(shape, config, batch_size)
                state = _unpack(tensors, name, shape or {}, "cpu")
            else:
                if version == "1":  # written before tags existed: every item untagged
                    for k, slots in zip(TAG_FIELDS, ("buffer_strength", "store_importance")):
                        if f"{name}.{slots}" in tensors:
                            tensors[f"{name}.{k}"] = torch.full_like(tensors[f"{name}.{slots}"], -1, dtype=torch.long)
                missing = [k for k in keys if f"{name}.{k}" not in tensors]
                if missing:
                    raise ValueError(f"missing tensors: {', '.join(missing)}.")
                state = MemoryState(**{k: tensors[f"{name}.{k}"] for k in keys})
            state.check_valid()
            if config is not None:
                state.check_compatible(config)
            if batch_size is not None and state.batch_size != batch_size:
                raise ValueError(f"it holds {state.batch_size} owners' memory; {batch_size} expected.")
        except ValueError as err:
            raise ValueError(f"{path} is not a valid SEAM memory file: memory '{name}': {err}") from None
        states[name] = state.to(device)
    return states, meta


def _check_sizes(shape: dict, config: MemoryConfig, batch_size: int | None) -> None:
    want = {"buffer_slots": config.buffer_slots, "store_slots": config.store_slots, "width": config.width}
    if batch_size is not None:
        want["batch"] = batch_size
    bad = [f"{k} is {shape.get(k)!r} in the file but {v} in the model" for k, v in want.items() if shape.get(k) != v]
    if bad:
        raise ValueError("This memory state does not fit the memory layers: " + "; ".join(bad) + ".")
