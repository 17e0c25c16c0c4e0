"""The one pipeline `scan` and the daemon share: discover -> analyse -> pair -> group -> rank -> write.

`scan_folder` is the whole flow in one short function: `collect_shots` (analyse and pair) then, per
folder, `settle_folder` (group, rank, write). The daemon calls the same two stages; only where the
paths come from differs. Each stage is a function of its own that returns what it found (frozen
`Collected`, `Settled`: shots, bursts, outcomes, problems and counts); only the flow adds them up,
into a `ScanReport`. Only `analyse` and `write` touch files (through `decode`, the `store` and
`sidecar.files`). A problem with one file becomes a `FileProblem` and the batch goes on.

Every stage takes a `stop` callable (a signal asked the run to end): `analyse` cancels the files not
started and keeps, in the cache, every analysis finished; nothing is grouped or written after an
analysis cut short (bursts of half a folder would be rated wrongly); `write` stops between sidecars,
each written atomically. What was left undone is counted, so the caller can say so.
"""

from __future__ import annotations

import os
import queue
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from burstd.analysis.analyse import analyse_file
from burstd.discover import Candidate, discover
from burstd.errors import ConfigError, ImageError, SidecarError
from burstd.grouping import GroupingParams, regroup
from burstd.models import Analysis, FileProblem, Method, RatedBurst, ScanSettings, SidecarAction, SidecarOutcome, Shot
from burstd.naming import is_raw_name, natural_key, shot_stem, sidecar_targets
from burstd.ranking import rate_burst
from burstd.sidecar.files import known_state, write_sidecar
from burstd.tagging import sidecar_fields
from burstd.sidecar.xmp import SidecarMemo, is_manual
from burstd.store import Store
from burstd.store.analyses import NOT_AN_IMAGE, Analyses, CacheEntry
from burstd.store.sessions import SessionRecord
from burstd.wording import GroupCounts, group_counts

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Stop = Callable[[], bool]  # asked between files: True once the run must end
STOP_POLL = 0.1  # seconds: how often the analysis looks at `stop` while no file finishes


def never() -> bool:
    """The `stop` of a run nothing stops."""
    return False


@dataclass(frozen=True, slots=True)
class AnalyseCounts:
    """How the analyse stage came by its analyses. Each pass returns its own; the flow adds them up
    (a JPEG's RAW analysed in its place is a second pass, which must not replace the first's)."""

    analysed: int = 0  # decoded now
    cached: int = 0  # found in the store
    left: int = 0  # files not analysed (RAW companions of a JPEG not analysed too): the run was stopped first

    def __add__(self, other: AnalyseCounts) -> AnalyseCounts:
        return AnalyseCounts(self.analysed + other.analysed, self.cached + other.cached, self.left + other.left)


@dataclass(frozen=True, slots=True)
class Analysed:
    """What one pass of `analyse` yields."""

    analyses: dict[Path, Analysis]
    orbs: dict[object, bytes]
    problems: tuple[FileProblem, ...]
    counts: AnalyseCounts
    unfinished: tuple[Path, ...] = ()  # not analysed: the run was stopped first

    def __add__(self, other: Analysed) -> Analysed:
        return Analysed(self.analyses | other.analyses, self.orbs | other.orbs, self.problems + other.problems,
                        self.counts + other.counts, self.unfinished + other.unfinished)


@dataclass(frozen=True, slots=True)
class Collected:
    """What `collect_shots` yields: the shots, and what analysing them found."""

    shots: tuple[Shot, ...]
    orbs: dict[object, bytes]
    problems: tuple[FileProblem, ...]
    counts: AnalyseCounts


@dataclass(frozen=True, slots=True)
class Settled:
    """What `settle_folder` yields for one folder."""

    bursts: tuple[RatedBurst, ...]
    sidecars: dict[Path, list[SidecarOutcome]]  # by image file
    kept: frozenset[str]  # ids of bursts kept untouched (incremental regrouping)
    left: int = 0  # sidecars not tried: the run was stopped first


@dataclass(frozen=True, slots=True)
class Written:
    """What `write` yields: each image's sidecar outcomes, and how many sidecars a stop left untried."""

    sidecars: dict[Path, list[SidecarOutcome]]  # by image file
    left: int = 0


