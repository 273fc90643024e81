"""The server's hold on its memory directory: one server per directory, and no leftovers of a killed one."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

LOCK_NAME = ".seam-serve.lock"


def claim_memory_dir(memory_dir: Path) -> IO:
    """Lock `memory_dir` for this process (released when it exits, even by SIGKILL). Two servers over one
    directory would each hold their own copy of a user's memory in RAM and overwrite each other's files."""
    memory_dir.mkdir(parents=True, exist_ok=True)
    handle = open(memory_dir / LOCK_NAME, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"Another SEAM server is using the memory directory {memory_dir}; give each server its own.") from None
    return handle


def remove_stale_temp_files(memory_dir: Path) -> int:
    """Delete the temporary files of writes a killed server left unfinished (each user's file itself is whole:
    a write replaces it only once complete). Returns how many were removed."""
    stale = list(memory_dir.glob(".*.safetensors.*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.info("Removed %d unfinished memory writes left in %s by an earlier server.", len(stale), memory_dir)
    return len(stale)
