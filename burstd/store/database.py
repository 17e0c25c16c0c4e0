"""The database engine: opening burstd's one SQLite file, its migrations, and the one way to write it.

It owns the file (created private: it names every photo on the disk; WAL mode), what happens when
opening fails (a damaged database of burstd's own is set aside as `.damaged` and a new one started;
another program's file is never touched), the schema version (`migrations.py` holds the steps), the
read-only opening `burstd status` uses, and `transaction`, through which every write goes. It knows
no table but the schema's version: each concern's SQL lives in its own module beside this one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from burstd.errors import CacheError
from burstd.store.migrations import MIGRATIONS, SCHEMA_VERSION

# How long a write waits for another program's lock on the database before giving up with a message.
BUSY_SECONDS = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"
# SQLite caps the parameters of one statement: `IN (...)` lists are sent in chunks of this many.
CHUNK = 500

log = logging.getLogger("burstd")


def default_cache_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "burstd" / "cache.sqlite3"


def path_key(path: Path) -> str:
    """A text key for any path, also one whose name is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def in_chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    keys = list(keys)
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]


def placeholders(chunk: Sequence[object]) -> str:
    return ",".join("?" * len(chunk))


class Database:
    """One open connection to burstd's database; `open` it, use it as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.tables = sqlite_utils.Database(conn)  # for upserts and inserts of whole rows

    @classmethod
    def open(cls, path: Path | None = None) -> Database:
        """Open (or create) the database; a damaged one of burstd's own is set aside and started afresh."""
        path = path or default_cache_path()
        try:
            try:
                return cls._connect(path)
            except sqlite3.DatabaseError as exc:
                if not (_damaged(exc) and _ours(path)):
                    raise
                log.warning("the database %s is damaged (%s): moved to %s and a new one started; photos are "
                            "analysed again, and writes journaled in the old one cannot be undone from the new one",
                            path, exc, _set_aside(path))
            return cls._connect(path)
        except sqlite3.DatabaseError as exc:
            raise CacheError(_problem(path, exc)) from exc
        except OSError as exc:
            raise CacheError(f"cannot open the cache {path}: {exc.strerror or exc}") from exc

    @classmethod
    def _connect(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.parent == default_cache_path().parent:
            _make_private(path.parent)  # burstd's own folder, even when made wider by hand
        if not path.exists():
            # Created private: the cache names every photo on the disk.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=BUSY_SECONDS, check_same_thread=False)
        try:
            if not conn.execute("PRAGMA user_version").fetchone()[0] and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                # Refused before WAL mode is switched on, which would already change the file.
                raise CacheError(f"cannot use the cache {path}: it is another program's database (burstd starts its own empty)")
            database = cls(conn, path)
            database.tables.enable_wal()
            # In WAL mode NORMAL is crash-safe for the database; only a power cut may lose the last
            # commits, which a cache can afford. It spares an fsync per commit (heartbeats, memos).
            conn.execute("PRAGMA synchronous = NORMAL")
            database._migrate()
        except BaseException:
            conn.close()
            raise
        for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            _make_private(part)  # only now: until it opened, it might not have been burstd's file
        return database

    @classmethod
    def open_readonly(cls, path: Path) -> Database:
        """For readers such as `burstd status`: no migration, no write, a short wait at most."""
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"cannot read the database {path}: {exc}") from exc
        database = cls(conn, path)
        try:
            if database.schema_version < SCHEMA_VERSION:
                raise CacheError(f"the database {path} has an older schema: run burstd once to upgrade it")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CacheError(f"cannot read the database {path}: {exc}") from exc
        except CacheError:
            conn.close()
            raise
        return database

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        self.close()
        if isinstance(exc, sqlite3.Error):
            # SQLite failing while in use (locked too long, a full disk, damage) surfaces once, at the
            # top, as one clear message; a damaged database of burstd's own is set aside for next time.
            message = _problem(self.path, exc)
            if _damaged(exc) and _ours(self.path):
                try:
                    message += f"; set aside as {_set_aside(self.path)}, the next run starts a new one"
                except OSError:
                    pass
            raise CacheError(message) from exc

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise CacheError(f"the cache {self.path} was written by a newer burstd (schema {version})")
        for step in range(version, SCHEMA_VERSION):
            with self.transaction() as tx:
                MIGRATIONS[step](tx)
                tx.execute(f"PRAGMA user_version = {step + 1}")

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """Run a query that only reads; writes go through `transaction`."""
        return self.conn.execute(sql, params)

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite_utils.Database]:
        """All of the block's writes, or none of them.

        `BEGIN IMMEDIATE` takes the write lock up front, so waiting for another writer is the busy
        timeout's business; a deferred transaction that read first could fail at once instead. A
        transaction opened inside another is part of it (the outer one commits). `durable`: synced
        to disk at commit even on a power cut (the rest may lose its last commits, see `_connect`).
        """
        if self.conn.in_transaction:
            assert not durable, "durability is the outermost transaction's to choose"
            yield self.tables
            return
        if durable:
            self.conn.execute("PRAGMA synchronous = FULL")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.tables
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()
        finally:
            if durable:
                self.conn.execute("PRAGMA synchronous = NORMAL")

    def rows_by_path(self, table: str, columns: str, keys: Iterable[str]) -> Iterator[tuple]:
        """Rows of `table` whose path is one of `keys`."""
        for chunk in in_chunks(keys):
            yield from self.conn.execute(
                f"SELECT {columns} FROM {table} WHERE path IN ({placeholders(chunk)})", chunk
            ).fetchall()


def _problem(path: Path, exc: sqlite3.Error) -> str:
    """What went wrong with the database, in words for the user."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"the database {path} is locked by another program (burstd waited {BUSY_SECONDS:g} s); try again once it is done"
    if code == sqlite3.SQLITE_FULL:
        return f"the database {path} cannot be written: the disk is full"
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return f"cannot use the cache {path}: {exc} (delete it to start afresh)"
    return f"the database {path} cannot be used: {exc}"


def _damaged(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _ours(path: Path) -> bool:
    """Whether a damaged file is burstd's own database, which may be set aside: one at the default
    place, or one whose header says burstd's migrations ran on it. Never another program's file."""
    if path == default_cache_path():
        return True
    try:
        with path.open("rb") as f:
            header = f.read(64)
    except OSError:
        return False
    return header.startswith(SQLITE_HEADER) and 0 < int.from_bytes(header[60:64], "big") <= SCHEMA_VERSION


def _set_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL, which a new database must not replay) out of the way."""
    aside = path.with_name(path.name + ".damaged")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            os.replace(part, aside.with_name(aside.name + suffix))
    return aside


def _make_private(path: Path) -> None:
    """Take group and other permissions away (the database names every photo on the disk)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
