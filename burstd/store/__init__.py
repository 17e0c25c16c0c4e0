"""burstd's SQLite database: the only package that speaks SQL (darktable's library aside).

One file (WAL mode), split by concern as beets splits its storage:

- `database.py`: the engine: opening, damage handling, privacy, `transaction`, read-only opening;
- `migrations.py`: the schema, as the steps that build it;
- `analyses.py`: a file's path, size and mtime to its `Analysis` (the cache proper);
- `failures.py`: files that could not be analysed, left alone by the daemon until they change;
- `memos.py`: what burstd last knew of each sidecar;
- `groupings.py`: each folder's last grouping, for the daemon's incremental regrouping;
- `sessions.py`: scan and daemon sessions, and the journal of sidecar writes `burstd undo` reads;
- `daemon_log.py`: the daemon's heartbeat row and recent errors, for `burstd status`.

`Store` opens the file once and hands out one object per concern; it holds no SQL itself. Deleting
the database loses nothing but time, and the means to undo what burstd wrote so far.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from burstd.store.analyses import Analyses
from burstd.store.daemon_log import DaemonLog
from burstd.store.database import Database
from burstd.store.failures import Failures
from burstd.store.groupings import Groupings
from burstd.store.memos import SidecarMemos
from burstd.store.sessions import Sessions


class Store:
    """Open with `Store.open(path)` (or `open_readonly`); use as a context manager or call `close()`.

    Used as a context manager, SQLite failing while in use surfaces once as a `CacheError`.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.analyses = Analyses(db)
        self.failures = Failures(db)
        self.memos = SidecarMemos(db)
        self.groupings = Groupings(db)
        self.sessions = Sessions(db)
        self.log = DaemonLog(db)

    @classmethod
    def open(cls, path: Path | None = None) -> Store:
        """Open (or create, or migrate) the database at `path`, else at `default_cache_path()`."""
        return cls(Database.open(path))

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """For readers such as `burstd status`: no migration, no write, a short wait at most."""
        return cls(Database.open_readonly(path))

    @property
    def path(self) -> Path:
        return self.db.path

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One commit for writes of several concerns (each one's own writes join it)."""
        with self.db.transaction() as tx:
            yield tx

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        self.db.__exit__(kind, exc, traceback)
