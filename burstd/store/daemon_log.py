"""What the daemon does and did, for `burstd status` (the `daemon` and `errors` tables).

The daemon's one row (pid, start, heartbeat, a small JSON state) tells `status` whether it runs and
what it is busy with; the errors table keeps the last `ERRORS_KEPT` file problems, of which those
about a file analysed fine since are no longer shown (`failures.FIXED`). Both are read without ever
blocking the daemon (`Store.open_readonly`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from burstd.store.database import Database, path_key
from burstd.store.failures import FIXED

# How many errors the database remembers for `burstd status`.
ERRORS_KEPT = 200


class DaemonLog:
    """The daemon's heartbeat row and recent errors; reached as `Store.log`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_errors(self, errors: Iterable[tuple[float, Path, str]]) -> None:
        """(time, path, reason) of each problem; only the last `ERRORS_KEPT` are kept."""
        rows = [{"at": at, "path": path_key(path), "reason": reason} for at, path, reason in errors]
        if rows:
            with self.db.transaction() as tx:
                tx["errors"].insert_all(rows)
                tx.execute("DELETE FROM errors WHERE id <= (SELECT max(id) FROM errors) - ?", [ERRORS_KEPT])

    def recent_errors(self, limit: int = 20, since: float = 0.0) -> list[dict]:
        """The newest errors, but for those of files since fixed (a stalled copy that completed)."""
        rows = self.db.execute(
            f"SELECT at, path, reason FROM errors WHERE at >= ? AND NOT {FIXED.format(table='errors')}"
            " ORDER BY id DESC LIMIT ?",
            [since, limit],
        ).fetchall()
        return [{"at": at, "path": path, "reason": reason} for at, path, reason in rows]

    def started(self, pid: int, state: dict) -> None:
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO daemon (id, pid, started, heartbeat, state) VALUES (1, ?, ?, ?, ?)",
                [pid, now, now, json.dumps(state)],
            )

    def heartbeat(self, pid: int, state: dict) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE daemon SET heartbeat = ?, state = ? WHERE id = 1 AND pid = ?",
                [time.time(), json.dumps(state), pid],
            )

    def stopped(self, pid: int) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM daemon WHERE id = 1 AND pid = ?", [pid])

    def daemon(self) -> dict | None:
        """The daemon's row: it may be a dead daemon's (see `status.gather`)."""
        row = self.db.execute("SELECT pid, started, heartbeat, state FROM daemon WHERE id = 1").fetchone()
        if row is None:
            return None
        pid, started, heartbeat, state = row
        return {"pid": pid, "started": started, "heartbeat": heartbeat, "state": json.loads(state)}