@dataclass(slots=True)
class ScanReport:
    """What a scan, or a daemon session, did: the flow adds up here what each stage returns."""

    root: Path
    bursts: list[RatedBurst] = field(default_factory=list)
    sidecars: dict[Path, list[SidecarOutcome]] = field(default_factory=dict)  # by image file
    problems: list[FileProblem] = field(default_factory=list)
    files: int = 0
    counts: AnalyseCounts = AnalyseCounts()
    seconds: float = 0.0
    session: int | None = None  # the session its sidecar writes are journaled under, for `burstd undo`
    stopped: bool = False  # a stop left work undone (files not analysed, folders or sidecars not written)

    @property
    def analysed(self) -> int:
        return self.counts.analysed

    @property
    def cached(self) -> int:
        return self.counts.cached

    def add_shots(self, collected: Collected) -> None:
        self.problems.extend(collected.problems)
        self.counts += collected.counts
        self.stopped = self.stopped or collected.counts.left > 0

    def add_folder(self, settled: Settled) -> None:
        self.bursts.extend(settled.bursts)
        self.sidecars.update(settled.sidecars)
        self.stopped = self.stopped or settled.left > 0

    @property
    def groups(self) -> GroupCounts:
        """Its shots, bursts and single shots."""
        return group_counts(len(b.members) for b in self.bursts)

    @property
    def images(self) -> int:
        """The image files among its files: every file of every shot (a RAW and its JPEG are two)."""
        return sum(len(m.shot.files) for b in self.bursts for m in b.members)

    def failed_outcomes(self) -> list[SidecarOutcome]:
        """The sidecars that could not be written, in the order they were tried."""
        return [o for outs in failed_sidecars(self.sidecars).values() for o in outs]

    @property
    def failed(self) -> bool:
        return bool(self.problems) or bool(self.failed_outcomes())


def failed_sidecars(sidecars: dict[Path, list[SidecarOutcome]]) -> dict[Path, list[SidecarOutcome]]:
    """The outcomes whose action is FAILED, by image file (images without one are left out)."""
    failed = {image: [o for o in outs if o.action is SidecarAction.FAILED] for image, outs in sidecars.items()}
    return {image: outs for image, outs in failed.items() if outs}


def scan_folder(
    root: Path,
    settings: ScanSettings,
    store: Store,
    progress: Progress | None = None,
    *,
    settings_in: Callable[[Path], ScanSettings] | None = None,
    stop: Stop = never,
) -> ScanReport:
    """Scan one folder (and below, with `recursive`) and rate its bursts.

    `settings` are `root`'s. `settings_in(folder)` gives a sub-folder's own (its `.burstd.toml`
    files), and raises ConfigError for a folder whose files are invalid: that folder is reported and
    skipped, the rest goes on. Without it every folder is scanned with `settings`.
    """
    started = time.perf_counter()
    report = ScanReport(root)
    if not settings.dry_run:
        report.session = store.sessions.begin(root, "scan", time.time())
    candidates, problems = discover(root, recursive=settings.recursive, extra_patterns=settings.extra_excludes)
    report.problems.extend(problems)
    folders, skipped = settings_by_folder(root, candidates, settings, settings_in)
    report.problems.extend(skipped)
    candidates = [c for c in candidates if c.path.parent in folders]
    report.files = len(candidates)
    collected = collect_shots(candidates, analysis_settings(settings, folders.values()), store.analyses, progress,
                              stop=stop)
    report.add_shots(collected)
    for folder, folder_shots in by_folder(collected.shots):
        if report.stopped or stop():
            report.stopped = True
            break
        report.add_folder(settle_folder(folder, folder_shots, collected.orbs, folders[folder], store,
                                        session=report.session, incremental=False, progress=progress, stop=stop))
    report.seconds = time.perf_counter() - started
    if report.session is not None:
        store.sessions.finish(report.session, session_record(report, time.time() - report.seconds))
    return report


def settings_by_folder(
    root: Path,
    candidates: Sequence[Candidate],
    settings: ScanSettings,
    settings_in: Callable[[Path], ScanSettings] | None,
) -> tuple[dict[Path, ScanSettings], list[FileProblem]]:
    """The settings of every folder holding candidates, and a problem for each folder skipped because
    its configuration is invalid. What the run itself decides (a dry run, `--force`) is the run's
    everywhere: a folder's files can never turn a dry run into a real one."""
    found: dict[Path, ScanSettings] = {}
    problems: list[FileProblem] = []
    for folder in dict.fromkeys(c.path.parent for c in candidates):
        if settings_in is None or folder == root:
            found[folder] = settings
            continue
        try:
            own = settings_in(folder)
        except ConfigError as exc:
            problems.append(FileProblem(folder, "skipped, its configuration is invalid: " + "; ".join(exc.problems)))
            continue
        found[folder] = replace(own, dry_run=settings.dry_run, force=settings.force, recursive=settings.recursive,
                                extra_excludes=settings.extra_excludes)
    return found, problems


