"""`burstd scan`: its options, the command, and its output (the summary, -v's listing, --json).

Every option that sets a configuration key is read by the configuration's own rules
(`config.rules.validate_given`), so the command line and `.burstd.toml` accept the same values and
say the same thing about a wrong one. The pipeline (OpenCV, rawpy, exiv2) is imported only when the
command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from burstd.cli.options import (
    SettingOptions, add_cache, add_command, add_json, add_verbose, choices, darktable_dir, print_json,
)
from burstd.config.rules import validate_given
from burstd.darktable.rc import import_rating
from burstd.exit_codes import ExitCode
from burstd.models import Colour, Method, RatedShot, ScanSettings, Scheme, SidecarStyle
from burstd.store import Store

if TYPE_CHECKING:  # the pipeline loads OpenCV, rawpy and exiv2: imported by cmd_scan only
    from burstd.pipeline import ScanReport


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "scan", cmd_scan, help="group, rank and rate the images of one folder")
    parser.add_argument("directory", metavar="DIR", type=Path)
    setting = SettingOptions(parser)
    setting.add("-f", "--feature_matching", "--feature-matching", key="method", action="store_const",
                const=Method.FEATURES, help="group by ORB feature matching instead of perceptual hashes")
    setting.add("-e", "--exclude", action="store_true", help="leave images that already have a sidecar alone")
    setting.add("-d", "--diff", key="threshold", metavar="FLOAT",
                help="minimum similarity (0-1) for a shot to join a burst; default: learnt from the folder")
    setting.add("-m", "--max_rank", "--max-rank", key="max_rank", metavar="INT",
                help="stars for the sharpest frame of a burst, 1-5 (default 3)")
    add_verbose(parser, "list every burst and every sidecar decision")
    setting.add("-r", "--recursive", action="store_true", help="also scan sub-folders (each folder on its own)")
    setting.add("--dry-run", action="store_true", help="print bursts and planned ratings, write nothing")
    add_json(parser)
    setting.add("--force", action="store_true", help="also overwrite ratings set by hand")
    setting.add("--scheme", choices=choices(Scheme), help="how ranks become stars (default tiers)")
    setting.add("--max-gap", metavar="SECONDS",
                help=f"a pause longer than this always ends a burst (default {ScanSettings().max_gap:g})")
    setting.add("--singleton-rating", metavar="INT", help="stars for a shot that is not part of a burst (default: max rank)")
    setting.add("--reject-below", metavar="FRACTION",
                help="reject (rating -1) frames scoring below this fraction of their burst's best, e.g. 0.3")
    setting.add("--no-tags", key="tags", action="store_false",
                help="no burstd|burst|... and burstd|pick keywords (written by default)")
    setting.add("--pick-label", choices=choices(Colour), metavar="COLOUR",
                help="also give each burst's pick this darktable colour label: red, yellow, green, blue or purple")
    setting.add("--digikam-pick-labels", action="store_true",
                help="also set digiKam's pick label: accepted on each burst's pick, rejected on rejects")
    setting.add("--sidecar-style", choices=choices(SidecarStyle),
                help="darktable/digiKam names (IMG_0001.CR2.xmp, the default), lightroom names "
                "(IMG_0001.xmp, also Capture One and Bridge) or both")
    setting.add("--workers", metavar="N", help="decoding threads (default: one per core)")
    add_cache(parser)


def cmd_scan(args: argparse.Namespace) -> int:
    """Group the images of DIR into bursts, rank each burst by sharpness and write darktable sidecars
    (IMG_0001.CR2.xmp) with the ratings. Example: burstd scan ~/Pictures/2026-11-24 -m 5"""
    from burstd.pipeline import scan_folder

    settings, problems = scan_settings(args)
    if not args.directory.is_dir():
        problems.append(f"{args.directory} is not a folder")
    if problems:
        print("burstd scan: " + "; ".join(problems), file=sys.stderr)
        return ExitCode.USAGE
    settings = replace(settings, darktable_rating=import_rating(darktable_dir(None)))
    progress = _terminal_progress if sys.stderr.isatty() else None
    try:
        with Store.open(args.cache) as store:
            report = scan_folder(args.directory, settings, store, progress)
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    if args.json:
        print_json(report_json(report, settings))
    else:
        print_report(report, settings, verbose=args.verbose or settings.dry_run, out=sys.stdout)
    for path, reason in failures(report):
        print(f"burstd: {path}: {reason}", file=sys.stderr)
    return ExitCode.FAILED if report.failed else ExitCode.OK


def scan_settings(args: argparse.Namespace) -> tuple[ScanSettings, list[str]]:
    """The settings the options give (the `ScanSettings` defaults for the others), and every problem."""
    values, problems = validate_given(SettingOptions.given(args), args.setting_flags)
    return ScanSettings(**values), problems  # type: ignore[arg-type]


def failures(report: ScanReport) -> Iterator[tuple[Path, str]]:
    """Every file that could not be analysed and every sidecar that could not be written, with why."""
    yield from ((p.path, p.reason) for p in report.problems)
    yield from ((o.path, o.reason) for o in report.failed_outcomes())


def report_json(report: ScanReport, settings: ScanSettings) -> dict:
    """`--json`: the settings, every burst with its members and sidecar decisions, errors, counts."""
    return {
        "directory": str(report.root),
        "settings": {
            "method": settings.method, "threshold": settings.threshold, "max_gap": settings.max_gap,
            "max_rank": settings.max_rank, "scheme": settings.scheme, "exclude": settings.exclude,
            "force": settings.force, "dry_run": settings.dry_run, "recursive": settings.recursive,
            "tags": settings.tags, "pick_label": settings.pick_label,
            "digikam_pick_labels": settings.digikam_pick_labels, "sidecar_style": settings.sidecar_style,
        },
        "bursts": [
            {
                "id": rated.burst.id,
                "body": rated.burst.shots[0].analysis.body,
                "size": len(rated.burst.shots),
                "members": [_member_json(m, report) for m in rated.members],
            }
            for rated in report.bursts
        ],
        "errors": [{"path": str(path), "reason": reason} for path, reason in failures(report)],
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


def _member_json(m: RatedShot, report: ScanReport) -> dict:
    return {
        "path": str(m.shot.primary),
        "files": [str(f) for f in m.shot.files],
        "rank": m.rank,
        "rating": m.rating,
        "score": round(m.score, 4),
        "capture_time": datetime.fromtimestamp(m.shot.analysis.capture_time, tz=timezone.utc).isoformat(
            timespec="milliseconds"
        ),
        "time_source": m.shot.analysis.time_source.value,
        "source": m.shot.analysis.source,
        "sidecars": [
            {"path": str(o.path), "image": str(f), "action": o.action.value, "reason": o.reason}
            for f in m.shot.files
            for o in report.sidecars.get(f, [])
        ],
    }


def print_report(report: ScanReport, settings: ScanSettings, *, verbose: bool, out: TextIO) -> None:
    """The one-line summary; with `verbose` (-v, --dry-run), every burst and sidecar decision before it."""
    if verbose:
        _print_bursts(report, out)
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


def _print_bursts(report: ScanReport, out: TextIO) -> None:
    for rated in report.bursts:
        size = len(rated.members)
        print(f"{rated.burst.id}: {'single shot' if size == 1 else f'burst of {size}'}", file=out)
        for m in rated.members:
            stars = "rejected" if m.rating < 0 else ("*" * m.rating or "0 stars")
            actions = ", ".join(
                o.action.value + (f" ({o.reason})" if o.reason else "")
                for f in m.shot.files
                for o in report.sidecars.get(f, [])
            )
            names = " + ".join(f.name for f in m.shot.files)
            print(f"  {m.rank:>3}. {stars:<8} {m.score:5.2f}  {names}  [{actions}]", file=out)


def _terminal_progress(stage: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{stage:<8} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
