"""Sidecar memos (the `sidecars` table): what burstd last knew of each sidecar, by its fingerprint.

A warm rescan compares a sidecar's (size, mtime_ns, inode) with its memo and need not read it when
nothing changed (see `xmp.SidecarMemo`). Losing a memo costs one read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from burstd.sidecar.xmp import SidecarMemo, SidecarState
from burstd.store.database import Database, path_key


class SidecarMemos:
    """Look up, save and forget memos; reached as `Store.memos`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lookup(self, paths: Iterable[Path]) -> dict[Path, SidecarMemo]:
        """What burstd last knew of these sidecars."""
        wanted = {path_key(p): p for p in paths}
        memos: dict[Path, SidecarMemo] = {}
        for key, size, mtime, ino, state in self.db.rows_by_path("sidecars", "path, size, mtime_ns, ino, state", wanted):
            data = json.loads(state)
            if "darktable_history" not in data:
                continue  # from a burstd that did not read what tells darktable's import default: read again
            memos[wanted[key]] = SidecarMemo(
                (size, mtime, ino),
                SidecarState(
                    data["rating"], data["burstd_rating"], data["values"],
                    {name: tuple(items) for name, items in data["arrays"].items()},
                    data["darktable_history"], written_ns=mtime,  # the memo holds while the mtime does
                ),
            )
        return memos

    def save(self, memos: Iterable[tuple[Path, SidecarMemo]]) -> None:
        rows = [
            {
                "path": path_key(path), "size": memo.fingerprint[0], "mtime_ns": memo.fingerprint[1],
                "ino": memo.fingerprint[2],
                "state": json.dumps({"rating": memo.state.rating, "burstd_rating": memo.state.burstd_rating,
                                     "values": dict(memo.state.values),
                                     "arrays": {k: list(v) for k, v in memo.state.arrays.items()},
                                     "darktable_history": memo.state.darktable_history}),
            }
            for path, memo in memos
        ]
        if rows:
            with self.db.transaction() as tx:
                tx["sidecars"].upsert_all(rows, pk="path")

    def forget(self, paths: Iterable[Path]) -> None:
        """Drop the memos of these sidecars, so that the next scan reads them afresh."""
        keys = [(path_key(p),) for p in paths]
        if keys:
            with self.db.transaction() as tx:
                tx.conn.executemany("DELETE FROM sidecars WHERE path = ?", keys)
