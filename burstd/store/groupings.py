"""A folder's last grouping (the `groupings` table), for the daemon's incremental regrouping.

Each folder maps to its bursts as lists of primary paths; bursts that nothing new can join are kept
as they were. A folder without a stored grouping is grouped afresh.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from burstd.store.database import Database, path_key


class Groupings:
    """Get and save a folder's grouping; reached as `Store.groupings`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, folder: Path) -> list[list[str]]:
        row = self.db.execute("SELECT bursts FROM groupings WHERE folder = ?", [path_key(folder)]).fetchone()
        return [] if row is None else json.loads(row[0])

    def save(self, folder: Path, bursts: list[list[str]]) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO groupings (folder, bursts, updated) VALUES (?, ?, ?)",
                [path_key(folder), json.dumps(bursts), time.time()],
            )
