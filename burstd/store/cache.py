"""burstd's SQLite database: the only module that speaks SQL.

One SQLite file (WAL mode) maps a file's path, size and mtime_ns to its `Analysis`, and a sidecar's
fingerprint to what burstd last knew of it (so a warm rescan need not read unchanged sidecars). For
the daemon it also keeps each folder's last grouping (for incremental regrouping), the sessions it
processed, recent errors and its own heartbeat, which `burstd status` reads without ever blocking. Every
sidecar write of a scan or daemon session is journaled (the bytes it replaced, the digest of what was
written) before it happens, so `burstd undo` can put sidecars back; that journal is the one part of the
database that is more than a cache. A hit costs no
decode; a changed size or mtime is a miss. Files that turned out not to be images are remembered too,
so a rescan does not sniff them again; files that failed to decode are never stored, so they are
retried. The schema carries a version and migrates forward step by step. Deleting the database loses
nothing but time, and the means to undo what burstd wrote so far.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from burstd.errors import CacheError
from burstd.models import Analysis, TimeSource
from burstd.undo.plan import EntryOutcome, JournalEntry, sha256
from burstd.sidecar.xmp import SidecarMemo, SidecarState

# Bump when the analysis itself changes (decode scale, focus measure, hashes): old rows become misses.
ANALYSIS_VERSION = 2
NOT_AN_IMAGE = "none"
# How long a write waits for another program's lock on the database before giving up with a message.
BUSY_SECONDS = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"

log = logging.getLogger("burstd")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One finished daemon session, as `burstd status` lists it."""

    folder: Path
    started: float  # wall-clock seconds
    ended: float
    files: int
    bursts: int
    written: int  # sidecars created or updated
    kept_manual: int
    errors: int
    seconds: float  # processing time once the folder went quiet


@dataclass(frozen=True, slots=True)
class CacheEntry:
    kind: str  # "jpeg", "raw", ... or NOT_AN_IMAGE
    analysis: Analysis | None
    orb: bytes | None = None


def default_cache_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "burstd" / "cache.sqlite3"


