"""The command line: parse, call the pipeline, turn results and errors into output and exit codes.

Exit codes: 0 all good, 1 some files failed (each one listed; for `undo`, also sidecars kept because
they changed since), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from burstd import __version__
from burstd.store.cache import Cache
from burstd.errors import BurstdError, ConfigError
from burstd.models import ScanSettings, SidecarAction
from burstd.naming import SIDECAR_STYLES
from burstd.tagging import COLOURS

if TYPE_CHECKING:  # scan's pipeline loads OpenCV, rawpy and exiv2: only `scan` and `report` need it
    from burstd.pipeline import ScanReport

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burstd", description="Group photo bursts, rank them by sharpness, pre-rate XMP sidecars.")
    parser.add_argument("--version", action="version", version=f"burstd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    scan = commands.add_parser(
        "scan",
        help="group, rank and rate the images of one folder",
        description="Group the images of DIR into bursts, rank each burst by sharpness and write "
        "darktable sidecars (IMG_0001.CR2.xmp) with the ratings. Example: burstd scan ~/Pictures/2026-11-24 -m 5",
    )
    scan.add_argument("directory", metavar="DIR", type=Path)
    scan.add_argument("-f", "--feature_matching", "--feature-matching", dest="features", action="store_true",
                      help="group by ORB feature matching instead of perceptual hashes")
    scan.add_argument("-e", "--exclude", action="store_true", help="leave images that already have a sidecar alone")
    scan.add_argument("-d", "--diff", type=float, metavar="FLOAT",
                      help="minimum similarity (0-1) for a shot to join a burst; default: learnt from the folder")
    scan.add_argument("-m", "--max_rank", "--max-rank", dest="max_rank", type=int, default=3, metavar="INT",
                      help="stars for the sharpest frame of a burst, 1-5 (default 3)")
    scan.add_argument("-v", "--verbose", action="store_true", help="list every burst and every sidecar decision")
    scan.add_argument("-r", "--recursive", action="store_true", help="also scan sub-folders (each folder on its own)")
    scan.add_argument("--dry-run", action="store_true", help="print bursts and planned ratings, write nothing")
    scan.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    scan.add_argument("--force", action="store_true", help="also overwrite ratings set by hand")
    scan.add_argument("--scheme", choices=("tiers", "linear"), default="tiers", help="how ranks become stars (default tiers)")
    scan.add_argument("--max-gap", type=float, default=ScanSettings().max_gap, metavar="SECONDS",
                      help=f"a pause longer than this always ends a burst (default {ScanSettings().max_gap:g})")
    scan.add_argument("--singleton-rating", type=int, metavar="INT", help="stars for a shot that is not part of a burst (default: max rank)")
    scan.add_argument("--reject-below", type=float, metavar="FRACTION",
                      help="reject (rating -1) frames scoring below this fraction of their burst's best, e.g. 0.3")
    scan.add_argument("--no-tags", dest="tags", action="store_false",
                      help="no burstd|burst|... and burstd|pick keywords (written by default)")
    scan.add_argument("--pick-label", choices=tuple(COLOURS), metavar="COLOUR",
                      help="also give each burst's pick this darktable colour label: red, yellow, green, blue or purple")
    scan.add_argument("--digikam-pick-labels", action="store_true",
                      help="also set digiKam's pick label: accepted on each burst's pick, rejected on rejects")
    scan.add_argument("--sidecar-style", choices=SIDECAR_STYLES, default=ScanSettings().sidecar_style,
                      help="darktable/digiKam names (IMG_0001.CR2.xmp, the default), lightroom names "
                      "(IMG_0001.xmp, also Capture One and Bridge) or both")
    scan.add_argument("--workers", type=int, default=0, metavar="N", help="decoding threads (default: one per core)")
    scan.add_argument("--cache", type=Path, metavar="FILE", help="analysis cache (default $XDG_STATE_HOME/burstd/cache.sqlite3)")
    report = commands.add_parser(
        "report",
        help="write an HTML review page of the bursts, picks and scores of one folder",
        description="Write a self-contained HTML page (and its thumbnails, in the hidden .FILE-stem_files/ beside it) "
        "showing every burst of DIR in shooting order, its frames sharpest first, their stars, "
        "sharpness and sidecar state; click a frame for a 100%% crop of the region its score was "
        "measured on. Writes no sidecar. Example: burstd report ~/Pictures/2026-11-24 -o /tmp/review.html",
    )
    report.add_argument("directory", metavar="DIR", type=Path)
    report.add_argument("-o", "--output", type=Path, metavar="FILE", help="the page to write (default DIR/burstd-report.html)")
    report.add_argument("-r", "--recursive", action="store_true", help="also include sub-folders (each folder on its own)")
    report.add_argument("--cache", type=Path, metavar="FILE", help="analysis cache (default $XDG_STATE_HOME/burstd/cache.sqlite3)")
    run = commands.add_parser(
        "run",
        help="watch the configured roots and rate every card dump that lands there",
        description="The daemon: watch the roots of the global configuration "
        "($XDG_CONFIG_HOME/burstd/config.toml), batch arriving files into sessions per folder, and "
        "group, rank and rate each folder once it has been quiet. Example: burstd run -v",
    )
    run.add_argument("--config", type=Path, metavar="FILE", help="global configuration (default $XDG_CONFIG_HOME/burstd/config.toml)")
    run.add_argument("--cache", type=Path, metavar="FILE", help="database (default: the config's `cache`, else $XDG_STATE_HOME/burstd/cache.sqlite3)")
    run.add_argument("-v", "--verbose", action="store_true", help="log every file event and decision")
    status = commands.add_parser(
        "status",
        help="is the daemon running, and what did it do",
        description="Read the daemon's database (never waiting on the daemon): whether it runs, the "
        "watched roots, files arriving and being analysed, the last sessions and recent errors. Exit "
        "codes: 0 running and healthy, 1 running with problems, 3 not running. Example: burstd status --json",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.add_argument("--config", type=Path, metavar="FILE", help="global configuration (to find the database)")
    status.add_argument("--cache", type=Path, metavar="FILE", help="database to read")
    config = commands.add_parser("config", help="show the configuration in effect",
                                 description="Example: burstd config show ~/Pictures/Import/sports")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_commands.add_parser("show", help="the effective settings of a folder and where each came from",
                                      description="Example: burstd config show ~/Pictures/Import/sports")
    show.add_argument("directory", metavar="DIR", type=Path)
    show.add_argument("--config", type=Path, metavar="FILE", help="global configuration (default $XDG_CONFIG_HOME/burstd/config.toml)")
    undo = commands.add_parser(
        "undo",
        help="put back the sidecars burstd changed, as they were before",
        description="Restore every sidecar burstd changed under DIR (any depth; or in session ID) to its exact "
        "previous bytes and remove the ones it created, newest change first, unless you changed them "
        "since: those are kept and listed. The previous bytes come from the database. "
        "Example: burstd undo ~/Pictures/2026-11-24 --dry-run",
    )
    undo.add_argument("directory", metavar="DIR", type=Path, nargs="?", help="the folder whose sidecars to put back (and below)")
    undo.add_argument("--session", type=int, metavar="ID", help="undo only this session (see --list); with DIR, only its sidecars under DIR")
    undo.add_argument("--list", action="store_true", help="list the sessions with changes to sidecars (under DIR), newest first; change nothing")
    undo.add_argument("--dry-run", action="store_true", help="show what would be restored, removed and kept; change nothing")
    undo.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    undo.add_argument("--cache", type=Path, metavar="FILE", help="database (default: the config's `cache`, else $XDG_STATE_HOME/burstd/cache.sqlite3)")
    install = commands.add_parser(
        "install-service",
        help="install and start the systemd user service",
        description="Write ~/.config/systemd/user/burstd.service running this burstd, then "
        "`systemctl --user enable --now burstd`. Example: burstd install-service",
    )
    install.add_argument("--no-enable", action="store_true", help="only write the unit file")
    return parser


def main(argv: list[str] | None = None) -> int:
    # File names may hold any bytes: print the undecodable ones escaped rather than crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="burstd: %(message)s")
    logging.getLogger("burstd").setLevel(logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING)
    try:
        if args.command == "scan":
            return cmd_scan(args, parser)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "status":
            return cmd_status(args)
        if args.command == "config":
            return cmd_config_show(args)
        if args.command == "undo":
            return cmd_undo(args)
        if args.command == "install-service":
            return cmd_install_service(args)
    except BrokenPipeError:  # `burstd scan ... | head`: the reader left, nothing more to say
        sys.stderr.close()
        return EXIT_OK
    parser.error(f"unknown command {args.command}")  # pragma: no cover - argparse catches it first
    return EXIT_USAGE


def cmd_report(args: argparse.Namespace) -> int:
    from burstd.report.page import write_report

    if not args.directory.is_dir():
        print(f"burstd report: {args.directory} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    out = args.output or args.directory / "burstd-report.html"
    settings = replace(_folder_scan_settings(args.directory), recursive=args.recursive)
    try:
        with Cache.open(args.cache) as cache:
            summary = write_report(args.directory, out, cache, settings)
    except BurstdError as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the page or its folder could not be written
        print(f"burstd report: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    for problem in summary.problems:
        print(f"burstd: {problem.path}: {problem.reason}", file=sys.stderr)
    print(
        f"{out}: {summary.bursts} bursts, {summary.singletons} single shots, {summary.written} sidecars written, "
        f"{summary.manual} manual kept, {len(summary.problems)} errors; "
        f"{summary.pictures_made} pictures made, {summary.pictures_reused} reused"
    )
    return EXIT_FAILURES if summary.failed else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from burstd.daemon import lifecycle as daemon
    from burstd.daemon import systemd as service

    service.setup_logging(verbose=args.verbose)
    if args.config is not None and not args.config.is_file():
        print(f"burstd: {args.config}: no such configuration file", file=sys.stderr)
        return EXIT_USAGE
    try:
        return daemon.run(args.config, args.cache)
    except ConfigError as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BurstdError as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_FAILURES


def cmd_status(args: argparse.Namespace) -> int:
    from burstd import status

    info = status.gather(args.cache or _configured_cache(args.config), darktable=_darktable_state(args.config))
    if args.json:
        json.dump(info, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        print(status.render(info))
    return status.exit_code(info)


def cmd_config_show(args: argparse.Namespace) -> int:
    from burstd.config.files import describe, folder_settings, load_global

    try:
        settings, provenance = folder_settings(args.directory, load_global(args.config))
    except ConfigError as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(describe(settings, provenance))
    return EXIT_OK


def cmd_undo(args: argparse.Namespace) -> int:
    from burstd.undo.apply import FAILED, undo

    if args.directory is None and args.session is None and not args.list:
        print("burstd undo: name a folder (DIR) or a session (--session ID)", file=sys.stderr)
        return EXIT_USAGE
    if args.directory is not None and not args.directory.is_dir():
        print(f"burstd undo: {args.directory} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        with Cache.open(args.cache or _configured_cache(None)) as cache:
            if args.list:
                sessions = cache.journal_sessions(args.directory)
                if args.json:
                    json.dump({"sessions": sessions}, sys.stdout, indent=1)
                    sys.stdout.write("\n")
                else:
                    print(_render_sessions(sessions))
                return EXIT_OK
            if args.session is not None and not cache.session_exists(args.session):
                print(f"burstd undo: there is no session {args.session} (burstd undo --list shows them)", file=sys.stderr)
                return EXIT_USAGE
            report = undo(cache, folder=args.directory, session=args.session, dry_run=args.dry_run)
    except BurstdError as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    counts = Counter(o.action for o in report.outcomes)
    if args.json:
        json.dump(
            {
                "dry_run": report.dry_run,
                "sidecars": [
                    {"path": str(o.path), "action": o.action, "sessions": list(o.sessions), "reason": o.reason}
                    for o in report.outcomes
                ],
                "summary": dict(counts),
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        would = "would be " if report.dry_run else ""
        for o in report.outcomes:
            if o.action not in ("unchanged", FAILED):
                print(f"{would}{o.action:<8} {o.path}" + (f": {o.reason}" if o.reason else ""))
        prefix = "dry run, nothing changed: " if report.dry_run else ""
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        print(f"{prefix}sidecars: {summary}" if summary else "nothing to undo")
    for o in report.outcomes:
        if o.action == FAILED:
            print(f"burstd: {o.path}: {o.reason}", file=sys.stderr)
    return EXIT_FAILURES if report.failed else EXIT_OK


def _render_sessions(sessions: list[dict]) -> str:
    if not sessions:
        return "no sidecar changes recorded"
    lines = []
    for s in sessions:
        when = datetime.fromtimestamp(s["ended"]).strftime("%Y-%m-%d %H:%M:%S")
        state = " (unfinished)" if s["open"] else ""
        lines.append(
            f"session {s['id']:<4} {s['kind']:<6} {when}  {s['folder']}{state}: "
            f"{s['writes']} sidecar writes, {s['undoable']} still to undo"
        )
    return "\n".join(lines)


def cmd_install_service(args: argparse.Namespace) -> int:
    from burstd.daemon.systemd import ServiceError, install_service

    try:
        for line in install_service(enable=not args.no_enable):
            print(line)
    except (ServiceError, OSError) as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def _folder_scan_settings(folder: Path) -> ScanSettings:
    """The grouping settings the daemon would use for `folder` (global config and .burstd.toml
    files), so the page shows the bursts that were rated; the defaults when there is no valid config."""
    from burstd.config.files import folder_settings, load_global

    try:
        return folder_settings(folder, load_global())[0].scan
    except ConfigError:
        return ScanSettings()


def _darktable_state(config_path: Path | None):  # -> darktable_lock.DarktableState
    from burstd.darktable import lock as darktable_lock
    from burstd.config.files import load_global

    try:
        config = load_global(config_path)
    except ConfigError:
        return darktable_lock.inspect(darktable_lock.default_config_dir())
    return darktable_lock.inspect(config.darktable_config or darktable_lock.default_config_dir(), config.roots)


def _configured_cache(config_path: Path | None) -> Path:
    from burstd.store.cache import default_cache_path
    from burstd.config.files import load_global

    try:
        return load_global(config_path).cache or default_cache_path()
    except ConfigError:
        return default_cache_path()


def settings_from_args(args: argparse.Namespace) -> tuple[ScanSettings, list[str]]:
    """Settings from the command line, and every problem with them (not only the first)."""
    problems = []
    if not 1 <= args.max_rank <= 5:
        problems.append(f"--max_rank must be 1 to 5, not {args.max_rank}")
    if args.diff is not None and not 0.0 < args.diff <= 1.0:
        problems.append(f"--diff must be a similarity above 0 and at most 1, not {args.diff}")
    if args.singleton_rating is not None and not -1 <= args.singleton_rating <= 5:
        problems.append(f"--singleton-rating must be -1 to 5, not {args.singleton_rating}")
    if args.reject_below is not None and not 0.0 < args.reject_below < 1.0:
        problems.append(f"--reject-below must be between 0 and 1, not {args.reject_below}")
    if args.max_gap <= 0:
        problems.append(f"--max-gap must be positive, not {args.max_gap}")
    if args.workers < 0:
        problems.append(f"--workers must be 0 (one per core) or more, not {args.workers}")
    settings = ScanSettings(
        method="features" if args.features else "hash",
        threshold=args.diff,
        max_gap=args.max_gap,
        max_rank=args.max_rank,
        scheme=args.scheme,
        singleton_rating=args.singleton_rating,
        reject_below=args.reject_below,
        exclude=args.exclude,
        force=args.force,
        recursive=args.recursive,
        dry_run=args.dry_run,
        workers=args.workers,
        tags=args.tags,
        pick_label=args.pick_label,
        digikam_pick_labels=args.digikam_pick_labels,
        sidecar_style=args.sidecar_style,
    )
    return settings, problems


def cmd_scan(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from burstd.pipeline import scan_folder

    settings, problems = settings_from_args(args)
    if not args.directory.is_dir():
        problems.append(f"{args.directory} is not a folder")
    if problems:
        print("burstd scan: " + "; ".join(problems), file=sys.stderr)
        return EXIT_USAGE
    progress = _terminal_progress if sys.stderr.isatty() else None
    try:
        with Cache.open(args.cache) as cache:
            report = scan_folder(args.directory, settings, cache, progress)
    except BurstdError as exc:
        print(f"burstd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    if args.json:
        json.dump(report_json(report, settings), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_report(report, settings, verbose=args.verbose or args.dry_run, out=sys.stdout)
    for problem in report.problems:
        print(f"burstd: {problem.path}: {problem.reason}", file=sys.stderr)
    for image, outcomes in report.sidecars.items():
        for o in outcomes:
            if o.action == SidecarAction.FAILED:
                print(f"burstd: {o.path}: {o.reason}", file=sys.stderr)
    return EXIT_FAILURES if report.failed else EXIT_OK


def report_json(report: ScanReport, settings: ScanSettings) -> dict:
    bursts = []
    for rated in report.bursts:
        shots = rated.burst.shots
        bursts.append(
            {
                "id": rated.burst.id,
                "body": shots[0].analysis.body,
                "size": len(shots),
                "members": [
                    {
                        "path": str(m.shot.primary),
                        "files": [str(f) for f in m.shot.files],
                        "rank": m.rank,
                        "rating": m.rating,
                        "score": round(m.score, 4),
                        "capture_time": _iso(m.shot.analysis.capture_time),
                        "time_source": m.shot.analysis.time_source.value,
                        "source": m.shot.analysis.source,
                        "sidecars": [
                            {"path": str(o.path), "image": str(f), "action": o.action.value, "reason": o.reason}
                            for f in m.shot.files
                            for o in report.sidecars.get(f, [])
                        ],
                    }
                    for m in rated.members
                ],
            }
        )
    return {
        "directory": str(report.root),
        "settings": {
            "method": settings.method, "threshold": settings.threshold, "max_gap": settings.max_gap,
            "max_rank": settings.max_rank, "scheme": settings.scheme, "exclude": settings.exclude,
            "force": settings.force, "dry_run": settings.dry_run, "recursive": settings.recursive,
            "tags": settings.tags, "pick_label": settings.pick_label,
            "digikam_pick_labels": settings.digikam_pick_labels, "sidecar_style": settings.sidecar_style,
        },
        "bursts": bursts,
        "errors": [{"path": str(p.path), "reason": p.reason} for p in report.problems]
        + [
            {"path": str(o.path), "reason": o.reason}
            for outcomes in report.sidecars.values()
            for o in outcomes
            if o.action == SidecarAction.FAILED
        ],
        "summary": {
            "files": report.files,
            "shots": sum(len(b.members) for b in report.bursts),
            "bursts": len(report.bursts),
            "singletons": sum(1 for b in report.bursts if len(b.members) == 1),
            "analysed": report.analysed,
            "cached": report.cached,
            "failed": len(report.problems),
            "sidecars": dict(Counter(o.action.value for outs in report.sidecars.values() for o in outs)),
            "seconds": round(report.seconds, 3),
        },
    }


def print_report(report: ScanReport, settings: ScanSettings, *, verbose: bool, out: TextIO) -> None:
    if verbose:
        for rated in report.bursts:
            size = len(rated.members)
            title = "single shot" if size == 1 else f"burst of {size}"
            print(f"{rated.burst.id}: {title}", file=out)
            for m in rated.members:
                stars = "rejected" if m.rating < 0 else ("*" * m.rating or "0 stars")
                actions = ", ".join(
                    f"{o.action.value}" + (f" ({o.reason})" if o.reason else "")
                    for f in m.shot.files
                    for o in report.sidecars.get(f, [])
                )
                names = " + ".join(f.name for f in m.shot.files)
                print(f"  {m.rank:>3}. {stars:<8} {m.score:5.2f}  {names}  [{actions}]", file=out)
    counts = Counter(o.action for outs in report.sidecars.values() for o in outs)
    shots = sum(len(b.members) for b in report.bursts)
    bursts = sum(1 for b in report.bursts if len(b.members) > 1)
    singles = len(report.bursts) - bursts
    written = ", ".join(f"{n} {action.value}" for action, n in sorted(counts.items())) or "none"
    prefix = "dry run, nothing written: " if settings.dry_run else ""
    print(
        f"{prefix}{report.files} files, {shots} shots in {bursts} bursts and {singles} single shots; "
        f"sidecars: {written}; {report.analysed} analysed, {report.cached} from cache, "
        f"{len(report.problems)} failed; {report.seconds:.1f} s",
        file=out,
    )


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds")


def _terminal_progress(stage: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{stage:<8} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
