"""Files the daemon could not analyse (the `failures` table), so that it leaves them alone until they change.

A failure is kept by the file's path, size and mtime_ns, with its reason and whether the daemon has
reported it. While size and mtime stay as they were, the file is neither analysed nor reported
again (a truncated RAW would otherwise be decoded and reported at every start); any change makes it
a new file. A file analysed fine since its failure (the `files` table says when) is no longer one,
and neither is an error about it (`FIXED`): a copy that stalled and then completed leaves nothing
behind. `burstd scan` does not read this table: a one-shot command tries every file and says what
is wrong every time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from burstd.store.database import Database, in_chunks, path_key, placeholders

# SQL: the file a row of `{table}` (with `path` and `at`) is about has been analysed fine since.
FIXED = "EXISTS (SELECT 1 FROM files WHERE files.path = {table}.path AND files.analysed_at > {table}.at)"


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str
    reported: bool  # the daemon logged it and `burstd status` lists it among the errors


class Failures:
    """Remember, look up and list files that could not be analysed; reached as `Store.failures`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lookup(self, paths: Iterable[tuple[Path, int, int]]) -> dict[Path, Failure]:
        """The failures still true of these (path, size, mtime_ns) files: the file has not changed since."""
        wanted = {path_key(p): (p, size, mtime) for p, size, mtime in paths}
        found = {}
        for key, size, mtime, reason, reported in self.db.rows_by_path(
            "failures", "path, size, mtime_ns, reason, reported", wanted
        ):
            path, want_size, want_mtime = wanted[key]
            if (size, mtime) == (want_size, want_mtime):
                found[path] = Failure(reason, bool(reported))
        return found

    def record(self, failures: Iterable[tuple[Path, int, int, str, float]]) -> None:
        """(path, size, mtime_ns, reason, when) of files that could not be analysed, as they were then.

        The same failure met again keeps its `reported` mark; a file that changed is news again.
        """
        rows = [(path_key(p), path_key(p.parent), size, mtime, reason, at) for p, size, mtime, reason, at in failures]
        if not rows:
            return
        with self.db.transaction() as tx:
            tx.conn.executemany(
                """INSERT INTO failures (path, folder, size, mtime_ns, reason, at, reported) VALUES (?, ?, ?, ?, ?, ?, 0)
                   ON CONFLICT (path) DO UPDATE SET
                       reported = failures.reported AND failures.size = excluded.size
                                  AND failures.mtime_ns = excluded.mtime_ns,
                       size = excluded.size, mtime_ns = excluded.mtime_ns, reason = excluded.reason, at = excluded.at""",
                rows,
            )

    def mark_reported(self, paths: Iterable[Path]) -> None:
        keys = sorted({path_key(p) for p in paths})
        if not keys:
            return
        with self.db.transaction() as tx:
            for chunk in in_chunks(keys):
                tx.execute(f"UPDATE failures SET reported = 1 WHERE path IN ({placeholders(chunk)})", chunk)

    def forget_missing(self, folder: Path, present: Iterable[Path]) -> None:
        """Forget the failures of `folder`'s files that are no longer there (deleted, renamed)."""
        rows = self.db.execute("SELECT path FROM failures WHERE folder = ?", [path_key(folder)]).fetchall()
        gone = {key for (key,) in rows} - {path_key(p) for p in present}
        if not gone:
            return  # the usual case, and a read only: catch-up asks this of every folder
        with self.db.transaction() as tx:
            for chunk in in_chunks(sorted(gone)):
                tx.execute(f"DELETE FROM failures WHERE path IN ({placeholders(chunk)})", chunk)

    def listing(self, limit: int = 20) -> list[dict]:
        """The newest failures still standing, for `burstd status`: path, reason, and when."""
        rows = self.db.execute(
            f"SELECT path, reason, at FROM failures WHERE NOT {FIXED.format(table='failures')} ORDER BY at DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [{"path": path, "reason": reason, "at": at} for path, reason, at in rows]
