"""What a user's memory holds, in words: the operations behind the memory routes (run on the worker thread).

An item is one token the user said, kept by one memory layer in its short-term buffer or its long-term
store: its tag is the token's id (so its text is that token's text), its strength fades with decay
(buffer; store items do not fade), its surprise is the z-score it was written with (kept by the
store; a buffer item shows the z of the store item written from the same token in the same turn, or
none when that token stayed below the store's gate), its age is the user's turns written since and
including the one it came from (clock - step: 1 for the latest turn).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..lm.model import MemoryAugmentedModel


def memory_stats(model: MemoryAugmentedModel, user: str) -> dict:
    """Per layer fill and surprise statistics, turns written, and the size of the user's file."""
    layers = model.memory_stats(user)
    path = model.users.path(user)
    first = next(iter(layers.values()))
    return {
        "object": "memory.stats",
        "user": user,
        "turns_written": first["turns_written"],
        "items": sum(v["buffer_used"] + v["store_used"] for v in layers.values()),
        "file_bytes": path.stat().st_size if path is not None and path.is_file() else None,
        "layers": layers,
    }


def memory_items(model: MemoryAugmentedModel, user: str, layer: int | None = None) -> dict:
    """Every item the user's memory holds (one memory layer's, or all layers'), newest turn first."""
    positions = model.users.positions
    if layer is not None and layer not in positions:
        raise ValueError(f"This model has memory layers {positions}; there is no memory layer {layer}.")
    tokenizer = model.tokenizer
    items = []
    for position, state in zip(positions, model.memory_of(user)):
        if layer is not None and position != layer:
            continue
        clock = int(state.clock[0])
        store_used = state.store_used[0]
        store_z = {(t, s): z for t, s, z in zip(state.store_tags[0][store_used].tolist(), state.store_step[0][store_used].tolist(),
                                                state.store_importance[0][store_used].tolist())}
        for where in ("buffer", "store"):
            used = state.buffer_used[0] if where == "buffer" else store_used
            slots = used.nonzero().flatten().tolist()
            tags = (state.buffer_tags if where == "buffer" else state.store_tags)[0][used].tolist()
            steps = (state.buffer_step if where == "buffer" else state.store_step)[0][used].tolist()
            if where == "buffer":
                strengths = state.buffer_strength[0][used].tolist()
                surprise = [store_z.get((t, s)) for t, s in zip(tags, steps)]
            else:
                strengths = [1.0] * len(slots)
                surprise = state.store_importance[0][used].tolist()
            texts = [tokenizer.decode([t]) if 0 <= t < len(tokenizer) else None for t in tags]
            items += [
                {"layer": position, "where": where, "slot": slot, "token_id": tag if tag >= 0 else None, "text": text,
                 "strength": round(strength, 4), "surprise_z": None if z is None else round(z, 3), "turn": step, "age": clock - step}
                for slot, tag, text, strength, z, step in zip(slots, tags, texts, strengths, surprise, steps)
            ]
    # Newest turn first; within a turn by slot (slots keep no word order: the text of a turn is a set of tokens).
    items.sort(key=lambda item: (item["layer"], item["age"], item["where"] != "buffer", item["slot"]))
    return {"object": "list", "user": user, "layers": positions if layer is None else [layer], "data": items}


def export_memory(model: MemoryAugmentedModel, user: str) -> bytes:
    """The user's memory file (safetensors), as SEAM saves it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.safetensors"
        model.users.save(path, user)
        return path.read_bytes()


def import_memory(model: MemoryAugmentedModel, user: str, data: bytes) -> dict:
    """Replace the user's memory with a file's, after checking every tensor of it; on any problem a ValueError
    and the user's memory (in RAM and on disk) stays as it was."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "import.safetensors"
        path.write_bytes(data)
        model.users.load(path, user)
    return memory_stats(model, user)


def decay_memory(model: MemoryAugmentedModel, user: str, cycles: int) -> dict:
    model.decay(cycles, user=user)
    return memory_stats(model, user)


def forget_memory(model: MemoryAugmentedModel, user: str) -> dict:
    model.clear_memory(user)
    return memory_stats(model, user)
