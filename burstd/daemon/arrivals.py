"""Debounce and coalesce file-system events into complete files and quiet folders. Pure.

The watcher reports what the kernel says (created, modified, closed, moved in, deleted); the daemon
reports what `stat` says about files still being written. From that, this module decides:

- when a file is **complete**: moved into place (rsync's final rename); closed after writing and then
  left alone for `close_grace` (copy tools that keep times, `cp -p` or a file manager, set the mtime
  just after closing, and analysing before that would be wasted); or with a size and mtime unchanged
  for `stable_seconds` (a `mv` within one file system gives no close event). A half-copied file is
  never complete;
- when a folder's **session** is over: nothing has happened in it for its quiet period and none of
  its files is still being written or analysed.

Time is a number passed in (seconds, monotonic), so every rule is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath


class Event(StrEnum):
    CREATED = "created"
    MODIFIED = "modified"
    CLOSED = "closed"  # closed after writing
    MOVED_IN = "moved-in"  # renamed into place: complete as it is
    DELETED = "deleted"


@dataclass(slots=True)
class _Pending:
    """A file still being written: its last stat, when that stat last changed, how long to wait."""

    since: float
    wait: float  # how long the stat must stay unchanged
    size: int | None = None
    mtime_ns: int | None = None


@dataclass(slots=True)
class _Folder:
    started: float
    last_activity: float
    pending: dict[PurePath, _Pending] = field(default_factory=dict)
    analysing: set[PurePath] = field(default_factory=set)
    arrived: set[PurePath] = field(default_factory=set)  # complete files of this session
    removed: set[PurePath] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Session:
    """Files that arrived in one folder until it went quiet."""

    folder: PurePath
    started: float
    ended: float
    arrived: frozenset[PurePath]
    removed: frozenset[PurePath]


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A folder whose session is still open, as `burstd status` shows it."""

    folder: PurePath
    files: int  # files of the session so far, complete or still being written
    analysed: int  # of those, the ones whose analysis is done (well or not, or found in the cache)
    settles_at: float  # when it settles if nothing more happens; later while files are written or analysed


class Arrivals:
    """Tracks every watched folder with something going on; see the module docstring."""

    def __init__(self, stable_seconds: float, close_grace: float = 0.3) -> None:
        self.stable_seconds = stable_seconds
        self.close_grace = close_grace
        self._folders: dict[PurePath, _Folder] = {}
        self._complete: list[PurePath] = []  # complete, not yet handed out for analysis

    def event(self, path: PurePath, kind: Event, now: float) -> None:
        folder = self._folder(path.parent, now)
        folder.last_activity = now
        if kind is Event.DELETED:
            folder.pending.pop(path, None)
            folder.arrived.discard(path)
            folder.removed.add(path)
            if path in self._complete:
                self._complete.remove(path)
            return
        folder.removed.discard(path)
        if kind is Event.MOVED_IN:
            folder.pending.pop(path, None)
            self._mark_complete(folder, path)
            return
        if path in folder.arrived and path not in folder.pending:
            # A complete file written again (an editor saving over it): it will be analysed again.
            folder.arrived.discard(path)
        pending = folder.pending.get(path)
        if pending is None:
            wait = self.close_grace if kind is Event.CLOSED else self.stable_seconds
            folder.pending[path] = _Pending(since=now, wait=wait)
        else:
            # Any event restarts the clock. Once closed, only the short grace applies: what follows a
            # close is the copy tool setting times, and a writer that reopens the file closes it again.
            pending.since = now
            if kind is Event.CLOSED:
                pending.wait = self.close_grace

    def touch(self, folder: PurePath, now: float) -> None:
        """Open (or extend) a session for `folder` with no file event: a change noticed otherwise."""
        self._folder(folder, now).last_activity = now

    def observe(self, path: PurePath, stat: tuple[int, int] | None, now: float) -> None:
        """What `stat` says of a pending file: (size, mtime_ns), or None when it is gone."""
        folder = self._folders.get(path.parent)
        if folder is None or path not in folder.pending:
            return
        if stat is None:
            self.event(path, Event.DELETED, now)
            return
        pending = folder.pending[path]
        size, mtime_ns = stat
        if (pending.size, pending.mtime_ns) != (size, mtime_ns):
            pending.size, pending.mtime_ns, pending.since = size, mtime_ns, now
            folder.last_activity = max(folder.last_activity, now)
        elif now - pending.since >= pending.wait:
            del folder.pending[path]
            self._mark_complete(folder, path)

    def pending_files(self) -> list[PurePath]:
        """Files whose completeness hangs on their stat: the daemon stats these."""
        return [p for f in self._folders.values() for p in f.pending]

    def take_complete(self) -> list[PurePath]:
        """Files that became complete since the last call; they now count as being analysed."""
        taken, self._complete = self._complete, []
        for path in taken:
            self._folders[path.parent].analysing.add(path)
        return taken

    def analysed(self, path: PurePath) -> None:
        """The analysis of `path` finished (well or not)."""
        folder = self._folders.get(path.parent)
        if folder is not None:
            folder.analysing.discard(path)

    def take_sessions(self, now: float, quiet_for: Callable[[PurePath], float]) -> list[Session]:
        """Sessions whose folder has been quiet long enough, with nothing written or analysed."""
        done = []
        for path, folder in list(self._folders.items()):
            if folder.pending or folder.analysing or path in {p.parent for p in self._complete}:
                continue
            if now - folder.last_activity >= quiet_for(path):
                done.append(
                    Session(path, folder.started, now, frozenset(folder.arrived), frozenset(folder.removed))
                )
                del self._folders[path]
        return done

    def next_deadline(self, now: float, quiet_for: Callable[[PurePath], float]) -> float | None:
        """When something may next become due without any new event (None: nothing pending)."""
        deadlines = []
        for path, folder in self._folders.items():
            if folder.pending:
                deadlines.append(min(p.since + p.wait for p in folder.pending.values()))
            elif not folder.analysing:
                deadlines.append(folder.last_activity + quiet_for(path))
        return min(deadlines) if deadlines else None

    def counts(self) -> tuple[int, int]:
        """(files still being written, files being analysed)."""
        return (
            sum(len(f.pending) for f in self._folders.values()) + len(self._complete),
            sum(len(f.analysing) for f in self._folders.values()),
        )

    def open_sessions(self, quiet_for: Callable[[PurePath], float]) -> list[OpenSession]:
        """Every open session, by folder name."""
        waiting = set(self._complete)  # complete, not yet handed out: not analysed either
        return [
            OpenSession(path, len(f.arrived.union(f.pending)), len(f.arrived - f.analysing - waiting),
                        f.last_activity + quiet_for(path))
            for path, f in sorted(self._folders.items())
        ]

    def folders(self) -> Iterable[PurePath]:
        return list(self._folders)

    def _folder(self, path: PurePath, now: float) -> _Folder:
        folder = self._folders.get(path)
        if folder is None:
            folder = self._folders[path] = _Folder(started=now, last_activity=now)
        return folder

    def _mark_complete(self, folder: _Folder, path: PurePath) -> None:
        if path not in folder.arrived:
            folder.arrived.add(path)
            self._complete.append(path)
