"""Watch the roots: watchdog observers whose handler only filters names and enqueues events.

inotify by default; a root whose watches cannot all be added (the per-user inotify limits) falls back
to a polling observer, said once and clearly. watchdog silently skips a sub-folder it cannot watch, so
the kernel's own list of this process's watches is checked at start and for each new folder. The
polling observer does not descend into links, so it never follows one out of a root. A root that disappears (a card or a network drive
unplugged) is reported and watched again when it returns. Everything the handler sees goes onto
the daemon's queue as a `FileEvent`, a `FolderAppeared` for a folder that appeared with its
contents (`cp -r`, `mv` of a whole card folder), or a `FolderConfigChanged` when a folder's
`.burstd.toml` (a hidden name, never a photo) is written, renamed into place or deleted; see
`burstd.daemon.messages`.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import time
from pathlib import Path, PurePath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserverVFS

from burstd.config.rules import FOLDER_FILE
from burstd.daemon.arrivals import Event
from burstd.daemon.messages import FileEvent, FolderAppeared, FolderConfigChanged
from burstd.naming import ignored_reason
from burstd.paths import root_of

log = logging.getLogger("burstd")

_KINDS = {
    "created": Event.CREATED,
    "modified": Event.MODIFIED,
    "attrib": Event.MODIFIED,  # `cp -p` and file managers set times after closing
    "closed": Event.CLOSED,
    "deleted": Event.DELETED,
}
_LIMIT_ERRNOS = {errno.ENOSPC, errno.EMFILE}


class _Handler(FileSystemEventHandler):
    def __init__(self, inbox: queue.SimpleQueue, roots: tuple[Path, ...]) -> None:
        self.inbox = inbox
        self.roots = roots

    def on_any_event(self, event: FileSystemEvent) -> None:
        now = time.monotonic()
        src = os.fsdecode(event.src_path)
        if event.event_type == "moved":
            dest = os.fsdecode(event.dest_path)
            if event.is_directory:
                if not self._hidden(dest):
                    self.inbox.put(FolderAppeared(Path(dest)))
                return
            self._put(src, Event.DELETED, now)
            self._put(dest, Event.MOVED_IN, now)
            return
        if event.is_directory:
            if event.event_type == "created" and not self._hidden(src):
                self.inbox.put(FolderAppeared(Path(src)))
            return
        kind = _KINDS.get(event.event_type)
        if kind is not None:
            self._put(src, kind, now)

    def _put(self, path: str, kind: Event, now: float) -> None:
        # Temp copies, hidden files, sidecars, and anything in a hidden folder (the review page's
        # pictures, editors' caches) are never photographs to rate.
        folder, name = os.path.split(path)
        if name == FOLDER_FILE and not self._hidden(folder):  # hidden, yet it decides how the folder is rated
            self.inbox.put(FolderConfigChanged(Path(folder)))
            return
        why = ignored_reason(name)
        if why is None and self._hidden(folder):
            why = "in a hidden folder"
        if why is None:
            self.inbox.put(FileEvent(Path(path), kind, now))
        elif kind is not Event.MODIFIED:  # one per write of a copy: too many to be worth a line
            log.debug("%s: %s, ignored: %s", path, kind, why)

    def _hidden(self, folder: str) -> bool:
        """Whether `folder` is, or lies in, a hidden folder below its root (`..x` is one too)."""
        path = PurePath(folder)
        root = root_of(path, self.roots)
        if root is None:
            return False
        return any(part.startswith(".") for part in path.relative_to(root).parts)


class Watcher:
    """One inotify observer for every root it can watch, a polling one for the rest."""

    def __init__(self, roots: tuple[Path, ...], inbox: queue.SimpleQueue, poll_interval: float = 2.0) -> None:
        self.roots = roots
        self.inbox = inbox
        self.poll_interval = poll_interval
        self._handler = _Handler(inbox, roots)
        self._inotify: BaseObserver | None = None
        self._polling: BaseObserver | None = None
        self._watches: dict[Path, tuple[BaseObserver, ObservedWatch]] = {}
        self.missing: set[Path] = set()
        self.polled: set[Path] = set()

    def start(self) -> None:
        try:
            self._inotify = Observer()
            self._inotify.start()
        except OSError as exc:
            if exc.errno not in _LIMIT_ERRNOS:
                raise
            self._without_inotify(exc)
        for root in self.roots:
            self._watch(root)

    def _without_inotify(self, exc: OSError) -> None:
        """The observer itself could not start (older watchdog makes its inotify instance there)."""
        log.warning("inotify is not available (%s): polling every root every %g s instead. "
                    "Raise fs.inotify.max_user_instances to get instant events back.", exc, self.poll_interval)
        self._inotify = None
        self.polled.update(self.roots)

    def stop(self) -> None:
        for observer in (self._inotify, self._polling):
            if observer is not None:
                observer.stop()
        for observer in (self._inotify, self._polling):
            if observer is not None and observer.is_alive():
                observer.join(timeout=5)

    def check_roots(self) -> list[Path]:
        """Notice roots that went away or came back; returns the roots that came back."""
        returned = []
        for root in self.roots:
            present = root.is_dir()
            if root in self.missing and present:
                log.warning("%s is back: watching it again", root)
                self.missing.discard(root)
                self._watch(root)
                returned.append(root)
            elif root not in self.missing and not present:
                log.warning("%s has disappeared (unplugged?): burstd goes on and watches for its return", root)
                self._unwatch(root)
                self.missing.add(root)
        return returned

    def _watch(self, root: Path) -> None:
        if not root.is_dir():
            if root not in self.missing:
                log.warning("%s does not exist (yet): watching for it", root)
            self.missing.add(root)
            return
        if root not in self.polled and self._inotify is not None:
            try:
                self._watches[root] = (self._inotify, self._inotify.schedule(self._handler, str(root), recursive=True))
            except OSError as exc:
                if exc.errno not in _LIMIT_ERRNOS and "inotify" not in str(exc):
                    raise
                if exc.errno == errno.EMFILE:  # watchdog makes an inotify instance per watched root
                    log.warning("%s: inotify is not available (%s): polling this root every %g s instead. "
                                "Raise fs.inotify.max_user_instances to get instant events back.",
                                root, exc, self.poll_interval)
                    self.polled.add(root)
                    self._poll(root)
                else:
                    self._fall_back(root, str(exc))
                return
            unwatched = _first_unwatched(root)
            if unwatched is None:
                return
            self._fall_back(root, f"no watch for {unwatched}")
            return
        self._poll(root)

    def check_folder(self, folder: Path) -> None:
        """A folder appeared: if inotify could not watch it (the watch limit), poll its root instead.

        watchdog skips, without a word, the folders below a root it cannot add a watch for.
        """
        root = root_of(folder, self.roots)
        if root is None or root in self.polled or root not in self._watches:
            return
        unwatched = _first_unwatched(folder)
        if unwatched is not None:
            self._fall_back(root, f"no watch for {unwatched}")

    def _fall_back(self, root: Path, reason: str) -> None:
        log.warning(
            "%s: the inotify watch limit is reached (%s); polling this root every %g s instead. "
            "Raise fs.inotify.max_user_watches to get instant events back.",
            root, reason, self.poll_interval,
        )
        self._unwatch(root)
        self.polled.add(root)
        self._poll(root)

    def _poll(self, root: Path) -> None:
        if self._polling is None:
            # lstat: a link to a folder is not a folder to descend into (never follow links out of a root).
            self._polling = PollingObserverVFS(os.lstat, os.scandir, polling_interval=self.poll_interval)
            self._polling.start()
        self._watches[root] = (self._polling, self._polling.schedule(self._handler, str(root), recursive=True))

    def _unwatch(self, root: Path) -> None:
        entry = self._watches.pop(root, None)
        if entry is None:
            return
        observer, watch = entry
        try:
            observer.unschedule(watch)
        except (KeyError, OSError):  # the kernel already dropped the watch with the folder
            pass


def _first_unwatched(top: Path) -> Path | None:
    """The first folder at or below `top` that no inotify watch of this process covers; None if all are.

    The kernel lists this process's watches (device and inode of each) in /proc/self/fdinfo. Links are
    not descended into, as watchdog does not follow them. Without /proc nothing can be told: None.
    """
    watched = _watched_inodes()
    if watched is None:
        return None
    for dirpath, _dirnames, _files in os.walk(top):
        try:
            st = os.lstat(dirpath)
        except OSError:
            continue  # gone meanwhile
        if (st.st_ino, os.major(st.st_dev) << 20 | os.minor(st.st_dev)) not in watched:
            return Path(dirpath)
    return None


def _watched_inodes() -> set[tuple[int, int]] | None:
    """(inode, kernel device number) of every inotify watch this process holds."""
    try:
        fds = os.listdir("/proc/self/fdinfo")
    except OSError:
        return None
    watched = set()
    for fd in fds:
        try:
            with open(f"/proc/self/fdinfo/{fd}") as info:
                for line in info:
                    if line.startswith("inotify wd:"):
                        fields = dict(part.split(":", 1) for part in line.split()[1:] if ":" in part)
                        watched.add((int(fields["ino"], 16), int(fields["sdev"], 16)))
        except (OSError, ValueError, KeyError):
            continue
    return watched
