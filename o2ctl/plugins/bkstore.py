"""The bookkeeping database: one SQLite file in the state directory.

Two tables. ``environments``: id, workflow, detectors, state (the last one recorded;
``DESTROYED`` once gone), created/updated times. ``runs``: run number, environment, run
type, detectors, start and stop (epoch seconds), duration, and state: ``STARTING`` when
the run is opened (before_START_ACTIVITY), ``RUNNING`` once started, then its final state:
``STOPPED`` (STOP_ACTIVITY), ``ERROR`` (GO_ERROR) or ``DESTROYED`` (the environment went
away with the run open). The bookkeeping plugin writes it (from the plugin runner's
threads: one connection per operation, WAL so that ``o2ctl runs`` reads while it writes).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from o2ctl.core.errors import ControlError

SCHEMA = """
CREATE TABLE IF NOT EXISTS environments (
    env_id TEXT PRIMARY KEY, workflow TEXT NOT NULL, detectors TEXT NOT NULL,
    state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_number INTEGER PRIMARY KEY, env_id TEXT NOT NULL, run_type TEXT NOT NULL,
    detectors TEXT NOT NULL, start REAL NOT NULL, stop REAL, duration_s REAL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_env ON runs (env_id);
"""
OPEN = ("STARTING", "RUNNING")


class BookkeepingStore:
    """Environments and runs in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
                db.row_factory = sqlite3.Row
                if write:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(SCHEMA)
                with db:  # one transaction
                    yield db
        except sqlite3.DatabaseError as exc:  # a garbage file, a disk error: name the file
            raise ControlError(f"bookkeeping database {self.path}: {exc}") from None

    # -- environments -----------------------------------------------------------------
    def record_env(
        self, env_id: str, workflow: str, detectors: Sequence[str], state: str, now: float
    ) -> None:
        """Create the environment's row, or update its state (and workflow, detectors)."""
        with self._db() as db:
            db.execute(
                "INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(env_id) DO "
                "UPDATE SET state=excluded.state, updated=excluded.updated, "
                "workflow=excluded.workflow, detectors=excluded.detectors",
                (env_id, workflow, json.dumps(list(detectors)), state, now, now),
            )

    # -- runs -------------------------------------------------------------------------
    def open_run(
        self,
        run_number: int,
        env_id: str,
        run_type: str,
        detectors: Sequence[str],
        start: float,
    ) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL, NULL, 'STARTING') "
                "ON CONFLICT(run_number) DO UPDATE SET start=excluded.start",
                (run_number, env_id, run_type, json.dumps(list(detectors)), start),
            )

    def run_started(self, run_number: int) -> int:
        with self._db() as db:
            cur = db.execute(
                "UPDATE runs SET state='RUNNING' WHERE run_number=? AND state='STARTING'",
                (run_number,),
            )
            return cur.rowcount

    def close_runs(self, env_id: str, run_number: int | None, stop: float, state: str) -> int:
        """End the environment's open runs (only ``run_number`` if given); returns how many."""
        query = "UPDATE runs SET stop=?, duration_s=MAX(0, ? - start), state=? WHERE env_id=? "
        query += "AND state IN (?, ?)"
        args: list[Any] = [stop, stop, state, env_id, *OPEN]
        if run_number is not None:
            query += " AND run_number=?"
            args.append(run_number)
        with self._db() as db:
            return db.execute(query, args).rowcount

    # -- reads ------------------------------------------------------------------------
    def runs(self, env_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Runs, newest first."""
        if not self.path.exists():
            return []
        query, args = "SELECT * FROM runs", list[Any]()
        if env_id:
            query, args = query + " WHERE env_id=?", [env_id]
        query += " ORDER BY run_number DESC"
        if limit:
            query, args = query + " LIMIT ?", [*args, int(limit)]
        with self._db(write=False) as db:
            return [_row(r) for r in db.execute(query, args)]

    def run(self, run_number: int) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        with self._db(write=False) as db:
            row = db.execute("SELECT * FROM runs WHERE run_number=?", (run_number,)).fetchone()
        return None if row is None else _row(row)

    def environment(self, env_id: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        with self._db(write=False) as db:
            row = db.execute("SELECT * FROM environments WHERE env_id=?", (env_id,)).fetchone()
        return None if row is None else _row(row)


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["detectors"] = json.loads(out["detectors"])
    return out
