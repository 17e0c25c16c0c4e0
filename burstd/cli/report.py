"""`burstd report`: its options and the command that writes a folder's HTML review page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burstd.cli.options import (
    add_cache, add_command, add_config_files, configured_scan_settings, missing_config, only_in_sub_folders,
)
from burstd.exit_codes import ExitCode, exit_code_for
from burstd.store import Store
from burstd.wording import counted, failure_lines, kinds_phrase


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "report", cmd_report, help="write an HTML review page of the bursts, picks and scores of one folder"
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="the folder to show (with -r, its sub-folders too)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="the page to write (default DIR/burstd-report.html)")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also include sub-folders (each folder on its own, with its own .burstd.toml)")
    add_config_files(parser)
    add_cache(parser)


def cmd_report(args: argparse.Namespace) -> int:
    """Write a self-contained HTML page (and its thumbnails, in the hidden .FILE-stem_files/ beside it)
    showing every burst of DIR in shooting order, its frames sharpest first, their stars, sharpness
    and sidecar state; click a frame for a 100% crop of the region its score was measured on. Writes
    no sidecar. The bursts are those `burstd scan DIR` finds: the same configuration files, read the
    same way. Example: burstd report ~/Pictures/2026-11-24 -o /tmp/review.html"""
    from burstd.report.page import write_report

    out = args.output or args.directory / "burstd-report.html"
    if problem := usage_problem(args, out):
        print(f"burstd report: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    settings_in = configured_scan_settings(args, {"recursive": args.recursive})
    settings = settings_in(args.directory)
    try:
        with Store.open(args.cache) as store:
            summary = write_report(args.directory, out, store, settings,
                                   settings_in=settings_in if args.recursive else None)
    except OSError as exc:  # the page or its pictures could not be written (a read-only card, a full disk)
        print(f"burstd report: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return exit_code_for(exc)
    for path, reason in failure_lines(summary.problems, summary.failed_sidecars):
        print(f"burstd: {path}: {reason}", file=sys.stderr)
    print(
        f"{out}: {kinds_phrase(summary.bursts, summary.groups.brackets, summary.groups.focus_stacks, summary.groups.panoramas)}, "
        f"{counted(summary.single_shots, 'single shot')}; "
        f"sidecars: {summary.written} written by burstd, {summary.manual} manual kept; {counted(summary.errors, 'error')}; "
        f"{counted(summary.pictures_made, 'picture')} made, {summary.pictures_reused} reused"
    )
    return ExitCode.FAILED if summary.failed else ExitCode.OK



def usage_problem(args: argparse.Namespace, out: Path) -> str | None:
    """Why the command line cannot work as given, or None. The page goes only into a folder that
    exists: a mistyped -o must not create folders (as root, anywhere)."""
    if not args.directory.is_dir():
        return f"{args.directory} is not a folder"
    if missing := missing_config(args):
        return missing
    if out.is_dir():
        return f"{out} is a folder: give -o the page's file name (such as {out / 'burstd-report.html'})"
    if not out.parent.is_dir():
        return f"cannot write {out}: the folder {out.parent} does not exist (create it first, or choose another -o)"
    if not args.recursive:
        return only_in_sub_folders(args.directory, "report")
    return None
