"""Sessions and the undo journal (the `sessions` and `journal` tables).

A session is one scan, or one folder the daemon settled; `burstd status` lists the finished ones.
Every sidecar write of a session is journaled before it happens (the bytes it replaced, the digest
of what was written), so `burstd undo` can put sidecars back: the one part of the database that is
more than a cache. Journal entries that were undone stay, marked, as a record.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from burstd.errors import CacheError
from burstd.store.database import Database, in_chunks, path_key, placeholders
from burstd.undo.plan import EntryOutcome, JournalEntry, sha256


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One finished session, as `burstd status` lists it."""

    folder: Path
    started: float  # wall-clock seconds
    ended: float
    files: int
    bursts: int  # groups of two or more shots
    written: int  # sidecars created or updated
    kept_manual: int
    errors: int
    seconds: float  # processing time (for the daemon: once the folder went quiet)
    single_shots: int = 0  # shots in no burst
    brackets: int = 0  # sets (exposure brackets, focus stacks, panoramas): not counted in `bursts`
    focus_stacks: int = 0
    panoramas: int = 0


class Sessions:
    """Begin, finish and list sessions, and journal their sidecar writes; reached as `Store.sessions`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- sessions --------------------------------------------------------------------------------

    def begin(self, folder: Path, kind: str, started: float) -> int:
        """A session whose sidecar writes are about to be journaled; `finish` fills it in."""
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO sessions (folder, started, ended, files, bursts, single_shots, written, kept_manual, errors,"
                " seconds, kind, open) VALUES (?, ?, ?, 0, 0, 0, 0, 0, 0, 0, ?, 1)",
                [path_key(folder.resolve()), started, started, kind],
            )
        return int(cursor.lastrowid)

    def finish(self, session_id: int, record: SessionRecord) -> None:
        values = dataclasses.asdict(record)
        del values["folder"]  # begin's absolute one stays
        with self.db.transaction() as tx:
            tx.execute(
                f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in values)}, open = 0 WHERE id = ?",
                [*values.values(), session_id],
            )

    def record(self, record: SessionRecord, kind: str = "daemon") -> None:
        """A finished session in one go (one that journaled nothing)."""
        with self.db.transaction() as tx:
            tx["sessions"].insert(dataclasses.asdict(record) | {"folder": path_key(record.folder), "kind": kind})

    def recent(self, limit: int = 10) -> list[dict]:
        rows = self.db.execute("SELECT * FROM sessions WHERE NOT open ORDER BY id DESC LIMIT ?", [limit])
        return [dict(zip([c[0] for c in rows.description], row)) for row in rows.fetchall()]

    def exists(self, session_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone() is not None

    # --- the journal of sidecar writes, for `burstd undo` ----------------------------------------

    def journal_write(self, session: int, path: Path, previous: bytes | None, written_sha256: str) -> None:
        """Journal a sidecar write about to happen: committed, and synced to disk, before it does.

        Called before the sidecar is replaced, so no crash can lose the bytes it replaces; a write
        that then fails leaves an entry that `undo.plan` recognises as never applied.
        """
        path = _absolute(path)
        row = [session, path_key(path), os.fsencode(path), time.time(), previous, sha256(previous), written_sha256]
        try:
            # The rest of the database may lose its last commits on a power cut (synchronous =
            # NORMAL); this must not, since the sidecar's rename is durable right after.
            with self.db.transaction(durable=True) as tx:
                tx.execute(
                    "INSERT INTO journal (session, path, fspath, at, previous, previous_sha256, written_sha256)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
        except sqlite3.Error as exc:
            raise CacheError(f"cannot journal the change of {path} in {self.db.path}: {exc}") from exc

    def journal_pending(self, folder: Path | None = None, session: int | None = None) -> list[JournalEntry]:
        """Entries not yet undone, of sidecars under `folder` (at any depth) and/or of one session."""
        where, params = ["undone IS NULL"], []
        if folder is not None:
            prefix = _folder_prefix(folder)
            where.append("substr(fspath, 1, ?) = ?")
            params += [len(prefix), prefix]
        if session is not None:
            where.append("session = ?")
            params.append(session)
        return self._journal_entries(" AND ".join(where), params)

    def journal_pending_of(self, paths: Iterable[Path]) -> list[JournalEntry]:
        """Every entry not yet undone of these sidecars, whichever session made it."""
        found = []
        for chunk in in_chunks(sorted({path_key(p) for p in paths})):
            found += self._journal_entries(f"undone IS NULL AND path IN ({placeholders(chunk)})", chunk)
        return found

    def _journal_entries(self, where: str, params: list) -> list[JournalEntry]:
        rows = self.db.execute(
            f"SELECT id, session, fspath, previous_sha256, written_sha256 FROM journal WHERE {where} ORDER BY id", params
        ).fetchall()
        return [JournalEntry(i, session, Path(os.fsdecode(fspath)), prev, written) for i, session, fspath, prev, written in rows]

    def journal_previous(self, entry_id: int) -> bytes | None:
        """The bytes a journaled write replaced (None: it created the sidecar)."""
        row = self.db.execute("SELECT previous FROM journal WHERE id = ?", [entry_id]).fetchone()
        return None if row is None else row[0]

    def settle_journal(self, outcomes: Iterable[tuple[int, EntryOutcome]]) -> None:
        """Mark entries as dealt with by an undo (they stay, as a record)."""
        now = time.time()
        with self.db.transaction() as tx:
            tx.conn.executemany(
                "UPDATE journal SET undone = ?, outcome = ? WHERE id = ?",
                [(now, outcome.value, entry_id) for entry_id, outcome in outcomes],
            )

    def journaled(self, folder: Path | None = None) -> list[dict]:
        """Sessions that wrote sidecars (under `folder`), newest first, with how many writes are undoable."""
        where, params = "", []
        if folder is not None:
            prefix = _folder_prefix(folder)
            where, params = "WHERE substr(j.fspath, 1, ?) = ?", [len(prefix), prefix]
        rows = self.db.execute(
            f"""SELECT s.id, s.kind, s.folder, s.started, s.ended, s.open, count(j.id), sum(j.undone IS NULL)
                FROM journal j JOIN sessions s ON s.id = j.session {where}
                GROUP BY s.id ORDER BY s.id DESC""",
            params,
        ).fetchall()
        names = ("id", "kind", "folder", "started", "ended", "open", "writes", "undoable")
        return [dict(zip(names, row)) for row in rows]


def _absolute(path: Path) -> Path:
    """The journal's name for a sidecar: absolute, its folder's symlinks resolved (never the file's own)."""
    return path.parent.resolve() / path.name


def _folder_prefix(folder: Path) -> bytes:
    """What the `fspath` of every sidecar at any depth under `folder` starts with."""
    return os.fsencode(os.path.join(str(folder.resolve()), ""))
