"""The main loop: the only thread that writes the database or sidecars.

It sleeps on one queue until the next message or deadline, so an idle daemon costs almost nothing.
Messages (`burstd.daemon.messages`) feed `Arrivals`; complete files go to the analysis workers; a
folder quiet for its `quiet_seconds` is settled; a changed `.burstd.toml` is read again, and the
folders it had made skip are settled with it; between messages the loop beats (`Heartbeat`),
checks the database and the roots, and catches up with a root that came back.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from burstd.daemon import intake
from burstd.daemon.arrivals import Event, Session
from burstd.daemon.messages import Analysed, FileEvent, FolderAppeared, FolderConfigChanged, Message, Wake
from burstd.daemon.settle import daemon_settings, nothing_to_rate, release_memory, settle, write_review_page
from burstd.errors import ConfigError
from burstd.paths import within
from burstd.wording import counted

if TYPE_CHECKING:
    from burstd.daemon.lifecycle import Daemon

log = logging.getLogger("burstd")

STAT_EVERY = 0.25  # how often files still being written are looked at


def run_loop(d: Daemon) -> None:
    """Until a signal sets `d.stopping`."""
    last_beat = float("-inf")
    open_folders: set[PurePath] = set()
    while not d.stopping:
        handle(d, _next_message(d, time.monotonic(), last_beat + d.heart.interval()))
        while True:  # everything that is already there, in one go
            try:
                handle(d, d.inbox.get_nowait())
            except queue.Empty:
                break
        if d.reload:
            d.reload_config()
        now = time.monotonic()
        for path in d.arrivals.pending_files():
            d.arrivals.observe(path, intake.stat_of(path), now)
        open_folders = _log_opened(d, open_folders)
        for path in d.arrivals.take_complete():
            log.debug("%s: complete", path)
            intake.analyse(d, Path(path))
        sessions = d.arrivals.take_sessions(now, _quiet_for(d))
        open_folders.difference_update(s.folder for s in sessions)  # a new session there is news again
        for session in sessions:
            if d.stopping:
                break
            log.debug("%s: session over (quiet): %s arrived, %d removed",
                      session.folder, counted(len(session.arrived), "file"), len(session.removed))
            settle_session(d, session)
        # The interval is asked again: a session that just opened shortens it, so that `burstd status`
        # shows the first files of a card within a second, not at the idle heartbeat.
        if now >= last_beat + d.heart.interval():
            d.check_database()
            for root in d.watcher.check_roots():
                d.catch_up(root)
            d.heart.beat()
            last_beat = now


def _log_opened(d: Daemon, before: set[PurePath]) -> set[PurePath]:
    """Log the sessions opened since the last turn (by events, a folder that appeared, a catch-up)."""
    now_open = set(d.arrivals.folders())
    for folder in sorted(now_open - before):
        log.debug("%s: session opened", folder)
    return now_open


def handle(d: Daemon, message: Message) -> None:
    match message:
        case FileEvent(path, event, at):
            if event is not Event.MODIFIED:  # one per write of a copy: too many to be worth a line
                log.debug("%s: %s", path, event)
            d.arrivals.event(PurePath(path), event, at)
        case FolderAppeared(path):
            log.debug("%s: folder appeared with its contents", path)
            d.watcher.check_folder(Path(path))
            intake.folder_appeared(d.arrivals, Path(path))
        case FolderConfigChanged(path):
            folder_config_changed(d, Path(path))
        case Analysed():
            intake.store_analysis(d, message)
        case Wake():
            pass  # the loop looks at its flags and deadlines anyway


def folder_config_changed(d: Daemon, folder: Path) -> None:
    """A `.burstd.toml` changed: every folder it applies to whose configuration was invalid gets a
    session now, which reads the files again and rates the folder (or shows the new problem). Folders
    already rated keep their ratings; new files there are rated with the new settings."""
    d.quiet.clear()  # `quiet_seconds` may have changed too
    now = time.monotonic()
    for problem in [Path(p) for p in d.folder_problems]:
        if within(problem, folder):
            log.debug("%s: its configuration changed; reading it again", problem)
            d.arrivals.touch(PurePath(problem), now)


def settle_session(d: Daemon, session: Session) -> None:
    """Settle a folder whose session is over, and tell `burstd status` and systemd about it."""
    folder = Path(session.folder)
    started = time.time() - (time.monotonic() - session.started)
    if not folder.is_dir():
        log.debug("%s: gone, nothing to settle", folder)
        return
    if nothing_to_rate(session, d.store):
        log.debug("%s: nothing to rate (no new image)", folder)
        return
    if not intake.inside_roots(folder, d.config.roots):
        log.warning("%s: reached through a link out of the watched roots; not followed", folder)
        return
    d.check_database()  # what the session learns must not go into a deleted database
    try:
        settings = daemon_settings(folder, d.config)
    except ConfigError as exc:
        d.folder_problems[str(folder)] = exc.problems
        # Not a file error of the errors table: `status` shows it while it lasts, and no longer once
        # the file is fixed (`folder_config_changed`).
        log.error("%s: skipped, its configuration is invalid:\n%s", folder, "\n".join(f"  - {p}" for p in exc.problems))
        d.heart.beat()  # so that `burstd status` shows the problem now, not at the next beat
        return
    d.folder_problems.pop(str(folder), None)
    d.current = str(folder)
    d.heart.beat()
    with d.heart.busy(f"settling {folder}") as progress:
        settle(folder, session.arrived, started, settings.scan, d.store, progress=progress, stop=lambda: d.stopping)
    d.current = None
    if settings.report and not d.stopping:
        with d.heart.busy(f"review page of {folder}") as progress:
            page = write_review_page(folder, settings.scan, d.store, progress)
        if page is not None:
            d.reports.pop(str(folder), None)
            d.reports[str(folder)] = str(page)
    release_memory()
    d.heart.beat()


def _next_message(d: Daemon, now: float, next_beat: float) -> Message:
    wait = next_beat - now
    deadline = d.arrivals.next_deadline(now, _quiet_for(d))
    if deadline is not None:
        wait = min(wait, deadline - now)
    if d.arrivals.pending_files():
        wait = min(wait, STAT_EVERY)
    try:
        return d.inbox.get(timeout=max(0.01, wait))
    except queue.Empty:
        return Wake()


def _quiet_for(d: Daemon) -> Callable[[PurePath], float]:
    return lambda folder: d.quiet.seconds(folder, d.config)