def analysis_settings(settings: ScanSettings, folders: Iterable[ScanSettings]) -> ScanSettings:
    """What the analysis of a whole run needs: ORB descriptors too when any folder groups by features."""
    if settings.method is not Method.FEATURES and any(s.method is Method.FEATURES for s in folders):
        return replace(settings, method=Method.FEATURES)
    return settings


def session_record(report: ScanReport, started: float, *, files: int | None = None) -> SessionRecord:
    """What `burstd status` and `burstd undo --list` show of a finished scan or daemon session; the
    one place a `SessionRecord` is made.

    `files` is what the session counts as its files: every file found for a scan (the default),
    the files that arrived for a daemon session (which rates a whole folder for a few new files).
    """
    actions = Counter(o.action for outs in report.sidecars.values() for o in outs)
    groups = report.groups
    return SessionRecord(
        folder=report.root, started=started, ended=time.time(),
        files=report.files if files is None else files, bursts=groups.bursts, single_shots=groups.single_shots,
        written=actions[SidecarAction.CREATED] + actions[SidecarAction.UPDATED],
        kept_manual=actions[SidecarAction.KEPT_MANUAL],
        errors=len(report.problems) + len(report.failed_outcomes()), seconds=report.seconds,
    )


def collect_shots(
    candidates: Sequence[Candidate],
    settings: ScanSettings,
    cache: Analyses,
    progress: Progress | None = None,
    *,
    stop: Stop = never,
) -> Collected:
    """The shots among the candidates: RAW+JPEG paired, each analysed (from the store when it can).

    A JPEG that fails to decode must not cost its RAW the rating: the RAW is then analysed in its
    place and becomes the shot (the broken JPEG is reported and gets no sidecar).
    """
    to_analyse, companions = plan_pairs(candidates)
    found = analyse(to_analyse, settings, cache, progress, stop=stop)
    failed = {p: raws for p, raws in companions.items() if p not in found.analyses}
    if failed and not found.unfinished:
        by_path = {c.path: c for c in candidates}
        found += analyse([by_path[raws[0]] for raws in failed.values()], settings, cache, stop=stop)
        for raws in failed.values():
            companions[raws[0]] = raws[1:]
    # A RAW is done with its JPEG: one the stop left unanalysed leaves its RAW too.
    left = sum(1 + len(companions.get(p, ())) for p in found.unfinished)
    counts = replace(found.counts, left=left)
    return Collected(tuple(pair_shots(found.analyses, companions)), found.orbs, found.problems, counts)


def settle_folder(
    folder: Path,
    shots: Sequence[Shot],
    orbs: dict[object, bytes],
    settings: ScanSettings,
    store: Store,
    *,
    session: int | None,
    incremental: bool,
    progress: Progress | None = None,
    stop: Stop = never,
) -> Settled:
    """Group, rate and write one folder's shots (journaled under `session`, when there is one).

    Incremental (the daemon): bursts of the folder's stored grouping that nothing new can join are
    kept as they were and their sidecars are not even looked at. A scan regroups everything.
    """
    params = GroupingParams(settings.method, settings.threshold, settings.max_gap)
    previous = store.groupings.get(folder) if incremental else ()
    bursts, kept = regroup(shots, params, previous, orbs)
    rated = [
        rate_burst(
            burst,
            max_rank=settings.max_rank,
            scheme=settings.scheme,
            singleton_rating=settings.singleton_rating,
            reject_below=settings.reject_below,
            reject_closed_eyes=settings.reject_closed_eyes,
        )
        for burst in bursts
    ]
    written = write([r for r in rated if r.burst.id not in kept], settings, store, progress, stop, session=session)
    if not settings.dry_run and not written.left:
        # A burst with a sidecar that could not be written (a full disk, another program's change)
        # is left out, so the next session here, or the next start, tries it again.
        failed = failed_sidecars(written.sidecars).keys()
        done = [b for b in bursts if failed.isdisjoint(f for s in b.shots for f in s.files)]
        store.groupings.save(folder, [[str(s.primary) for s in b.shots] for b in done])
    return Settled(tuple(rated), written.sidecars, frozenset(kept), written.left)


