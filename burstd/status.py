"""`burstd status`: what the daemon is doing, read from the database; it never waits on the daemon.

Running means: the daemon's row is there, its process is alive and its heartbeat is recent. Exit
codes follow `systemctl is-active`: 0 running and healthy, 3 not running, 1 running but reporting
problems (no roots, a root missing, an invalid folder configuration, or file errors it met in the last
hour). Errors a daemon met before its last start are history: what is still wrong is met again, but for
the files that cannot be read, which are listed apart and are not retried until they change.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from burstd.config.files import no_roots_advice
from burstd.darktable.lock import ADVICE, DarktableState, process_alive
from burstd.darktable.plugin import PluginState
from burstd.errors import CacheError
from burstd.exit_codes import ExitCode
from burstd.store import Store
from burstd.wording import counted, session_summary

STALE_AFTER = 60.0  # seconds without a heartbeat after which the daemon counts as gone
RECENT_ERRORS = 3600.0  # errors this recent make a running daemon unhealthy


def gather(
    cache_path: Path, now: float | None = None, darktable: DarktableState | None = None, plugin: PluginState | None = None
) -> dict:
    """Everything `burstd status` shows, as plain data (also its --json)."""
    now = time.time() if now is None else now
    info: dict = {"database": str(cache_path), "running": False, "daemon": None, "sessions": [], "errors": [],
                  "unreadable": [], "warnings": _darktable_warnings(darktable),
                  "darktable_plugin": None if plugin is None else plugin.as_json() | {"summary": plugin.describe()}}
    if not cache_path.exists():
        info["problems"] = []
        return info
    try:
        with Store.open_readonly(cache_path) as store:
            daemon = store.log.daemon()
            info["sessions"] = store.sessions.recent(10)
            info["errors"] = store.log.recent_errors(20)
            info["unreadable"] = store.failures.listing(20)
    except CacheError as exc:
        # A database being created or upgraded right now, or unreadable: not running, as far as
        # anyone can tell, and the reason is shown (also in --json, which scripts parse).
        info["problems"] = [str(exc)]
        return info
    if daemon is not None:
        alive = process_alive(daemon["pid"]) and now - daemon["heartbeat"] < STALE_AFTER
        info["running"] = alive
        info["daemon"] = daemon | {"uptime": now - daemon["started"], "since_heartbeat": now - daemon["heartbeat"]}
        for session in daemon["state"].get("open_folders", []):
            session["settles_in"] = max(0.0, session["settles_at"] - now)
    problems: list[str] = []
    if info["running"]:
        state = daemon["state"]
        if not state.get("roots") and state.get("config"):
            problems.append(no_roots_advice(Path(state["config"])))
        problems += [f"root missing: {r}" for r in state.get("missing_roots", [])]
        problems += [f"invalid configuration in {f}: {'; '.join(p)}" for f, p in state.get("folder_problems", {}).items()]
        since = max(now - RECENT_ERRORS, daemon["started"])
        recent = [e for e in info["errors"] if e["at"] >= since]
        if recent:
            problems.append(f"{counted(len(recent), 'file error')} in the last hour")
    info["problems"] = problems
    return info


def _darktable_warnings(darktable: DarktableState | None) -> list[str]:
    """A darktable holding its library lock is not a problem of burstd's, but the user must know."""
    if darktable is None or darktable.pid is None:
        return []
    where = f"{darktable.config_dir / 'library.db.lock'}, pid {darktable.pid}"
    imported = ""
    if darktable.imported:
        shown = ", ".join(darktable.imported[:3]) + (" ..." if len(darktable.imported) > 3 else "")
        imported = f"; its library already has {counted(len(darktable.imported), 'watched folder')}: {shown}"
    return [f"darktable is open ({where}){imported}: {ADVICE}"]


def exit_code(info: dict) -> ExitCode:
    if not info["running"]:
        return ExitCode.NOT_RUNNING
    return ExitCode.FAILED if info["problems"] else ExitCode.OK


def render(info: dict) -> str:
    lines = []
    daemon = info["daemon"]
    if info["running"]:
        state = daemon["state"]
        lines.append(
            f"burstd is running (pid {daemon['pid']}, up {_duration(daemon['uptime'])}, "
            f"last heartbeat {daemon['since_heartbeat']:.0f} s ago)"
        )
        lines.append("watched roots:")
        for root in state.get("roots", []):
            flag = " (missing)" if root in state.get("missing_roots", []) else (
                " (polled)" if root in state.get("polled_roots", []) else "")
            lines.append(f"  {root}{flag}")
        lines.append(f"files arriving: {state.get('waiting', 0)}, being analysed: {state.get('analysing', 0)}")
        if state.get("current"):
            lines.append(f"settling now: {state['current']}")
        for s in state.get("open_folders", []):
            # The quiet period runs from the last file; a session also waits for its analyses.
            earliest = "" if s["analysed"] == s["files"] else " at the earliest, once all are analysed"
            lines.append(f"session open: {s['folder']}: {s['files']} files arrived, {s['analysed']} analysed; "
                         f"settles in {s['settles_in']:.0f} s{earliest}")
        for folder, page in state.get("reports", {}).items():
            lines.append(f"review page: {page}")
    elif daemon is not None:
        lines.append(f"burstd is not running (last heard of {_ago(daemon['since_heartbeat'])}, pid {daemon['pid']})")
    else:
        lines.append("burstd is not running")
    if info["sessions"]:
        lines.append("last sessions:")
        for s in info["sessions"]:
            lines.append(f"  {_when(s['ended'])}  session {s['id']} ({s['kind']})  {s['folder']}: {session_summary(s)}")
    if info["errors"]:
        lines.append("recent errors:")
        for e in info["errors"][:10]:
            lines.append(f"  {_when(e['at'])}  {e['path']}: {e['reason']}")
    if info["unreadable"]:
        lines.append("files burstd cannot read (reported once, left alone until they change):")
        for u in info["unreadable"][:10]:
            lines.append(f"  {_when(u['at'])}  {u['path']}: {u['reason']}")
    if info.get("darktable_plugin"):
        lines.append(f"darktable plugin: {info['darktable_plugin']['summary']}")
    for warning in info.get("warnings", []):
        lines.append(f"warning: {warning}")
    for problem in info["problems"]:
        lines.append(f"problem: {problem}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def _ago(seconds: float) -> str:
    return f"{_duration(seconds)} ago"


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")
