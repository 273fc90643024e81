"""The interactive chat of experiment_llm.py -i: a terminal conversation with memory for one user.

What the user says is written to their SEAM memory; commands clear the context (/new), forget (/forget),
let time pass (/decay N), save and load the memory (/save P, /load P), show it (/stats) and end (/quit).
The memory file is loaded at the start and saved on exit, so a later chat continues from this one. Every
memory operation goes through the model's per-user API (memory_stats, clear_memory, decay, save_memory,
load_memory, generate).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..lm.model import MemoryAugmentedModel
from ..lm.prompts import Message

HELP = """Commands: /new (new conversation), /forget (clear memory), /decay N, /save PATH, /load PATH, /stats, /help, /quit.
Anything else is a message; what you say is written to memory."""


def _stats_line(model: MemoryAugmentedModel, user: str) -> str:
    """The user's memory in one line: per memory layer, buffer and store fill and turns written."""
    stats = model.memory_stats(user)
    return "; ".join(
        f"{k}: buffer {v['buffer_used']}/{v['buffer_slots']} (mean strength {v['buffer_mean_strength']:.3f}), "
        f"store {v['store_used']}/{v['store_slots']}, {v['turns_written']} turns written"
        for k, v in stats.items()
    )


def interactive_chat(
    model: MemoryAugmentedModel,
    user: str = "default",
    memory_file: Path | None = None,
    read_line: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    max_new_tokens: int = 64,
) -> None:
    """A chat with memory for one user. read_line raises EOFError at the end of input (= /quit).

    The user's memory is loaded from memory_file if it exists and saved there on exit (also after Ctrl-C).
    """
    if memory_file is not None and memory_file.is_file():
        model.load_memory(memory_file, user)
        write(f"[loaded {user}'s memory from {memory_file}: {_stats_line(model, user)}]")
    write(f"SEAM chat as user {user!r}. {HELP}")
    history: list[Message] = []
    try:
        while True:
            try:
                line = read_line("you> ").strip()
            except EOFError:
                break
            if not line:
                continue
            command, _, arg = line.partition(" ")
            arg = arg.strip()
            try:
                if command == "/quit":
                    break
                elif command == "/help":
                    write(HELP)
                elif command == "/new":
                    history = []
                    write("[new conversation: context cleared, memory kept]")
                elif command == "/forget":
                    model.clear_memory(user)
                    write("[memory cleared]")
                elif command == "/decay":
                    cycles = int(arg or "1")
                    model.decay(cycles, user=user)
                    write(f"[{cycles} decay cycles: {_stats_line(model, user)}]")
                elif command == "/save":
                    if not arg:
                        raise ValueError("usage: /save PATH")
                    model.save_memory(arg, user)
                    write(f"[memory saved to {arg}]")
                elif command == "/load":
                    if not arg:
                        raise ValueError("usage: /load PATH")
                    model.load_memory(arg, user)
                    write(f"[memory loaded from {arg}]")
                elif command == "/stats":
                    write(f"[{_stats_line(model, user)}]")
                elif command.startswith("/"):
                    write(f"[unknown command {command}] {HELP}")
                else:
                    reply, info = model.generate(line, user=user, history=history, update_memory=True, max_new_tokens=max_new_tokens)
                    history += [{"role": "user", "content": line}, {"role": "assistant", "content": reply or "..."}]
                    w = info["written"]
                    write(f"seam> {reply}")
                    write(f"[surprise max z {info['max_surprise_z']:.2f} (store threshold {info['store_threshold']:.2f}); "
                          f"wrote buffer +{w['buffer_inserted']}, store +{w['store_inserted']} new / {w['store_updated']} updated]")
            except (ValueError, FileNotFoundError, OSError) as err:
                write(f"[error: {err}]")
    finally:
        if memory_file is not None:
            model.save_memory(memory_file, user)
            write(f"[memory saved to {memory_file}]")


def _stdin_reader(stream: TextIO = sys.stdin) -> Callable[[str], str]:
    """input() on a terminal; on a pipe or file, one line per call and EOFError at the end (no prompts echoed)."""
    if stream.isatty():
        return input

    def read(_prompt: str) -> str:
        line = stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return read
