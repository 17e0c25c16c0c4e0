"""The schema of burstd's database, as the steps that build it, oldest first.

Step i takes the schema from version i to i + 1 (SQLite's `user_version`); `Database` applies the
missing ones, each in one transaction. A step, once released, never changes: a new table or column
is a new step at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _create_files(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE files (
            path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
            kind TEXT NOT NULL, version INTEGER NOT NULL, analysis TEXT, tiles BLOB,
            orb BLOB, analysed_at REAL NOT NULL)"""
    )


def _create_sidecars(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE sidecars (
            path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
            ino INTEGER NOT NULL, state TEXT NOT NULL)"""
    )


def _create_daemon_tables(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE groupings (folder TEXT PRIMARY KEY, bursts TEXT NOT NULL, updated REAL NOT NULL)")
    db.execute(
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY, folder TEXT NOT NULL, started REAL NOT NULL, ended REAL NOT NULL,
            files INTEGER NOT NULL, bursts INTEGER NOT NULL, written INTEGER NOT NULL,
            kept_manual INTEGER NOT NULL, errors INTEGER NOT NULL, seconds REAL NOT NULL)"""
    )
    db.execute("CREATE TABLE errors (id INTEGER PRIMARY KEY, at REAL NOT NULL, path TEXT NOT NULL, reason TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE daemon (
            id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, started REAL NOT NULL,
            heartbeat REAL NOT NULL, state TEXT NOT NULL)"""
    )


def _create_journal(db: sqlite_utils.Database) -> None:
    # `open` sessions are still running (or were interrupted): their writes are journaled already.
    db.execute("ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'daemon'")
    db.execute("ALTER TABLE sessions ADD COLUMN open INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """CREATE TABLE journal (
            id INTEGER PRIMARY KEY, session INTEGER NOT NULL, path TEXT NOT NULL, fspath BLOB NOT NULL,
            at REAL NOT NULL, previous BLOB, previous_sha256 TEXT, written_sha256 TEXT NOT NULL,
            undone REAL, outcome TEXT)"""
    )
    db.execute("CREATE INDEX journal_path ON journal (path)")
    db.execute("CREATE INDEX journal_session ON journal (session)")


def _count_single_shots(db: sqlite_utils.Database) -> None:
    # From here on `bursts` counts groups of two or more shots and `single_shots` the others; in the
    # sessions recorded before (single_shots NULL), `bursts` counted both, and `burstd status` says so.
    db.execute("ALTER TABLE sessions ADD COLUMN single_shots INTEGER")


def _count_sets(db: sqlite_utils.Database) -> None:
    # From here on `bursts` counts bursts only, and the sets (brackets, focus stacks, panoramas) have
    # counts of their own; NULL in sessions recorded before, whose `bursts` held them too.
    for column in ("brackets", "focus_stacks", "panoramas"):
        db.execute(f"ALTER TABLE sessions ADD COLUMN {column} INTEGER")


def _create_failures(db: sqlite_utils.Database) -> None:
    # `folder` finds a folder's failures, to forget those of files deleted since.
    db.execute(
        """CREATE TABLE failures (
            path TEXT PRIMARY KEY, folder TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
            reason TEXT NOT NULL, at REAL NOT NULL, reported INTEGER NOT NULL DEFAULT 0)"""
    )
    db.execute("CREATE INDEX failures_folder ON failures (folder)")


def _add_thumbnails(db: sqlite_utils.Database) -> None:
    # A small grey copy of each analysed image (`Analysis.thumb`), for comparisons between frames.
    db.execute("ALTER TABLE files ADD COLUMN thumb BLOB")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _create_files, _create_sidecars, _create_daemon_tables, _create_journal, _count_single_shots,
    _create_failures, _add_thumbnails, _count_sets,
)
SCHEMA_VERSION = len(MIGRATIONS)
