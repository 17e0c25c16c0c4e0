"""Catch-up: reconcile a root with the database, for what changed while burstd was not watching.

Run at start-up and when a root comes back (a card plugged in again). After a crash (`kill -9`, a power
cut) it removes the temp files of interrupted sidecar writes; new or changed files go through the usual
arrival rules; a folder whose files are all known but do not match its stored grouping (files deleted
meanwhile, a session cut short) gets a session of its own, so it is settled again. A file that failed
as it is now counts as known: it is neither analysed nor reported again at every start.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path, PurePath

from burstd.daemon.arrivals import Arrivals, Event
from burstd.discover import Candidate, discover
from burstd.pipeline import Progress, plan_pairs
from burstd.fsio import remove_stale_temps
from burstd.store import Store
from burstd.store.analyses import CacheEntry
from burstd.wording import counted

log = logging.getLogger("burstd")


def catch_up(root: Path, store: Store, arrivals: Arrivals, stable_seconds: float,
             progress: Progress | None = None) -> None:
    """Feed `arrivals` what changed under `root`; `progress("catch-up", folders done, 0)` per folder."""
    if not root.is_dir():
        return
    now = time.monotonic()
    recent = time.time() - stable_seconds
    for done, (dirpath, dirnames, _files) in enumerate(os.walk(root), start=1):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = Path(dirpath)
        if removed := remove_stale_temps(folder):
            log.warning("%s: removed %s of sidecar writes interrupted by a crash", folder, counted(removed, "temp file"))
        candidates, _ = discover(folder)
        keys = [(c.path, c.size, c.mtime_ns) for c in candidates]
        known, failed = store.analyses.lookup(keys), store.failures.lookup(keys)
        store.failures.forget_missing(folder, (c.path for c in candidates))
        readable = [c for c in candidates if c.path not in failed]  # as the session leaves the others out
        unknown = [c for c in readable if c.path not in known]
        for c in unknown:
            # Old enough files are complete as they are; a fresh one may still be copying.
            event = Event.MOVED_IN if c.mtime_ns / 1e9 < recent else Event.CREATED
            log.debug("%s: new or changed while burstd was not watching", c.path)
            arrivals.event(PurePath(c.path), event, now)
        if not unknown and not _matches_grouping(folder, readable, known, store):
            log.debug("%s: its files do not match its stored grouping: settled again", folder)
            arrivals.touch(PurePath(folder), now)
        if progress:
            progress("folders", done, 0)


def _matches_grouping(folder: Path, candidates: list[Candidate], known: dict[Path, CacheEntry], store: Store) -> bool:
    """Whether the folder's shots are exactly those its stored grouping was made from."""
    grouped = {p for burst in store.groupings.get(folder) for p in burst}
    to_analyse, _companions = plan_pairs(candidates)
    shots = {str(c.path) for c in to_analyse if known[c.path].analysis is not None}
    return grouped == shots
