"""`burstd report`: its options and the command that writes a folder's HTML review page."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from burstd.cli.options import add_cache, add_command, darktable_dir
from burstd.darktable.rc import import_rating
from burstd.errors import ConfigError
from burstd.exit_codes import ExitCode, exit_code_for
from burstd.models import ScanSettings
from burstd.store import Store


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "report", cmd_report, help="write an HTML review page of the bursts, picks and scores of one folder"
    )
    parser.add_argument("directory", metavar="DIR", type=Path)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="the page to write (default DIR/burstd-report.html)")
    parser.add_argument("-r", "--recursive", action="store_true", help="also include sub-folders (each folder on its own)")
    add_cache(parser)


def cmd_report(args: argparse.Namespace) -> int:
    """Write a self-contained HTML page (and its thumbnails, in the hidden .FILE-stem_files/ beside it)
    showing every burst of DIR in shooting order, its frames sharpest first, their stars, sharpness
    and sidecar state; click a frame for a 100% crop of the region its score was measured on. Writes
    no sidecar. Example: burstd report ~/Pictures/2026-11-24 -o /tmp/review.html"""
    from burstd.report.page import write_report

    if not args.directory.is_dir():
        print(f"burstd report: {args.directory} is not a folder", file=sys.stderr)
        return ExitCode.USAGE
    out = args.output or args.directory / "burstd-report.html"
    settings = replace(folder_scan_settings(args.directory), recursive=args.recursive)
    try:
        with Store.open(args.cache) as store:
            summary = write_report(args.directory, out, store, settings)
    except OSError as exc:  # the page or its folder could not be written
        print(f"burstd report: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    for problem in summary.problems:
        print(f"burstd: {problem.path}: {problem.reason}", file=sys.stderr)
    print(
        f"{out}: {summary.bursts} bursts, {summary.singletons} single shots, {summary.written} sidecars written, "
        f"{summary.manual} manual kept, {len(summary.problems)} errors; "
        f"{summary.pictures_made} pictures made, {summary.pictures_reused} reused"
    )
    return ExitCode.FAILED if summary.failed else ExitCode.OK


def folder_scan_settings(folder: Path) -> ScanSettings:
    """The grouping settings the daemon would use for `folder` (global config and .burstd.toml
    files), so the page shows the bursts that were rated; the defaults when there is no valid config."""
    from burstd.config.files import folder_settings, load_global

    darktable_rating = import_rating(darktable_dir(None))
    try:
        return replace(folder_settings(folder, load_global())[0].scan, darktable_rating=darktable_rating)
    except ConfigError:
        return ScanSettings(darktable_rating=darktable_rating)
