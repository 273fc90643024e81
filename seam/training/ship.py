"""What ships beside a trained checkpoint: its training history, plot and logs, with the histories of its lineage.

A run's `training_history.json` counts its own steps from 1, and a warm start (`train.py --init-from`) begins a
new one, so a shipped checkpoint's lineage is several histories: the newest as `training_history.*`, the earlier
ones archived as `training_history_<label>.*` (e.g. `training_history_steps1-700.json`). `history_files` gathers
them from the run's log directory and the earlier ones (usually the folder shipped before,
`seam/pretrained/<model>/`), and `replace_folder` writes them in place of that folder without ever leaving it
half-written.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

HISTORY = ("training_history.json", "training_history.png")
ARCHIVED = "training_history_*"
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def history_files(log_dirs: list[Path], archive_as: str | None = None) -> tuple[dict[str, bytes], list[str]]:
    """The files to ship, name -> bytes, and a sentence for each history left out.

    From the first directory (the run that made the checkpoint): its history, plot and logs. From each later
    one: its logs and its archived histories (`training_history_<label>.*`); its own `training_history.*` is
    archived as `training_history_<archive_as>.*` when `archive_as` is given (a lineage's step range, which
    only the caller knows: each run's history counts from step 1), else left out, which is right when the run
    was resumed (`--resume`: its history holds the whole lineage). A name met twice keeps its first file."""
    if archive_as is not None and not LABEL.fullmatch(archive_as):
        raise ValueError(f"archive label {archive_as!r} must be 1-64 letters, digits, '.', '_' or '-' (e.g. steps701-950)")
    missing = [str(d) for d in log_dirs if not d.is_dir()]
    if missing:
        raise FileNotFoundError(f"no such log directory: {', '.join(missing)}")
    files: dict[str, bytes] = {}
    left_out: list[str] = []
    archived_from: list[Path] = []
    for i, log_dir in enumerate(log_dirs):
        found = sorted(f for f in log_dir.iterdir() if f.is_file())
        for f in found:
            if i == 0 and f.name in HISTORY:
                name = f.name
            elif f.name in HISTORY:
                if archive_as is None:
                    left_out.append(f"{f} (give an archive label to keep it)")
                    continue
                name = f"training_history_{archive_as}{f.suffix}"
                archived_from.append(log_dir)
            elif f.match(ARCHIVED) or f.suffix == ".log":
                name = f.name
            else:
                continue
            files.setdefault(name, f.read_bytes())
    if archive_as is not None and len(set(archived_from)) > 1:
        raise ValueError(f"archive label {archive_as!r} would name the histories of several directories: "
                         f"{', '.join(str(d) for d in dict.fromkeys(archived_from))}")
    if archive_as is not None and not archived_from:
        raise ValueError(f"archive label {archive_as!r} given, but no earlier log directory holds a training_history.json")
    return files, left_out


def replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Make `folder` hold exactly `files`: written into a sibling first, then swapped in, so a failure
    leaves the old folder as it was."""
    folder = Path(folder)
    staging, old = folder.with_name(folder.name + ".shipping"), folder.with_name(folder.name + ".replaced")
    if old.exists() and not folder.exists():  # an earlier swap stopped between its two renames: put the old folder back
        old.rename(folder)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old.exists():
        shutil.rmtree(old)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    if old.exists():
        shutil.rmtree(old)
