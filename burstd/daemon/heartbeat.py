"""What the daemon says about itself, and when: `burstd status`'s row, systemd's STATUS= and WATCHDOG=1.

Only the main thread beats, and only while it really makes progress: the loop beats between messages,
and long work (a settle of thousands of files, a review page of thousands of pictures, a catch-up of
a big root) beats through `busy(...)`'s progress callback, which the pipeline stages call between
files. Those beats are rate-limited to the watchdog interval. No timer thread ever pings (maestral
does): a main thread that is stuck must starve the watchdog, so that systemd restarts it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from burstd.pipeline import Progress
from burstd.wording import counted

if TYPE_CHECKING:
    from burstd.daemon.lifecycle import Daemon

HEARTBEAT_SECONDS = 15.0  # how often the database hears from the daemon when nothing happens
BUSY_HEARTBEAT_SECONDS = 1.0  # ... and while files arrive or a session runs, so `burstd status` stays current


class Heartbeat:
    """The daemon's status, sent to the database and to systemd."""

    def __init__(self, daemon: Daemon, clock: Callable[[], float] = time.monotonic) -> None:
        self.daemon = daemon
        self.clock = clock
        self.doing: str | None = None  # long work under way, with how far it got
        self._next = 0.0  # when busy work beats next

    def beat(self) -> None:
        """Now: the database row, WATCHDOG=1 and the status line."""
        d = self.daemon
        d.store.log.heartbeat(os.getpid(), self.state())
        d.notifier.watchdog()
        d.notifier.status(self.status_line())
        self._next = self.clock() + self.busy_interval()

    def interval(self) -> float:
        """How long the loop may wait for a message before it beats again."""
        return self._within_watchdog(HEARTBEAT_SECONDS if not self.daemon.arrivals.folders() else BUSY_HEARTBEAT_SECONDS)

    def busy_interval(self) -> float:
        """How often long work beats."""
        return self._within_watchdog(BUSY_HEARTBEAT_SECONDS)

    def _within_watchdog(self, seconds: float) -> float:
        watchdog = self.daemon.notifier.watchdog_interval
        return min(seconds, watchdog) if watchdog else seconds

    @contextmanager
    def busy(self, what: str) -> Iterator[Progress]:
        """A `progress(stage, done, total)` callback for long work on the main thread: it beats, at
        most once per interval, with `what` and the progress in the status line."""

        def progress(stage: str, done: int, total: int) -> None:
            if self.clock() < self._next:
                return
            self.doing = f"{what}: {stage} {done}/{total}" if total else f"{what}: {stage} {done}"
            self.beat()

        try:
            yield progress
        finally:
            self.doing = None

    def state(self) -> dict:
        d = self.daemon
        waiting, analysing = d.arrivals.counts()
        return {
            "roots": [str(r) for r in d.config.roots],
            "missing_roots": sorted(str(r) for r in d.watcher.missing),
            "polled_roots": sorted(str(r) for r in d.watcher.polled),
            "waiting": waiting,
            "analysing": analysing,
            "current": d.current,
            "open_folders": self.open_sessions(),
            "folder_problems": d.folder_problems,
            "reports": dict(list(d.reports.items())[-20:]),
            "config": str(d.config_file),  # the global file read (or, when there is none, to create)
        }

    def open_sessions(self) -> list[dict]:
        """Each open session's folder, files arrived and analysed, and when it settles (epoch seconds:
        `burstd status` reads it later, and says how long that is from then)."""
        d = self.daemon
        now, wall = self.clock(), time.time()
        sessions = d.arrivals.open_sessions(lambda folder: d.quiet.seconds(folder, d.config))
        return [{"folder": str(s.folder), "files": s.files, "analysed": s.analysed, "settles_at": wall + s.settles_at - now}
                for s in sessions]

    def status_line(self) -> str:
        d = self.daemon
        waiting, analysing = d.arrivals.counts()
        roots = len(d.config.roots) - len(d.watcher.missing)
        line = f"watching {counted(roots, 'root')}; {counted(waiting, 'file')} arriving, {analysing} being analysed"
        if self.doing:
            return f"{line}; {self.doing}"
        return line + (f"; settling {d.current}" if d.current else "")
