"""Durable local files: the state directory, atomic writes and an inter-process lock.

The control system's own records (the run number counter, runtime values, the list of
repositories) must survive a crash at any instant and must not be corrupted when two
processes (two CLI calls, a CLI call and the control plane) write at once. Both needs are
met the boring way: every write goes to a temporary file in the same directory, is
fsync'd, then renamed over the target (and the directory fsync'd); read-modify-write
sequences run under an exclusive ``fcntl.flock`` on a lock file beside the data.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

STATE_DIR_ENV = "O2CTL_STATE_DIR"


STATE_DIR_NAME = "o2ctl-state"
"""Not an import name: a directory of that name in some process's working directory (or a
worker's import path) can never shadow a package."""
OLD_STATE_DIR_NAME = "o2ctl"


def state_dir() -> Path:
    """Where o2ctl keeps its local state (records, run numbers, logs): ``$O2CTL_STATE_DIR``,
    else ``~/.local/state/o2ctl-state`` (``$XDG_STATE_HOME`` honoured). A state directory
    of an earlier version (``…/o2ctl``) is moved there once, so run numbers carry on."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    new, old = base / STATE_DIR_NAME, base / OLD_STATE_DIR_NAME
    if not new.exists() and (old / "run_number").exists():
        with contextlib.suppress(OSError):
            os.rename(old, new)
    return new


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` so that a reader sees either the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the ``with`` body."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