def analyse(
    candidates: Sequence[Candidate],
    settings: ScanSettings,
    cache: Analyses,
    progress: Progress | None = None,
    *,
    stop: Stop = never,
) -> Analysed:
    """Analyses of every image among the candidates: from the store, or decoded in parallel.

    Once `stop` says so, the files not yet started are cancelled (not waited for); the few being
    decoded finish, and every analysis finished is saved, so the next run starts where this one ended.
    """
    with_orb = settings.method == "features"
    problems: list[FileProblem] = []
    known = cache.lookup((c.path, c.size, c.mtime_ns) for c in candidates)
    analyses: dict[Path, Analysis] = {}
    orbs: dict[object, bytes] = {}
    todo: list[Candidate] = []
    for c in candidates:
        entry = known.get(c.path)
        if entry is None or (with_orb and entry.kind != NOT_AN_IMAGE and entry.orb is None):
            todo.append(c)
        elif entry.analysis is not None:
            analyses[c.path] = entry.analysis
            if entry.orb:
                orbs[c.path] = entry.orb
    cached, decoded = len(analyses), 0
    unfinished: list[Path] = []
    workers = settings.workers or os.cpu_count() or 1
    fresh: list[tuple[Path, int, int, CacheEntry]] = []
    finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analyse") as pool:
        futures: dict[Future, Candidate] = {pool.submit(analyse_file, c.path, c.mtime_ns, with_orb=with_orb): c for c in todo}
        for future in futures:
            future.add_done_callback(finished.put)  # cancelled ones too: every future comes back once
        remaining, done, stopping = len(futures), 0, False
        while remaining:
            if not stopping and stop():
                stopping = True
                pool.shutdown(wait=False, cancel_futures=True)  # those being decoded still come back
            try:
                # In short steps: a signal handler only sets a flag, which a blocking wait would not see
                # before the next file finished.
                future = finished.get(timeout=STOP_POLL)
            except queue.Empty:
                continue
            remaining -= 1
            if future.cancelled():
                unfinished.append(futures[future].path)
                continue
            done += 1
            c = futures[future]
            if progress:
                progress("analyse", done, len(todo))
            try:
                kind, analysis, orb = future.result()
            except ImageError as exc:
                problems.append(FileProblem(exc.path, exc.reason))
                continue
            except Exception as exc:  # a decoder bug must not end the batch; say which file
                problems.append(FileProblem(c.path, f"unexpected error: {type(exc).__name__}: {exc}"))
                continue
            if _changed_since(c):
                problems.append(FileProblem(c.path, "changed while being read (still being copied?)"))
                continue
            fresh.append((c.path, c.size, c.mtime_ns, CacheEntry(kind or NOT_AN_IMAGE, analysis, orb)))
            if analysis is not None:
                analyses[c.path] = analysis
                decoded += 1
                if orb:
                    orbs[c.path] = orb
            if len(fresh) >= 200:
                cache.save(fresh)
                fresh.clear()
    cache.save(fresh)
    return Analysed(analyses, orbs, tuple(problems), AnalyseCounts(analysed=decoded, cached=cached), tuple(unfinished))


def pair_shots(analyses: dict[Path, Analysis], companions: dict[Path, tuple[Path, ...]]) -> list[Shot]:
    """One shot per analysed file, with its same-stem companions (the RAW of a JPEG) attached."""
    return [Shot(path, analysis, companions.get(path, ())) for path, analysis in analyses.items()]


def by_folder(shots: Sequence[Shot]) -> list[tuple[Path, list[Shot]]]:
    """Bursts never span folders."""
    folders: dict[Path, list[Shot]] = {}
    for shot in shots:
        folders.setdefault(shot.primary.parent, []).append(shot)
    return [(k, folders[k]) for k in sorted(folders, key=lambda p: natural_key(str(p)))]


