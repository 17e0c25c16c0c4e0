"""`burstd undo`: its options, the command that puts sidecars back, and its output (--list, --json)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from burstd.cli.options import CONFIGURED_CACHE, add_cache, add_command, add_json, configured_cache, print_json
from burstd.exit_codes import ExitCode
from burstd.store import Store
from burstd.wording import counted

if TYPE_CHECKING:  # it loads the sidecar writer (exiv2): imported when the command runs
    from burstd.undo.apply import UndoReport


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "undo", cmd_undo, help="put back the sidecars burstd changed, as they were before")
    parser.add_argument("directory", metavar="DIR", type=Path, nargs="?", help="the folder whose sidecars to put back (and below)")
    parser.add_argument("--session", type=int, metavar="ID", help="undo only this session (see --list); with DIR, only its sidecars under DIR")
    parser.add_argument("--list", action="store_true", help="list the sessions with changes to sidecars (under DIR), newest first; change nothing")
    parser.add_argument("--dry-run", action="store_true", help="show what would be restored, removed and kept; change nothing")
    add_json(parser)
    add_cache(parser, CONFIGURED_CACHE)


def cmd_undo(args: argparse.Namespace) -> int:
    """Restore every sidecar burstd changed under DIR (any depth; or in session ID) to its exact
    previous bytes and remove the ones it created, newest change first, unless you changed them
    since: those are kept and listed. The previous bytes come from the database.
    Example: burstd undo ~/Pictures/2026-11-24 --dry-run"""
    from burstd.undo.apply import undo

    if problem := usage_problem(args):
        print(f"burstd undo: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    with Store.open(args.cache or configured_cache(None)) as store:
        if args.list:
            sessions = store.sessions.journaled(args.directory)
            if args.json:
                print_json({"sessions": sessions})
            else:
                print(render_sessions(sessions))
            return ExitCode.OK
        if args.session is not None and not store.sessions.exists(args.session):
            print(f"burstd undo: there is no session {args.session} (burstd undo --list shows them)", file=sys.stderr)
            return ExitCode.USAGE
        report = undo(store, folder=args.directory, session=args.session, dry_run=args.dry_run)
    print_undo(report, as_json=args.json)
    return ExitCode.FAILED if report.failed else ExitCode.OK


def usage_problem(args: argparse.Namespace) -> str | None:
    if args.directory is None and args.session is None and not args.list:
        return "name a folder (DIR) or a session (--session ID)"
    if args.directory is not None and not args.directory.is_dir():
        return f"{args.directory} is not a folder"
    return None


def print_undo(report: UndoReport, *, as_json: bool) -> None:
    """The outcome on stdout (as text or JSON), and each sidecar that could not be put back on stderr."""
    from burstd.undo.apply import FAILED

    if as_json:
        print_json(undo_json(report))
    else:
        print(render_undo(report))
    for o in report.outcomes:
        if o.action == FAILED:
            print(f"burstd: {o.path}: {o.reason}", file=sys.stderr)


def undo_json(report: UndoReport) -> dict:
    """`--json`: every sidecar's outcome, and the counts."""
    return {
        "dry_run": report.dry_run,
        "sidecars": [
            {"path": str(o.path), "action": o.action, "sessions": list(o.sessions), "reason": o.reason}
            for o in report.outcomes
        ],
        "summary": dict(Counter(o.action for o in report.outcomes)),
    }


# What a dry run says of each outcome instead: what would happen, not what did.
WOULD = {"restored": "would restore", "removed": "would remove", "kept": "would keep"}


def render_undo(report: UndoReport) -> str:
    """One line per sidecar restored, removed or kept (failures go to stderr), then the counts; a dry
    run says what it would do."""
    from burstd.undo.apply import FAILED

    def verb(action: str) -> str:
        return WOULD.get(action, action) if report.dry_run else action

    width = 13 if report.dry_run else 8
    lines = [
        f"{verb(o.action):<{width}} {o.path}" + (f": {o.reason}" if o.reason else "")
        for o in report.outcomes
        if o.action not in ("unchanged", FAILED)
    ]
    prefix = "dry run, nothing changed: " if report.dry_run else ""
    counts = Counter(o.action for o in report.outcomes)
    summary = ", ".join(f"{verb(action)} {n}" if report.dry_run and action in WOULD else f"{n} {action}"
                        for action, n in sorted(counts.items()))
    lines.append(f"{prefix}sidecars: {summary}" if summary else "nothing to undo")
    return "\n".join(lines)


def render_sessions(sessions: list[dict]) -> str:
    """`--list`: one line per session that changed sidecars, newest first."""
    if not sessions:
        return "no sidecar changes recorded"
    lines = []
    for s in sessions:
        when = datetime.fromtimestamp(s["ended"]).strftime("%Y-%m-%d %H:%M:%S")
        state = " (unfinished)" if s["open"] else ""
        lines.append(
            f"session {s['id']:<4} {s['kind']:<6} {when}  {s['folder']}{state}: "
            f"{counted(s['writes'], 'sidecar write')}, {s['undoable']} still to undo"
        )
    return "\n".join(lines)
