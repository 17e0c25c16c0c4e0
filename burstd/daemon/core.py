"""`burstd run`: the process lifecycle and the main loop. The only module that owns them.

One instance per user (a lock beside the database). The main loop is the only thread that writes
the database or sidecars; it sleeps on one queue until the next event or deadline, so an idle
daemon costs almost nothing. Events from the watcher feed `Arrivals`; each file is analysed as soon
as it is complete (in worker threads, results back through the queue), and when a folder has been
quiet for its `quiet_seconds` the session is settled through the same pipeline stage `scan` uses,
regrouping only what the new files can touch. SIGTERM stops taking work, lets the sidecar being
written finish (each write is atomic) and exits 0; SIGHUP reloads the global configuration.
After a crash (`kill -9`, a power cut) the next start removes the temp files of interrupted writes
and settles again every folder whose grouping was not recorded. Links out of the watched roots are
never followed; a database deleted under the running daemon is started afresh.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import queue
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePath

from burstd.analysis.analyse import analyse_file
from burstd.daemon.arrivals import Arrivals, Event, Session
from burstd.store import Store
from burstd.store.analyses import NOT_AN_IMAGE, CacheEntry
from burstd.config.files import DaemonConfig, FolderSettings, folder_settings, load_global
from burstd.discover import Candidate, discover
from burstd.errors import BurstdError, ConfigError, ImageError
from burstd.naming import is_ignored_name
from burstd.pipeline import ScanReport, collect_shots, plan_pairs, session_record, settle_folder
from burstd.report.page import write_report
from burstd.daemon.systemd import Notifier
from burstd.fsio import remove_stale_temps
from burstd.daemon.watch import Watcher

log = logging.getLogger("burstd")

HEARTBEAT_SECONDS = 15.0  # how often the database hears from the daemon when nothing happens
BUSY_HEARTBEAT_SECONDS = 1.0  # ... and while files arrive, so `burstd status` stays current
STAT_EVERY = 0.25  # how often files still being written are looked at
_LIBC = ctypes.CDLL(None)  # the C library this process already runs on
REPORT_NAME = "burstd-report.html"  # the review page, when a folder's `report` setting is on
QUIET_CACHE_SECONDS = 5.0  # how long a folder's quiet period is trusted before .burstd.toml is read again


class AlreadyRunning(BurstdError):
    """Another burstd daemon runs for this user."""


class Daemon:
    def __init__(self, config: DaemonConfig, cache: Store, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.cache = cache
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.arrivals = Arrivals(config.stable_seconds)
        self.notifier = Notifier()
        self.watcher = Watcher(config.roots, self.inbox)
        self.pool = ThreadPoolExecutor(max_workers=config.folder.scan.workers or os.cpu_count() or 1,
                                       thread_name_prefix="analyse")
        self.stopping = False
        self.reload = False
        self.current: str | None = None
        self.folder_problems: dict[str, list[str]] = {}
        self.reports: dict[str, str] = {}  # folder -> its review page, newest last
        self._quiet: dict[PurePath, tuple[float, float]] = {}
        self._lock_fd: int | None = None
        self._database: tuple[int, int] | None = None  # (device, inode) of the database file opened
        self.started = time.time()

    # --- lifecycle -------------------------------------------------------------------------------

    def run(self) -> int:
        self._take_lock()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_signal)
        self.cache.log.started(os.getpid(), self.state())
        self._database = _file_id(self.cache.path)
        failed = True
        try:
            self.watcher.start()
            for root in self.config.roots:
                self.catch_up(root)
            self.notifier.ready(self.status_line())
            log.info("watching %s", ", ".join(str(r) for r in self.config.roots) or "no roots (add some to the config)")
            self.loop()
            failed = False
        finally:
            self.notifier.stopping()
            self.watcher.stop()
            self.pool.shutdown(wait=True, cancel_futures=True)
            if not failed:  # after a failure the database may be what failed: `status` sees a dead pid
                self.cache.log.stopped(os.getpid())
            log.info("stopped")
        return 0

    def _take_lock(self) -> None:
        lock = self.cache.path.parent / "burstd.lock"
        if self._lock_fd is not None:
            if _file_id(lock) == _fd_id(self._lock_fd):
                return  # still ours
            os.close(self._lock_fd)  # deleted with the state folder: lock the new one
            self._lock_fd = None
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            other = self.cache.log.daemon()
            pid = f" (pid {other['pid']})" if other else ""
            raise AlreadyRunning(f"burstd is already running{pid}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd  # held until the process exits

    def _check_database(self) -> None:
        """A database deleted or replaced under the running daemon: start a new one (it is a cache)."""
        if _file_id(self.cache.path) == self._database:
            return
        log.warning("%s was deleted or replaced while burstd ran: starting a new database "
                    "(photos are analysed again as their folders need it)", self.cache.path)
        self.cache.close()
        self.cache = Store.open(self.cache.path)
        self._database = _file_id(self.cache.path)
        self._take_lock()
        self.cache.log.started(os.getpid(), self.state())

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.stopping = True
        self.inbox.put(("wake",))

    # --- the loop ----------------------------------------------------------------------------------

    def loop(self) -> None:
        next_beat = 0.0
        while not self.stopping:
            now = time.monotonic()
            self._handle(self._next_message(now, next_beat))
            while True:  # everything that is already there, in one go
                try:
                    self._handle(self.inbox.get_nowait())
                except queue.Empty:
                    break
            if self.reload:
                self._reload()
            now = time.monotonic()
            for path in self.arrivals.pending_files():
                self.arrivals.observe(path, _stat(path), now)
            for path in self.arrivals.take_complete():
                self._analyse(Path(path))
            for session in self.arrivals.take_sessions(now, self.quiet_for):
                if self.stopping:
                    break
                self.settle(session)
            if now >= next_beat:
                self._check_database()
                for root in self.watcher.check_roots():
                    self.catch_up(root)
                self.heartbeat()
                next_beat = now + self._beat_interval()

    def _next_message(self, now: float, next_beat: float) -> tuple:
        wait = next_beat - now
        deadline = self.arrivals.next_deadline(now, self.quiet_for)
        if deadline is not None:
            wait = min(wait, deadline - now)
        if self.arrivals.pending_files():
            wait = min(wait, STAT_EVERY)
        try:
            return self.inbox.get(timeout=max(0.01, wait))
        except queue.Empty:
            return ("wake",)

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "fs":
            _, path, event, at = message
            self.arrivals.event(PurePath(path), event, at)
        elif kind == "dir":
            self.watcher.check_folder(message[1])
            self._arrived_folder(message[1])
        elif kind == "analysed":
            _, candidate, result = message
            self._analysed(candidate, result)

    def _beat_interval(self) -> float:
        interval = HEARTBEAT_SECONDS if not self.arrivals.folders() else BUSY_HEARTBEAT_SECONDS
        watchdog = self.notifier.watchdog_interval
        return min(interval, watchdog) if watchdog else interval

    # --- files -----------------------------------------------------------------------------------

    def _arrived_folder(self, folder: Path) -> None:
        """A folder appeared with its contents (`cp -r`, `mv`): its files count as created now."""
        now = time.monotonic()
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if not is_ignored_name(name):
                    self.arrivals.event(PurePath(dirpath, name), Event.CREATED, now)

    def _analyse(self, path: Path) -> None:
        """Analyse a complete file in a worker, unless the cache already knows it."""
        if not self._inside_roots(path):
            log.info("%s: a link out of the watched roots, not followed", path)
            self.arrivals.analysed(PurePath(path))
            return
        try:
            st = path.stat()
        except OSError:
            self.arrivals.event(PurePath(path), Event.DELETED, time.monotonic())
            self.arrivals.analysed(PurePath(path))
            return
        candidate = Candidate(path, st.st_size, st.st_mtime_ns)
        if self.cache.analyses.lookup([(path, candidate.size, candidate.mtime_ns)]):
            self.arrivals.analysed(PurePath(path))
            return
        future = self.pool.submit(_analyse_candidate, candidate)
        future.add_done_callback(lambda f: self.inbox.put(("analysed", candidate, f.result())))

    def _inside_roots(self, path: PurePath) -> bool:
        """Whether `path`, links resolved, lies in a watched root: links out of a root are never followed."""
        real = os.path.realpath(path)
        for root in self.config.roots:
            top = os.path.realpath(root)
            if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
                return True
        return False

    def _analysed(self, candidate: Candidate, result: tuple) -> None:
        self.arrivals.analysed(PurePath(candidate.path))
        if isinstance(result, str):  # the reason it failed; the session reports it again
            return
        kind, analysis = result
        if _stat(PurePath(candidate.path)) == (candidate.size, candidate.mtime_ns):
            self.cache.analyses.save([(candidate.path, candidate.size, candidate.mtime_ns, CacheEntry(kind or NOT_AN_IMAGE, analysis))])

    # --- sessions --------------------------------------------------------------------------------

    def quiet_for(self, folder: PurePath) -> float:
        now = time.monotonic()
        known = self._quiet.get(folder)
        if known is None or now - known[1] > QUIET_CACHE_SECONDS:
            try:
                seconds = folder_settings(Path(folder), self.config)[0].quiet_seconds
            except ConfigError:
                seconds = self.config.folder.quiet_seconds
            known = self._quiet[folder] = (seconds, now)
        return known[0]

    def settle(self, session: Session) -> None:
        """Group, rate and write a folder whose session is over; record what happened."""
        folder = Path(session.folder)
        started_wall = time.time() - (time.monotonic() - session.started)
        t0 = time.perf_counter()
        if not folder.is_dir() or self._nothing_to_rate(session):
            return
        if not self._inside_roots(folder):
            log.warning("%s: reached through a link out of the watched roots; not followed", folder)
            return
        self._check_database()  # what the session learns must not go into a deleted database
        try:
            settings = self._settings(folder)
        except ConfigError as exc:
            self.folder_problems[str(folder)] = exc.problems
            log.error("%s: skipped, its configuration is invalid:\n%s", folder, "\n".join(f"  - {p}" for p in exc.problems))
            self.cache.log.record_errors([(time.time(), folder, "invalid configuration: " + "; ".join(exc.problems))])
            self.heartbeat()  # so that `burstd status` shows the problem now, not at the next beat
            return
        self.folder_problems.pop(str(folder), None)
        self.current = str(folder)
        self.heartbeat()
        report = ScanReport(folder, session=self.cache.sessions.begin(folder, "daemon", started_wall))
        candidates, problems = discover(folder)
        report.problems.extend(problems)
        report.files = len(candidates)
        collected = collect_shots(candidates, settings.scan, self.cache.analyses)
        report.add_shots(collected)
        self._forget_replaced(folder, session.arrived)
        report.add_folder(settle_folder(folder, collected.shots, collected.orbs, settings.scan, self.cache,
                                        session=report.session, incremental=True, stop=lambda: self.stopping))
        self.current = None
        errors = [(time.time(), p.path, p.reason) for p in report.problems]
        errors += [(time.time(), o.path, o.reason) for o in report.failed_outcomes()]
        report.seconds = time.perf_counter() - t0
        record = session_record(report, started_wall, files=len(session.arrived))
        self.cache.sessions.finish(report.session, record)
        self.cache.log.record_errors(errors)
        for _, path, reason in errors:
            log.error("%s: %s", path, reason)
        log.info(
            "%s: %d new files, %d bursts, %d sidecars written, %d manual ratings kept, %d errors, %.1f s",
            folder, record.files, record.bursts, record.written, record.kept_manual, record.errors, record.seconds,
        )
        if settings.report:
            self._write_report(folder, settings)
        _release_memory()
        self.heartbeat()

    def _nothing_to_rate(self, session: Session) -> bool:
        """A session of files that all turned out not to be images (a video, the review page itself)."""
        if session.removed or not session.arrived:
            return False
        stats = [(Path(p), _stat(p)) for p in session.arrived]
        known = self.cache.analyses.lookup((path, st[0], st[1]) for path, st in stats if st is not None)
        return all(st is not None and path in known and known[path].kind == NOT_AN_IMAGE for path, st in stats)

    def _forget_replaced(self, folder: Path, arrived: frozenset[PurePath]) -> None:
        """Bursts holding a file that arrived again (copied over, saved again) leave the stored grouping.

        Incremental regrouping keeps a burst whose member names are unchanged; a file replaced under
        the same name may be another picture now, so its burst and those after it are rated again.
        """
        names = {str(p) for p in arrived}
        previous = self.cache.groupings.get(folder)
        kept = [burst for burst in previous if names.isdisjoint(burst)]
        if len(kept) < len(previous):
            self.cache.groupings.save(folder, kept)

    def _write_report(self, folder: Path, settings: FolderSettings) -> None:
        """The review page, after the sidecars: it never delays a rating."""
        out = folder / REPORT_NAME
        try:
            write_report(folder, out, self.cache, settings.scan)
        except (BurstdError, OSError) as exc:
            log.error("%s: could not write the review page: %s", out, exc)
            self.cache.log.record_errors([(time.time(), out, f"could not write the review page: {exc}")])
            return
        self.reports.pop(str(folder), None)
        self.reports[str(folder)] = str(out)
        log.info("%s: review page written", out)

    def _settings(self, folder: Path) -> FolderSettings:
        settings = folder_settings(folder, self.config)[0]
        return replace(settings, scan=replace(settings.scan, dry_run=False, force=False, recursive=False))

    def catch_up(self, root: Path) -> None:
        """Reconcile a root with the database: what changed while burstd was away gets processed.

        New or changed files go through the usual arrival rules; a folder whose files are all known
        but do not match its stored grouping (files deleted meanwhile) gets a session of its own.
        """
        if not root.is_dir():
            return
        now = time.monotonic()
        recent = time.time() - self.config.stable_seconds
        for dirpath, dirnames, _files in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            folder = Path(dirpath)
            if removed := remove_stale_temps(folder):
                log.warning("%s: removed %d temp file(s) of sidecar writes interrupted by a crash", folder, removed)
            candidates, _ = discover(folder)
            known = self.cache.analyses.lookup((c.path, c.size, c.mtime_ns) for c in candidates)
            unknown = [c for c in candidates if c.path not in known]
            for c in unknown:
                # Old enough files are complete as they are; a fresh one may still be copying.
                event = Event.MOVED_IN if c.mtime_ns / 1e9 < recent else Event.CREATED
                self.arrivals.event(PurePath(c.path), event, now)
            if not unknown and not self._matches_grouping(folder, candidates, known):
                self.arrivals.touch(PurePath(folder), now)

    def _matches_grouping(self, folder: Path, candidates: list[Candidate], known: dict) -> bool:
        """Whether the folder's shots are exactly those its stored grouping was made from."""
        grouped = {p for burst in self.cache.groupings.get(folder) for p in burst}
        to_analyse, _companions = plan_pairs(candidates)
        shots = {str(c.path) for c in to_analyse if known[c.path].analysis is not None}
        return grouped == shots

    def _reload(self) -> None:
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
        self._quiet.clear()
        log.info("SIGHUP: configuration reloaded from %s", config.path or "defaults")

    # --- status ----------------------------------------------------------------------------------

    def state(self) -> dict:
        waiting, analysing = self.arrivals.counts()
        return {
            "roots": [str(r) for r in self.config.roots],
            "missing_roots": sorted(str(r) for r in self.watcher.missing),
            "polled_roots": sorted(str(r) for r in self.watcher.polled),
            "waiting": waiting,
            "analysing": analysing,
            "current": self.current,
            "open_folders": sorted(str(f) for f in self.arrivals.folders()),
            "folder_problems": self.folder_problems,
            "reports": dict(list(self.reports.items())[-20:]),
            "config": str(self.config.path) if self.config.path else None,
        }

    def status_line(self) -> str:
        waiting, analysing = self.arrivals.counts()
        roots = len(self.config.roots) - len(self.watcher.missing)
        line = f"watching {roots} root(s); {waiting} file(s) arriving, {analysing} being analysed"
        return line + (f"; settling {self.current}" if self.current else "")

    def heartbeat(self) -> None:
        self.cache.log.heartbeat(os.getpid(), self.state())
        self.notifier.watchdog()
        self.notifier.status(self.status_line())


def _analyse_candidate(c: Candidate) -> tuple | str:
    """Worker: the analysis of one file, or the reason it failed (reported by its session)."""
    try:
        kind, analysis, _orb = analyse_file(c.path, c.mtime_ns)
    except ImageError as exc:
        return exc.reason
    except Exception as exc:  # a decoder bug must not kill the worker; the session says which file
        return f"unexpected error: {type(exc).__name__}: {exc}"
    return kind, analysis


def _release_memory() -> None:
    """Hand memory freed by a session back to the system (glibc keeps it otherwise).

    Decoding in worker threads leaves glibc's heaps holding freed pages; without this a daemon that
    has settled thousands of files looks as big as its busiest moment, forever.
    """
    trim = getattr(_LIBC, "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _fd_id(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)


def _stat(path: PurePath) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def run(config_path: Path | None = None, cache_path: Path | None = None) -> int:
    """Load the configuration, open the database, run until stopped."""
    config = load_global(config_path)
    with Store.open(cache_path or config.cache) as cache:
        return Daemon(config, cache, config_path).run()
