"""`burstd scan`: its options, the command, and its output (the summary, -v's listing, --json, and
the one line of a scan stopped by Ctrl-C or SIGTERM).

Every option that sets a configuration key is read by the configuration's own rules
(`config.rules.validate_given`), so the command line and `.burstd.toml` accept the same values and
say the same thing about a wrong one; the options given win over the configuration files, read as
the daemon reads them (`options.configured_scan_settings`). The pipeline (OpenCV, rawpy, exiv2) is
imported only when the command runs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from burstd.cli.interrupt import StopRequest, stop_on_signals
from burstd.cli.options import (
    SettingOptions,
    add_cache,
    add_command,
    add_config_files,
    add_json,
    add_verbose,
    choices,
    configured_scan_settings,
    missing_config,
    only_in_sub_folders,
    print_json,
)
from burstd.config.rules import validate_given
from burstd.exit_codes import ExitCode
from burstd.models import (
    Colour, Method, RatedShot, ScanSettings, Scheme, SetPolicy, SidecarAction, SidecarOutcome, SidecarStyle,
)
from burstd.store import Store
from burstd.wording import KIND_WORDS, counted, failure_lines, pick_why, problems_phrase

if TYPE_CHECKING:  # the pipeline loads OpenCV, rawpy and exiv2: imported by cmd_scan only
    from burstd.pipeline import ScanReport


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "scan", cmd_scan, help="group, rank and rate the images of one folder")
    parser.add_argument("directory", metavar="DIR", type=Path, help="the folder to rate (with -r, its sub-folders too)")
    setting = SettingOptions(parser)
    setting.add("-f", "--feature_matching", "--feature-matching", key="method", action="store_const",
                const=Method.FEATURES, help="group by ORB feature matching instead of perceptual hashes")
    setting.add("-e", "--exclude", action="store_true", help="leave images that already have a sidecar alone")
    setting.add("-d", "--diff", key="threshold", metavar="FLOAT",
                help="minimum similarity (0-1) for a shot to join a burst; default: learnt from the folder")
    setting.add("-m", "--max_rank", "--max-rank", key="max_rank", metavar="INT",
                help="stars for the sharpest frame of a burst, 1-5 (default 3)")
    add_verbose(parser, "list every burst and every sidecar decision")
    setting.add("-r", "--recursive", action="store_true",
                help="also scan sub-folders (each folder on its own, with its own .burstd.toml)")
    setting.add("--dry-run", action="store_true", help="print bursts and planned ratings, write nothing")
    add_json(parser)
    setting.add("--force", action="store_true", help="also overwrite ratings set by hand")
    setting.add("--scheme", choices=choices(Scheme), help="how ranks become stars (default tiers)")
    setting.add("--max-gap", metavar="SECONDS",
                help=f"a pause longer than this always ends a burst (default {ScanSettings().max_gap:g})")
    setting.add("--singleton-rating", metavar="INT", help="stars for a shot that is not part of a burst (default: max rank)")
    setting.add("--reject-below", metavar="FRACTION",
                help="reject (rating -1) frames scoring below this fraction of their burst's best, e.g. 0.3")
    setting.add("--sets", choices=choices(SetPolicy),
                help="exposure brackets, focus stacks and panoramas: keep every frame alike (keep, the default) "
                "or rank them like bursts (rank)")
    setting.add("--set-rating", metavar="N", help="stars for every frame of a set kept whole, 0-5 (default: max rank)")
    setting.add("--reject-closed-eyes", action="store_true",
                help="reject (rating -1) frames of a burst where someone's eyes are closed, while a frame "
                "with every eye open exists")
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
    add_config_files(parser)
    add_cache(parser)


def cmd_scan(args: argparse.Namespace) -> int:
    """Group the images of DIR into bursts, rank each burst by sharpness and write darktable sidecars
    (IMG_0001.CR2.xmp) with the ratings. Settings come from the configuration files, as the daemon
    reads them: the global config.toml, then every .burstd.toml from the filesystem's top (or the
    watched root holding DIR) down to each folder; the options given here win. Ctrl-C stops within
    a second, keeps every analysis finished and says what was done (exit 130; SIGTERM: 143).
    Example: burstd scan ~/Pictures/2026-11-24 -m 5"""
    with stop_on_signals("scan") as stop:  # from the start: a Ctrl-C while OpenCV loads is no traceback
        return _scan(args, stop)


def _scan(args: argparse.Namespace, stop: StopRequest) -> int:
    from burstd.pipeline import scan_folder

    given, problems = validate_given(SettingOptions.given(args), args.setting_flags)
    if not args.directory.is_dir():
        problems.append(f"{args.directory} is not a folder")
    elif not given.get("recursive") and (hint := only_in_sub_folders(args.directory, "scan")):
        problems.append(hint)
    if missing := missing_config(args):
        problems.append(missing)
    if problems:
        print("burstd scan: " + "; ".join(problems), file=sys.stderr)
        return ExitCode.USAGE
    settings_in = configured_scan_settings(args, given)
    settings = settings_in(args.directory)
    progress = _terminal_progress if sys.stderr.isatty() else None
    try:
        with Store.open(args.cache) as store:
            report = scan_folder(args.directory, settings, store, progress,
                                 settings_in=settings_in if settings.recursive else None, stop=stop)
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    if report.stopped:
        print(interrupted_line(report, stop, args.directory), file=sys.stderr)
        return stop.exit_code
    if args.json:
        print_json(report_json(report, settings))
    else:
        print_report(report, settings, verbose=args.verbose or settings.dry_run, out=sys.stdout)
    for path, reason in failure_lines(report.problems, report.failed_outcomes()):
        print(f"burstd: {path}: {reason}", file=sys.stderr)
    return ExitCode.FAILED if report.failed else ExitCode.OK


def interrupted_line(report: ScanReport, stop: StopRequest, directory: Path) -> str:
    """The one line a stopped scan prints: what was done and kept, and how to finish or undo it."""
    analysed = report.files - report.counts.left
    actions = Counter(o.action for outs in report.sidecars.values() for o in outs)
    written = actions[SidecarAction.CREATED] + actions[SidecarAction.UPDATED]
    line = (f"burstd scan: interrupted by {stop.name}: {analysed} of {report.files} files analysed and kept, "
            f"{written} {'sidecar' if written == 1 else 'sidecars'} written; run the same command again to finish")
    if written:
        line += f", or `burstd undo {shlex.quote(str(directory))}` to take back what was written"
    return line


def report_json(report: ScanReport, settings: ScanSettings) -> dict:
    """`--json`: the settings, every group (burst or single shot) with its members and sidecar
    decisions, every error (each file, unfolded), the counts."""
    from burstd.ranking import NOISE_MARGIN, kept_whole  # ranking measures with OpenCV: loaded by a scan only

    groups = report.groups
    failed_sidecars = report.failed_outcomes()
    return {
        "directory": str(report.root),
        "settings": {
            "method": settings.method, "threshold": settings.threshold, "max_gap": settings.max_gap,
            "max_rank": settings.max_rank, "scheme": settings.scheme, "exclude": settings.exclude,
            "force": settings.force, "dry_run": settings.dry_run, "recursive": settings.recursive,
            "tags": settings.tags, "pick_label": settings.pick_label,
            "digikam_pick_labels": settings.digikam_pick_labels, "sidecar_style": settings.sidecar_style,
            "sets": settings.sets, "set_rating": settings.set_rating,
            "reject_closed_eyes": settings.reject_closed_eyes,
        },
        "groups": [
            {
                "id": rated.burst.id,
                "kind": rated.burst.kind.value if len(rated.members) > 1 else "single_shot",
                "kept_whole": kept_whole(rated.burst, settings.sets),
                "body": rated.burst.shots[0].analysis.body,
                "size": len(rated.burst.shots),
                "noise_margin": NOISE_MARGIN,
                "pick_reason": rated.pick_reason.value,
                "why": pick_why(rated),
                "members": [_member_json(m, report) for m in rated.members],
            }
            for rated in report.bursts
        ],
        "errors": [{"path": str(p.path), "reason": p.reason} for p in [*report.problems, *failed_sidecars]],
        "summary": {
            "files": report.files,
            "images": report.images,
            "shots": groups.shots,
            "groups": groups.groups,
            "bursts": groups.bursts,
            "single_shots": groups.single_shots,
            "brackets": groups.brackets,
            "focus_stacks": groups.focus_stacks,
            "panoramas": groups.panoramas,
            "analysed": report.analysed,
            "cached": report.cached,
            "unreadable": len(report.problems),
            "sidecars": dict(Counter(o.action.value for outs in report.sidecars.values() for o in outs)),
            "seconds": round(report.seconds, 3),
        },
    }


def _member_json(m: RatedShot, report: ScanReport) -> dict:
    moment = m.shot.analysis.known_time
    return {
        "path": str(m.shot.primary),
        "files": [str(f) for f in m.shot.files],
        "rank": m.rank,
        "rating": m.rating,
        "score": round(m.score, 4),
        "indistinguishable_from_pick": m.indistinguishable_from_pick,
        "tied_to_rank": m.tied_to,
        "capture_time": None if moment is None else datetime.fromtimestamp(moment, tz=timezone.utc).isoformat(
            timespec="milliseconds"
        ),
        "time_source": "unknown" if moment is None else m.shot.analysis.time_source.value,
        "source": m.shot.analysis.source,
        "faces": [{"box": list(f.box), "eyes": f.eyes.value,
                   "openness": None if f.openness is None else round(f.openness, 4)} for f in m.faces],
        "eyes_closed": m.eyes_closed,
        "sharpness_region": {"kind": m.region.kind.value, "box": _pixel_box(m)},
        "sidecars": [
            {"path": str(o.path), "image": str(f), "action": o.action.value, "reason": o.reason}
            for f in m.shot.files
            for o in report.sidecars.get(f, [])
        ],
    }


def _pixel_box(m: RatedShot) -> list[int] | None:
    """The region a frame's sharpness was measured on as [x, y, w, h] in the image's stored pixels,
    like its faces; None when the image's size is unknown."""
    a = m.shot.analysis
    if m.region.box is None or a.width <= 0 or a.height <= 0:
        return None
    left, top, right, bottom = m.region.box
    x, y = round(left * a.width), round(top * a.height)
    return [x, y, round(right * a.width) - x, round(bottom * a.height) - y]