def write(
    bursts: Sequence[RatedBurst],
    settings: ScanSettings,
    store: Store,
    progress: Progress | None = None,
    stop: Stop = never,
    session: int | None = None,
) -> Written:
    """Write every shot's sidecars; what was learnt about each sidecar goes back to the store.

    `stop` is asked between sidecars (each write is atomic): the rest is left untouched, counted, for
    the next run (the daemon's next start finds the folder unsettled and does it again). With a
    `session`, every write is journaled under it first (see `burstd undo`).
    """
    jobs = [
        (image, sidecar, others, sidecar_fields(rated, member, settings))
        for rated in bursts
        for member in rated.members
        for image, sidecar, others in sidecar_targets(member.shot.files, settings.sidecar_style)
    ]
    memos = store.memos.lookup({path for _, sidecar, others, _ in jobs for path in (sidecar, *others)})
    outcomes: dict[Path, list[SidecarOutcome]] = {}
    learnt: list[tuple[Path, SidecarMemo]] = []
    owners: dict[Path, Path] = {}
    journal = None if session is None else partial(store.sessions.journal_write, session)
    left = 0
    for done, (image, sidecar, others, fields) in enumerate(jobs, start=1):
        if stop():
            left = len(jobs) - done + 1
            break
        owner = owners.setdefault(sidecar, image)
        if owner != image:
            outcome = SidecarOutcome(
                sidecar, SidecarAction.FAILED, f"is also the sidecar of {owner.name}, which these names cannot tell apart"
            )
        elif (held := _rated_elsewhere(sidecar, others, memos, learnt, settings)) is not None:
            outcome = held
        else:
            outcome, memo = write_sidecar(
                sidecar, fields, memo=memos.get(sidecar),
                force=settings.force, dry_run=settings.dry_run, exclude=settings.exclude, journal=journal,
                darktable_rating=settings.darktable_rating,
            )
            if memo is not None and memo is not memos.get(sidecar):  # None on a dry run
                learnt.append((sidecar, memo))
        outcomes.setdefault(image, []).append(outcome)
        if progress:
            progress("write", done, len(jobs))
    store.memos.save(learnt)
    return Written(outcomes, left)


def _rated_elsewhere(
    sidecar: Path,
    others: tuple[Path, ...],
    memos: dict[Path, SidecarMemo],
    learnt: list[tuple[Path, SidecarMemo]],
    settings: ScanSettings,
) -> SidecarOutcome | None:
    """`sidecar`'s outcome when a sidecar of the other naming style has a rating the photographer
    set (that rating wins here too), or one burstd cannot read (it might hold such a rating)."""
    if settings.force:
        return None
    for path in others:
        try:
            state, memo = known_state(path, memos.get(path))
        except SidecarError as err:
            return SidecarOutcome(
                sidecar, SidecarAction.FAILED,
                f"{path.name} {err.reason}, so burstd cannot tell whether it holds a rating set by hand",
            )
        if memo is not None and memo is not memos.get(path) and not settings.dry_run:
            learnt.append((path, memo))
        if state is not None and is_manual(state, settings.darktable_rating):
            return SidecarOutcome(sidecar, SidecarAction.KEPT_MANUAL, f"rated by hand in {path.name}", state.rating)
    return None


def plan_pairs(candidates: Sequence[Candidate]) -> tuple[list[Candidate], dict[Path, tuple[Path, ...]]]:
    """Which files to analyse, and the companions of each: a RAW and a JPEG with one stem are one shot.

    The JPEG is the one analysed: it is the camera's own rendering of the same frame and carries its
    EXIF where Pillow reads it cheaply. Its RAW is rated alike without being decoded at all.
    """
    by_stem: dict[tuple[Path, str], list[Candidate]] = {}
    for c in candidates:
        by_stem.setdefault((c.path.parent, shot_stem(c.path.name)), []).append(c)
    keep: list[Candidate] = []
    companions: dict[Path, tuple[Path, ...]] = {}
    for group in by_stem.values():
        jpegs = [c for c in group if not is_raw_name(c.path.name)]
        raws = [c for c in group if is_raw_name(c.path.name)]
        if jpegs and raws:
            keep.extend(jpegs)
            companions[jpegs[0].path] = tuple(sorted((r.path for r in raws), key=lambda p: natural_key(p.name)))
        else:
            keep.extend(group)
    keep.sort(key=lambda c: (natural_key(str(c.path.parent)), natural_key(c.path.name)))
    return keep, companions


def _changed_since(c: Candidate) -> bool:
    try:
        st = c.path.stat()
    except OSError:
        return True
    return st.st_size != c.size or st.st_mtime_ns != c.mtime_ns