def path_key(path: Path) -> str:
    """A text key for any path, also one whose name is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


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


# Each migration takes the schema from version i to i + 1.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_files, _create_sidecars, _create_daemon_tables, _create_journal,
]
# How many errors the database remembers for `burstd status`.
ERRORS_KEPT = 200


class Cache:
    """Open with `Cache.open(path)`; use as a context manager or call `close()`."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> Cache:
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
    def _connect(cls, path: Path) -> Cache:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.parent == default_cache_path().parent:
            _make_private(path.parent)  # burstd's own folder, even when made wider by hand
        if not path.exists():
            # Created private: the cache names every photo on the disk.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=BUSY_SECONDS, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        if not conn.execute("PRAGMA user_version").fetchone()[0] and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            conn.close()  # before WAL mode is switched on, which would already change the file
            raise CacheError(f"cannot use the cache {path}: it is another program's database (burstd starts its own empty)")
        db.enable_wal()
        # In WAL mode NORMAL is crash-safe for the database; only a power cut may lose the last
        # commits, which a cache can afford. It spares an fsync per commit (heartbeats, memos).
        db.execute("PRAGMA synchronous = NORMAL")
        cache = cls(db, path)
        cache._migrate()
        for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            _make_private(part)  # only now: until it opened, it might not have been burstd's file
        return cache

    @classmethod
    def open_readonly(cls, path: Path) -> Cache:
        """For readers such as `burstd status`: no migration, no write, a short wait at most."""
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
            cache = cls(sqlite_utils.Database(conn), path)
            if cache.schema_version < len(MIGRATIONS):
                raise CacheError(f"the database {path} has an older schema: run burstd once to upgrade it")
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"cannot read the database {path}: {exc}") from exc
        return cache

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Cache:
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
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise CacheError(f"the cache {self.path} was written by a newer burstd (schema {version})")
        for step in range(version, len(MIGRATIONS)):
            with self.db.conn:
                MIGRATIONS[step](self.db)
                self.db.execute(f"PRAGMA user_version = {step + 1}")

    def lookup(self, paths: Iterable[tuple[Path, int, int]]) -> dict[Path, CacheEntry]:
        """Entries still valid for these (path, size, mtime_ns) triples."""
        wanted = {path_key(p): (p, size, mtime) for p, size, mtime in paths}
        found: dict[Path, CacheEntry] = {}
        columns = "path, size, mtime_ns, kind, version, analysis, tiles, orb"
        for key, size, mtime, kind, version, analysis, tiles, orb in self._rows_by_path("files", columns, wanted):
            path, want_size, want_mtime = wanted[key]
            if size != want_size or mtime != want_mtime:
                continue
            if kind == NOT_AN_IMAGE:
                found[path] = CacheEntry(kind, None)
            elif version == ANALYSIS_VERSION:
                found[path] = CacheEntry(kind, _load_analysis(analysis, tiles), orb)
        return found

    def _rows_by_path(self, table: str, columns: str, keys: Iterable[str]) -> Iterator[tuple]:
        """Rows of `table` whose path is one of `keys` (queried in chunks: SQLite caps parameters)."""
        keys = list(keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            yield from self.db.execute(
                f"SELECT {columns} FROM {table} WHERE path IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()

    def store(self, entries: Iterable[tuple[Path, int, int, CacheEntry]]) -> None:
        rows = []
        now = time.time()
        for path, size, mtime, entry in entries:
            analysis = entry.analysis
            rows.append(
                {
                    "path": path_key(path), "size": size, "mtime_ns": mtime, "kind": entry.kind,
                    "version": ANALYSIS_VERSION,
                    "analysis": None if analysis is None else _dump_analysis(analysis),
                    "tiles": None if analysis is None else np.asarray(analysis.tiles, dtype=np.float32).tobytes(),
                    "orb": entry.orb, "analysed_at": now,
                }
            )
        if rows:
            with self.db.conn:
                self.db["files"].upsert_all(rows, pk="path")

    def sidecar_memos(self, paths: Iterable[Path]) -> dict[Path, SidecarMemo]:
        """What burstd last knew of these sidecars (see `xmp.SidecarMemo`)."""
        wanted = {path_key(p): p for p in paths}
        memos: dict[Path, SidecarMemo] = {}
        for key, size, mtime, ino, state in self._rows_by_path("sidecars", "path, size, mtime_ns, ino, state", wanted):
            data = json.loads(state)
            memos[wanted[key]] = SidecarMemo(
                (size, mtime, ino),
                SidecarState(
                    data["rating"], data["burstd_rating"], data["values"],
                    {key: tuple(items) for key, items in data.get("arrays", {}).items()},  # absent before v0.2
                ),
            )
        return memos

    def store_sidecar_memos(self, memos: Iterable[tuple[Path, SidecarMemo]]) -> None:
        rows = [
            {
                "path": path_key(path), "size": memo.fingerprint[0], "mtime_ns": memo.fingerprint[1],
                "ino": memo.fingerprint[2],
                "state": json.dumps({"rating": memo.state.rating, "burstd_rating": memo.state.burstd_rating,
                                     "values": dict(memo.state.values),
                                     "arrays": {k: list(v) for k, v in memo.state.arrays.items()}}),
            }
            for path, memo in memos
        ]
        if rows:
            with self.db.conn:
                self.db["sidecars"].upsert_all(rows, pk="path")

    # --- a folder's last grouping, for incremental regrouping -------------------------------------

    def grouping(self, folder: Path) -> list[list[str]]:
        row = self.db.execute("SELECT bursts FROM groupings WHERE folder = ?", [path_key(folder)]).fetchone()
        return [] if row is None else json.loads(row[0])

    def store_grouping(self, folder: Path, bursts: list[list[str]]) -> None:
        with self.db.conn:
            self.db.execute(
                "INSERT OR REPLACE INTO groupings (folder, bursts, updated) VALUES (?, ?, ?)",
                [path_key(folder), json.dumps(bursts), time.time()],
            )

    # --- what the daemon did and does, for `burstd status` ----------------------------------------

    def record_session(self, session: SessionRecord, kind: str = "daemon") -> None:
        with self.db.conn:
            self.db["sessions"].insert(dataclasses.asdict(session) | {"folder": path_key(session.folder), "kind": kind})

    def begin_session(self, folder: Path, kind: str, started: float) -> int:
        """A session whose sidecar writes are about to be journaled; `finish_session` fills it in."""
        with self.db.conn:
            cursor = self.db.execute(
                "INSERT INTO sessions (folder, started, ended, files, bursts, written, kept_manual, errors, seconds,"
                " kind, open) VALUES (?, ?, ?, 0, 0, 0, 0, 0, 0, ?, 1)",
                [path_key(folder.resolve()), started, started, kind],
            )
        return int(cursor.lastrowid)

    def finish_session(self, session_id: int, session: SessionRecord) -> None:
        values = dataclasses.asdict(session)
        del values["folder"]  # begin_session's absolute one stays
        with self.db.conn:
            self.db.execute(
                f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in values)}, open = 0 WHERE id = ?",
                [*values.values(), session_id],
            )

    def recent_sessions(self, limit: int = 10) -> list[dict]:
        rows = self.db.execute("SELECT * FROM sessions WHERE NOT open ORDER BY id DESC LIMIT ?", [limit])
        return [dict(zip([c[0] for c in rows.description], row)) for row in rows.fetchall()]

    # --- the journal of sidecar writes, for `burstd undo` ----------------------------------------

    def journal_write(self, session: int, path: Path, previous: bytes | None, written_sha256: str) -> None:
        """Journal a sidecar write about to happen: committed, and synced to disk, before it does.

        Called before the sidecar is replaced, so no crash can lose the bytes it replaces; a write
        that then fails leaves an entry that `undo_plan` recognises as never applied.
        """
        path = _absolute(path)
        row = [session, path_key(path), os.fsencode(path), time.time(), previous, sha256(previous), written_sha256]
        try:
            # The rest of the database may lose its last commits on a power cut (synchronous =
            # NORMAL); this must not, since the sidecar's rename is durable right after.
            self.db.execute("PRAGMA synchronous = FULL")
            with self.db.conn:
                self.db.execute(
                    "INSERT INTO journal (session, path, fspath, at, previous, previous_sha256, written_sha256)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
        except sqlite3.Error as exc:
            raise CacheError(f"cannot journal the change of {path} in {self.path}: {exc}") from exc
        finally:
            self.db.execute("PRAGMA synchronous = NORMAL")

    def journal_pending(self, folder: Path | None = None, session: int | None = None) -> list[JournalEntry]:
        """Entries not yet undone, of sidecars under `folder` (at any depth) and/or of one session."""
        where, params = ["undone IS NULL"], []
        if folder is not None:
            prefix = os.fsencode(os.path.join(_absolute_folder(folder), ""))
            where.append("substr(fspath, 1, ?) = ?")
            params += [len(prefix), prefix]
        if session is not None:
            where.append("session = ?")
            params.append(session)
        return self._journal_entries(" AND ".join(where), params)

    def journal_pending_of(self, paths: Iterable[Path]) -> list[JournalEntry]:
        """Every entry not yet undone of these sidecars, whichever session made it."""
        found = []
        keys = sorted({path_key(p) for p in paths})
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found += self._journal_entries(f"undone IS NULL AND path IN ({','.join('?' * len(chunk))})", chunk)
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

    def settle_journal(self, outcomes: Iterable[tuple[int, EntryOutcome]], paths: Iterable[Path] = ()) -> None:
        """Mark entries as dealt with by an undo (they stay, as a record), and forget what burstd knew
        of those sidecars, so the next scan reads them afresh."""
        now = time.time()
        with self.db.conn:
            self.db.conn.executemany(
                "UPDATE journal SET undone = ?, outcome = ? WHERE id = ?",
                [(now, outcome.value, entry_id) for entry_id, outcome in outcomes],
            )
            self.db.conn.executemany("DELETE FROM sidecars WHERE path = ?", [(path_key(p),) for p in paths])

    def journal_sessions(self, folder: Path | None = None) -> list[dict]:
        """Sessions that wrote sidecars (under `folder`), newest first, with how many writes are undoable."""
        where, params = "", []
        if folder is not None:
            prefix = os.fsencode(os.path.join(_absolute_folder(folder), ""))
            where, params = "WHERE substr(j.fspath, 1, ?) = ?", [len(prefix), prefix]
        rows = self.db.execute(
            f"""SELECT s.id, s.kind, s.folder, s.started, s.ended, s.open, count(j.id), sum(j.undone IS NULL)
                FROM journal j JOIN sessions s ON s.id = j.session {where}
                GROUP BY s.id ORDER BY s.id DESC""",
            params,
        ).fetchall()
        names = ("id", "kind", "folder", "started", "ended", "open", "writes", "undoable")
        return [dict(zip(names, row)) for row in rows]

    def session_exists(self, session_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone() is not None

    def record_errors(self, errors: Iterable[tuple[float, Path, str]]) -> None:
        rows = [{"at": at, "path": path_key(path), "reason": reason} for at, path, reason in errors]
        if rows:
            with self.db.conn:
                self.db["errors"].insert_all(rows)
                self.db.execute(
                    "DELETE FROM errors WHERE id <= (SELECT max(id) FROM errors) - ?", [ERRORS_KEPT]
                )

    def recent_errors(self, limit: int = 20, since: float = 0.0) -> list[dict]:
        rows = self.db.execute(
            "SELECT at, path, reason FROM errors WHERE at >= ? ORDER BY id DESC LIMIT ?", [since, limit]
        ).fetchall()
        return [{"at": at, "path": path, "reason": reason} for at, path, reason in rows]

    def daemon_started(self, pid: int, state: dict) -> None:
        now = time.time()
        with self.db.conn:
            self.db.execute(
                "INSERT OR REPLACE INTO daemon (id, pid, started, heartbeat, state) VALUES (1, ?, ?, ?, ?)",
                [pid, now, now, json.dumps(state)],
            )

    def daemon_heartbeat(self, pid: int, state: dict) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE daemon SET heartbeat = ?, state = ? WHERE id = 1 AND pid = ?",
                [time.time(), json.dumps(state), pid],
            )

    def daemon_stopped(self, pid: int) -> None:
        with self.db.conn:
            self.db.execute("DELETE FROM daemon WHERE id = 1 AND pid = ?", [pid])

    def daemon(self) -> dict | None:
        row = self.db.execute("SELECT pid, started, heartbeat, state FROM daemon WHERE id = 1").fetchone()
        if row is None:
            return None
        pid, started, heartbeat, state = row
        return {"pid": pid, "started": started, "heartbeat": heartbeat, "state": json.loads(state)}

    def store_orb(self, path: Path, orb: bytes) -> None:
        with self.db.conn:
            self.db.execute("UPDATE files SET orb = ? WHERE path = ?", [orb, path_key(path)])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM files").fetchone()[0])


def darktable_film_rolls(library: Path) -> list[str]:
    """The folders darktable's `library.db` has imported: the one query burstd makes of another
    program's database. Read-only and immutable, so darktable is never blocked; [] when unreadable."""
    try:
        db = sqlite3.connect(f"{library.resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=0.5)
    except (sqlite3.Error, OSError):
        return []
    try:
        return [row[0] for row in db.execute("SELECT folder FROM film_rolls") if isinstance(row[0], str)]
    except sqlite3.Error:
        return []
    finally:
        db.close()


def _absolute(path: Path) -> Path:
    """The journal's name for a sidecar: absolute, its folder's symlinks resolved (never the file's own)."""
    return path.parent.resolve() / path.name


def _absolute_folder(folder: Path) -> str:
    return str(folder.resolve())


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
    return header.startswith(SQLITE_HEADER) and 0 < int.from_bytes(header[60:64], "big") <= len(MIGRATIONS)


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


_SCALARS = (
    "width", "height", "capture_time", "make", "model", "serial", "lens", "exposure_time",
    "aperture", "iso", "exposure_bias", "orientation", "source",
)


def _dump_analysis(a: Analysis) -> str:
    data = {name: getattr(a, name) for name in _SCALARS}
    # JSON cannot hold 64-bit unsigned ints reliably everywhere: keep hashes as hex text.
    data.update(time_source=a.time_source.value, phash=f"{a.phash:016x}", dhash=f"{a.dhash:016x}", grid=list(a.grid))
    return json.dumps(data, separators=(",", ":"))


def _load_analysis(text: str, tiles: bytes | None) -> Analysis:
    data = json.loads(text)
    return Analysis(
        **{name: data[name] for name in _SCALARS},
        time_source=TimeSource(data["time_source"]),
        phash=int(data["phash"], 16),
        dhash=int(data["dhash"], 16),
        grid=tuple(data["grid"]),
        tiles=tuple(float(v) for v in np.frombuffer(tiles or b"", dtype=np.float32)),
    )
