"""`burstd run`: the process lifecycle, and the only module that owns it.

One instance per user (a lock beside the database); SIGTERM/SIGINT stop taking work, cancel the files
queued for analysis (the few being decoded finish and are kept), let the sidecar being written
finish (each write is atomic), say in one line what is left for the next start, and exit 0; SIGHUP
reloads the global configuration.
Start-up catches up with what changed while burstd was away, then tells systemd READY; the main loop
(`burstd.daemon.loop`) runs until a signal stops it; STOPPING goes out before the workers are shut
down. A database deleted under the running daemon is started afresh (it is a cache).

`Daemon` holds what the parts share (configuration, database, arrivals, watcher, status fields);
the work itself lives in `loop`, `intake`, `settle` and `catchup`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from burstd.config.files import DaemonConfig, global_config_path, load_global, no_roots_advice
from burstd.daemon.arrivals import Arrivals
from burstd.daemon.catchup import catch_up
from burstd.daemon.heartbeat import Heartbeat
from burstd.daemon.intake import store_analysis
from burstd.daemon.loop import folder_config_changed, run_loop
from burstd.daemon.messages import Analysed, Wake
from burstd.daemon.notify import Notifier
from burstd.daemon.settle import QuietTimes
from burstd.daemon.watch import Watcher
from burstd.errors import BurstdError, ConfigError
from burstd.store import Store
from burstd.wording import counted

log = logging.getLogger("burstd")


class AlreadyRunning(BurstdError):
    """Another burstd daemon runs for this user."""


def run(config_path: Path | None = None, cache_path: Path | None = None) -> int:
    """Load the configuration, open the database, run until stopped."""
    config = load_global(config_path)
    with Store.open(cache_path or config.cache) as store:
        return Daemon(config, store, config_path).run()


class Daemon:
    """One running daemon: what its parts share, and its start, stop, signals and reload."""

    def __init__(self, config: DaemonConfig, store: Store, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.config_file = config_path or global_config_path()  # the file read, or to create
        self.store = store
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.arrivals = Arrivals(config.stable_seconds)
        self.notifier = Notifier()
        self.watcher = Watcher(config.roots, self.inbox)
        self.pool = ThreadPoolExecutor(max_workers=config.folder.scan.workers or os.cpu_count() or 1,
                                       thread_name_prefix="analyse")
        self.quiet = QuietTimes()
        self.heart = Heartbeat(self)
        self.stopping = False
        self.stopped_by: int | None = None  # the signal that stopped the daemon
        self.reload = False
        self.current: str | None = None  # the folder being settled
        self.folder_problems: dict[str, list[str]] = {}
        self.reports: dict[str, str] = {}  # folder -> its review page, newest last
        self._lock = UserLock(store.path.parent / "burstd.lock", lambda: self.store.log.daemon())
        self._database: tuple[int, int] | None = None  # (device, inode) of the database file opened

    def run(self) -> int:
        self._lock.take()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self.store.log.started(os.getpid(), self.heart.state())
        self._database = file_id(self.store.path)
        failed = True
        try:
            self.watcher.start()
            for root in self.config.roots:
                self.catch_up(root)
            self.notifier.ready(self.heart.status_line())
            if self.config.roots:
                log.info("watching %s", ", ".join(str(r) for r in self.config.roots))
            else:
                log.warning("%s", no_roots_advice(self.config_file))
            run_loop(self)
            failed = False
        finally:
            self.notifier.stopping()
            self.watcher.stop()
            self.pool.shutdown(wait=True, cancel_futures=True)
            if not failed:  # after a failure the database may be what failed: `status` sees a dead pid
                self._keep_finished_analyses()
                self.store.log.stopped(os.getpid())
            log.info("%s", self._stopped_line())
        return 0

    def _keep_finished_analyses(self) -> None:
        """The analyses the workers finished while the daemon stopped: kept, not done again."""
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(message, Analysed):
                store_analysis(self, message)

    def _stopped_line(self) -> str:
        """The one line a stop logs: by what, and what the next start takes up."""
        by = f" by {signal.Signals(self.stopped_by).name}" if self.stopped_by else ""
        waiting, analysing = self.arrivals.counts()
        folders = len(self.arrivals.folders())
        if not (waiting or analysing or folders):
            return f"stopped{by}"
        return (f"stopped{by}: {counted(waiting + analysing, 'file')} not analysed yet and "
                f"{counted(folders, 'folder')} not settled; the next start takes them up")

    def catch_up(self, root: Path) -> None:
        with self.heart.busy(f"catching up with {root}") as progress:
            catch_up(root, self.store, self.arrivals, self.config.stable_seconds, progress)

    def check_database(self) -> None:
        """A database deleted or replaced under the running daemon: start a new one (it is a cache)."""
        if file_id(self.store.path) == self._database:
            return
        log.warning("%s was deleted or replaced while burstd ran: starting a new database "
                    "(photos are analysed again as their folders need it)", self.store.path)
        self.store.close()
        self.store = Store.open(self.store.path)
        self._database = file_id(self.store.path)
        self._lock.take()  # deleted with the state folder: lock the new one
        self.store.log.started(os.getpid(), self.heart.state())

    def reload_config(self) -> None:
        """SIGHUP: the global configuration again; roots stay as they are until a restart."""
        self.reload = False
        try:
            config = load_global(self.config_path)
        except ConfigError as exc:
            log.error("SIGHUP: the new configuration is invalid, keeping the old one:\n%s", exc)
            return
        if config.roots != self.config.roots:
            log.warning("SIGHUP: roots changed; restart burstd to watch the new roots")
            config = replace(config, roots=self.config.roots)
        self.config = config
        self.quiet.clear()
        for root in self.config.roots:  # folder files are read again too: those found invalid may be fixed
            folder_config_changed(self, root)
        log.info("SIGHUP: configuration reloaded from %s", config.path or "defaults")

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.stopping = True
            self.stopped_by = self.stopped_by or signum
        self.inbox.put(Wake())


class UserLock:
    """One daemon per user: an flock on `path`, held until the process exits."""

    def __init__(self, path: Path, holder: Callable[[], dict | None]) -> None:
        self.path = path
        self._holder = holder  # the running daemon's row, to name its pid
        self._fd: int | None = None

    def take(self) -> None:
        """Lock, or check the lock is still ours; raises AlreadyRunning when another daemon has it."""
        if self._fd is not None:
            if file_id(self.path) == _fd_id(self._fd):
                return  # still ours
            os.close(self._fd)  # deleted with the state folder: lock the new one
            self._fd = None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            other = self._holder()
            pid = f" (pid {other['pid']})" if other else ""
            # `burstd: ` is put before it where it is shown (cli.main): the message must not say burstd again.
            raise AlreadyRunning(f"the daemon is already running for this user{pid}; `burstd status` shows what it does") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd


def file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _fd_id(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)
