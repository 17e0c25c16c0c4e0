"""Settling a session: a folder that has been quiet for its `quiet_seconds` is grouped, rated, written.

`settle` runs the same pipeline stages `scan` uses (`collect_shots`, `settle_folder`), incrementally:
only bursts the new files can touch are regrouped. Files that failed as they are now are left out
(`store.failures`) and reported by the first session that meets them, never again until they change.
It records the session and returns its record.
The review page, when the folder asks for one, comes after the sidecars so it never delays a rating.
Also here: the settings a folder is settled with, and how long each folder must be quiet.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path, PurePath

from burstd.config.files import DaemonConfig, FolderSettings, folder_settings
from burstd.daemon.arrivals import Session
from burstd.daemon.intake import stat_of
from burstd.darktable.lock import default_config_dir
from burstd.darktable.rc import import_rating
from burstd.discover import Candidate, discover
from burstd.errors import BurstdError, ConfigError
from burstd.models import FileProblem, ScanSettings
from burstd.pipeline import Progress, ScanReport, Stop, collect_shots, never, session_record, settle_folder
from burstd.report.page import write_report
from burstd.store import Store
from burstd.store.analyses import NOT_AN_IMAGE
from burstd.store.sessions import SessionRecord
from burstd.wording import failure_lines, session_summary

log = logging.getLogger("burstd")

REPORT_NAME = "burstd-report.html"  # the review page, when a folder's `report` setting is on
QUIET_CACHE_SECONDS = 5.0  # how long a folder's quiet period is trusted before .burstd.toml is read again
_LIBC = ctypes.CDLL(None)  # the C library this process already runs on


def settle(
    folder: Path,
    arrived: frozenset[PurePath],
    started: float,
    settings: ScanSettings,
    store: Store,
    *,
    progress: Progress | None = None,
    stop: Stop = never,
) -> SessionRecord | None:
    """Group, rate and write `folder` after `arrived` came (the session began at `started`, epoch
    seconds); the session is recorded, its errors too, and its record returned. None when `stop`
    cut the analysis short: nothing was written, and the next start settles the folder."""
    t0 = time.perf_counter()
    report = ScanReport(folder)
    candidates, problems = discover(folder)
    report.problems.extend(problems)
    report.files = len(candidates)
    failed = store.failures.lookup((c.path, c.size, c.mtime_ns) for c in candidates)
    store.failures.forget_missing(folder, (c.path for c in candidates))
    collected = collect_shots([c for c in candidates if c.path not in failed], settings, store.analyses, progress,
                              stop=stop)
    if collected.counts.left:
        return None
    report.add_shots(collected)
    _remember_failures(collected.problems, candidates, store)
    report.problems.extend(FileProblem(path, f.reason) for path, f in failed.items() if not f.reported)
    report.session = store.sessions.begin(folder, "daemon", started)
    _forget_replaced(folder, arrived, store)
    report.add_folder(settle_folder(folder, collected.shots, collected.orbs, settings, store, session=report.session,
                                    incremental=True, progress=progress, stop=stop))
    report.seconds = time.perf_counter() - t0
    record = session_record(report, started, files=len(arrived))
    store.sessions.finish(report.session, record)
    now = time.time()
    errors = [(now, p.path, p.reason) for p in report.problems]
    errors += [(now, o.path, o.reason) for o in report.failed_outcomes()]
    store.log.record_errors(errors)  # each file, for `burstd status`; the log folds a folder's shared cause
    store.failures.mark_reported(p.path for p in report.problems)
    for path, reason in failure_lines(report.problems, report.failed_outcomes()):
        log.error("%s: %s", path, reason)
    log.info("%s: %s", folder, session_summary(dataclasses.asdict(record)))
    return record


def write_review_page(folder: Path, settings: ScanSettings, store: Store, progress: Progress | None = None) -> Path | None:
    """The folder's review page; None (the problem logged and recorded) when it could not be written."""
    out = folder / REPORT_NAME
    try:
        write_report(folder, out, store, settings, progress=progress)
    except (BurstdError, OSError) as exc:
        log.error("%s: could not write the review page: %s", out, exc)
        store.log.record_errors([(time.time(), out, f"could not write the review page: {exc}")])
        return None
    log.info("%s: review page written", out)
    return out


def nothing_to_rate(session: Session, store: Store) -> bool:
    """A session of files that all turned out not to be images (a video, the review page itself)."""
    if session.removed or not session.arrived:
        return False
    stats = [(Path(p), stat_of(p)) for p in session.arrived]
    known = store.analyses.lookup((path, st[0], st[1]) for path, st in stats if st is not None)
    return all(st is not None and path in known and known[path].kind == NOT_AN_IMAGE for path, st in stats)


def daemon_settings(folder: Path, config: DaemonConfig) -> FolderSettings:
    """`folder`'s settings as the daemon applies them: written for real, one folder at a time.
    Raises ConfigError when a `.burstd.toml` on the way is invalid."""
    settings = folder_settings(folder, config)[0]
    darktable_rating = import_rating(config.darktable_config or default_config_dir())
    scan = replace(settings.scan, dry_run=False, force=False, recursive=False, darktable_rating=darktable_rating)
    return replace(settings, scan=scan)


class QuietTimes:
    """How long each folder must be quiet before its session settles (its `quiet_seconds`).

    Asked for every open folder on every turn of the loop, so the answer is trusted for a few seconds
    rather than reading the folder's `.burstd.toml` files each time.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._known: dict[PurePath, tuple[float, float]] = {}  # folder -> (seconds, when read)

    def seconds(self, folder: PurePath, config: DaemonConfig) -> float:
        now = self.clock()
        known = self._known.get(folder)
        if known is None or now - known[1] > QUIET_CACHE_SECONDS:
            try:
                seconds = folder_settings(Path(folder), config)[0].quiet_seconds
            except ConfigError:  # reported when the session settles; the global value meanwhile
                seconds = config.folder.quiet_seconds
            known = self._known[folder] = (seconds, now)
        return known[0]

    def clear(self) -> None:
        self._known.clear()


def _remember_failures(problems: Iterable[FileProblem], candidates: list[Candidate], store: Store) -> None:
    """Files that failed now, as they were analysed: one that changed since (still being copied) is
    not a failure of the file it is now."""
    by_path = {c.path: c for c in candidates}
    now = time.time()
    store.failures.record(
        (p.path, c.size, c.mtime_ns, p.reason, now)
        for p in problems
        if (c := by_path.get(p.path)) is not None and stat_of(p.path) == (c.size, c.mtime_ns)
    )


def _forget_replaced(folder: Path, arrived: frozenset[PurePath], store: Store) -> None:
    """Bursts holding a file that arrived again (copied over, saved again) leave the stored grouping.

    Incremental regrouping keeps a burst whose member names are unchanged; a file replaced under
    the same name may be another picture now, so its burst and those after it are rated again.
    """
    names = {str(p) for p in arrived}
    previous = store.groupings.get(folder)
    kept = [burst for burst in previous if names.isdisjoint(burst)]
    if len(kept) < len(previous):
        store.groupings.save(folder, kept)


def release_memory() -> None:
    """Hand memory freed by a session back to the system (glibc keeps it otherwise).

    Decoding in worker threads leaves glibc's heaps holding freed pages; without this a daemon that
    has settled thousands of files looks as big as its busiest moment, forever.
    """
    trim = getattr(_LIBC, "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)
