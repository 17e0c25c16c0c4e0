"""Files that arrive: each analysed in a worker as soon as it is complete, the result kept in the cache.

Workers only analyse and put an `Analysed` message on the queue; the main loop stores it, so only the
main thread writes the database. A file the cache already knows (same size and mtime) is not
analysed again, nor is one that failed as it is now (`store.failures`: its session reports it, once);
a link out of the watched roots is never followed. Each decision is logged at DEBUG (`run -v`).
"""

from __future__ import annotations

import logging
import os
import queue
import time
from concurrent.futures import Future
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from burstd.analysis.analyse import analyse_file
from burstd.daemon.arrivals import Arrivals, Event
from burstd.daemon.messages import Analysed
from burstd.errors import ImageError
from burstd.naming import ignored_reason
from burstd.paths import within
from burstd.store.analyses import NOT_AN_IMAGE, CacheEntry

if TYPE_CHECKING:
    from burstd.daemon.lifecycle import Daemon

log = logging.getLogger("burstd")


def folder_appeared(arrivals: Arrivals, folder: Path) -> None:
    """A folder appeared with its contents (`cp -r`, `mv`): its files count as created now."""
    now = time.monotonic()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = PurePath(dirpath, name)
            if why := ignored_reason(name):
                log.debug("%s: ignored: %s", path, why)
                continue
            log.debug("%s: created (in a folder that appeared)", path)
            arrivals.event(path, Event.CREATED, now)


def analyse(d: Daemon, path: Path) -> None:
    """Analyse a complete file in a worker, unless the cache already knows it."""
    if not inside_roots(path, d.config.roots):
        log.info("%s: a link out of the watched roots, not followed", path)
        d.arrivals.analysed(PurePath(path))
        return
    st = stat_of(path)
    if st is None:
        log.debug("%s: gone before it was analysed", path)
        d.arrivals.event(PurePath(path), Event.DELETED, time.monotonic())
        d.arrivals.analysed(PurePath(path))
        return
    if d.store.analyses.lookup([(path, *st)]):
        log.debug("%s: cached: analysed before as it is now", path)
        d.arrivals.analysed(PurePath(path))
        return
    if failure := d.store.failures.lookup([(path, *st)]).get(path):
        log.debug("%s: failed before as it is now (%s): not analysed again until it changes", path, failure.reason)
        d.arrivals.analysed(PurePath(path))
        return
    future = d.pool.submit(_analyse_in_worker, path, *st)
    future.add_done_callback(partial(_deliver, d.inbox))


def _deliver(inbox: queue.SimpleQueue, future: Future) -> None:
    """A worker's result onto the main loop's queue. A future cancelled at shutdown has none: its file
    is met again by the next start's catch-up."""
    if not future.cancelled():
        inbox.put(future.result())  # never raises: the worker turns every failure into a message


def store_analysis(d: Daemon, result: Analysed) -> None:
    """A worker's result, kept if the file is still the one analysed. A failure is remembered, and
    reported by its session (`settle`), which leaves the file out."""
    d.arrivals.analysed(result.path)
    path = Path(result.path)
    if stat_of(path) != (result.size, result.mtime_ns):
        log.debug("%s: changed while being analysed: analysed again once complete", path)
        return
    if result.failure is not None:
        log.debug("%s: failed: %s", path, result.failure)
        d.store.failures.record([(path, result.size, result.mtime_ns, result.failure, time.time())])
        return
    entry = CacheEntry(result.kind or NOT_AN_IMAGE, result.analysis)
    d.store.analyses.save([(path, result.size, result.mtime_ns, entry)])
    log.debug("%s: %s", path, f"analysed ({result.kind})" if result.analysis is not None else "not an image")


def inside_roots(path: PurePath, roots: tuple[Path, ...]) -> bool:
    """Whether `path`, links resolved, lies in a watched root: links out of a root are never followed."""
    real = Path(path).resolve()
    return any(within(real, root.resolve()) for root in roots)


def stat_of(path: PurePath) -> tuple[int, int] | None:
    """(size, mtime in ns), or None when the file is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _analyse_in_worker(path: Path, size: int, mtime_ns: int) -> Analysed:
    """Worker: the analysis of one file, or the reason it failed."""
    try:
        kind, analysis, _orb = analyse_file(path, mtime_ns)
    except ImageError as exc:
        return Analysed(path, size, mtime_ns, failure=exc.reason)
    except Exception as exc:  # a decoder bug must not kill the worker; the session says which file
        return Analysed(path, size, mtime_ns, failure=f"unexpected error: {type(exc).__name__}: {exc}")
    return Analysed(path, size, mtime_ns, kind, analysis)