def print_report(report: ScanReport, settings: ScanSettings, *, verbose: bool, out: TextIO) -> None:
    """The one-line summary; with `verbose` (-v, --dry-run), every group and sidecar decision before it."""
    if verbose:
        _print_groups(report, out)
    counts = Counter(o.action for outs in report.sidecars.values() for o in outs)
    not_written = counts.pop(SidecarAction.FAILED, 0)
    sidecars = ", ".join(f"{n} {action.value}" for action, n in sorted(counts.items())) or "none"
    files = counted(report.images, "image")
    if report.files != report.images:  # other files (a video, notes, unreadable ones) were found too
        files = f"{counted(report.files, 'file')}, {files}"
    prefix = "dry run, nothing written: " if settings.dry_run else ""
    print(
        f"{prefix}{files}: {report.groups}; sidecars: {sidecars}; "
        f"{report.analysed} analysed, {report.cached} from cache; "
        f"{problems_phrase(len(report.problems), not_written)}; {report.seconds:.1f} s",
        file=out,
    )


def _print_groups(report: ScanReport, out: TextIO) -> None:
    for rated in report.bursts:
        size = len(rated.members)
        kind = KIND_WORDS[rated.burst.kind]
        print(f"{rated.burst.id}: {'single shot' if size == 1 else f'{kind} of {size}, {pick_why(rated)}'}", file=out)
        for m in rated.members:
            outcomes = [o for f in m.shot.files for o in report.sidecars.get(f, [])]
            kept = next((o for o in outcomes if o.action is SidecarAction.KEPT_MANUAL and o.previous_rating is not None), None)
            # A rating the photographer set stays: show theirs, which is what their editor shows.
            stars = _stars(m.rating) if kept is None else f"{_stars(kept.previous_rating)} (kept)"
            actions = ", ".join(_decision(o, m.rating) for o in outcomes)
            names = " + ".join(f.name for f in m.shot.files)
            eyes = "  eyes closed" if m.eyes_closed else ""
            print(f"  {m.rank:>3}. {stars:<12} {m.score:5.2f}  {names}{eyes}  [{actions}]", file=out)


def _stars(rating: int) -> str:
    return "rejected" if rating < 0 else ("*" * rating or "0 stars")


def _decision(o: SidecarOutcome, rating: int) -> str:
    """One sidecar's decision for -v: a kept rating also says what burstd's would have been."""
    notes = [o.reason] if o.reason else []
    if o.action is SidecarAction.KEPT_MANUAL:
        notes.append(f"burstd's rating would be {_stars(rating)}")
    return o.action.value + (f" ({'; '.join(notes)})" if notes else "")


def _terminal_progress(stage: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{stage:<8} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
