"""Everything that talks to systemd: sd_notify, journal logging, and installing the user unit.

The daemon calls `Notifier` (READY/STATUS/WATCHDOG/STOPPING) and `setup_logging`; the CLI calls
`install_service`. systemd-python is optional (the `systemd` extra): without it burstd still runs,
logs to stderr and says once that it sends no notifications. No other module imports `systemd`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from burstd.config.files import config_home
from burstd.errors import BurstdError
from burstd.fsio import write_atomically

log = logging.getLogger("burstd")

UNIT_NAME = "burstd.service"
# The unit ships beside the package (borgmatic style: its own folder, every line commented).
# The unit ships in the source tree's systemd/ folder; a wheel installs it (with the config examples)
# under <prefix>/share/burstd (pyproject's data-files).
UNIT_TEMPLATES = (
    Path(__file__).resolve().parents[2] / "systemd" / UNIT_NAME,
    Path(sys.prefix) / "share" / "burstd" / UNIT_NAME,
)
UNIT_TEMPLATE = next((p for p in UNIT_TEMPLATES if p.is_file()), UNIT_TEMPLATES[0])
MISSING_SYSTEMD_PYTHON = (
    "systemd-python is not installed: no systemd notifications (pip install 'burstd[systemd]')"
)

# Process-wide, so a daemon that builds a second Notifier (say after SIGHUP) does not repeat itself.
_warned_missing = False


def _load_notify() -> Callable[[str], bool] | None:
    try:
        from systemd import daemon
    except ImportError:  # also covers a wheel whose libsystemd.so cannot be loaded
        return None
    return daemon.notify


class Notifier:
    """sd_notify through systemd-python (`systemd.daemon.notify`); a no-op without it."""

    def __init__(self) -> None:
        global _warned_missing
        self._notify = _load_notify()
        self._send_failed = False
        # Outside systemd (no NOTIFY_SOCKET) a missing systemd-python changes nothing: stay quiet.
        if self._notify is None and os.environ.get("NOTIFY_SOCKET") and not _warned_missing:
            _warned_missing = True
            log.warning(MISSING_SYSTEMD_PYTHON)

    def ready(self, status: str) -> None:
        """Tell systemd start-up is done (Type=notify waits for this) with a first status line."""
        self._send(f"READY=1\nSTATUS={_one_line(status)}")

    def status(self, text: str) -> None:
        """The one-line summary `systemctl --user status burstd` shows."""
        self._send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> None:
        """The heartbeat WatchdogSec= expects; send it only from a main loop that is really alive."""
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between heartbeats (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), or None."""
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        # WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the
        # environment (a worker, a test subprocess) must not think it is being watched.
        if pid and pid != str(os.getpid()):
            return None
        try:
            value = int(usec)
        except ValueError:
            return None
        return value / 2_000_000 if value > 0 else None

    def _send(self, message: str) -> None:
        if self._notify is None:
            return
        try:
            self._notify(message)
        except OSError as err:
            # systemd's socket went away (or never was): the daemon's work matters more than the
            # notification, so never crash; say it once, then only at debug level.
            level = logging.DEBUG if self._send_failed else logging.WARNING
            self._send_failed = True
            log.log(level, "could not notify systemd (%s): %s", message.split("\n")[0], err)


def _one_line(text: str) -> str:
    # sd_notify messages are newline-separated assignments: a newline would end STATUS= early.
    return " ".join(text.split())


# --- logging ---------------------------------------------------------------------------------------


class _StderrFormatter(logging.Formatter):
    """`burstd: message` for INFO, `burstd: WARNING message` for everything else."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno == logging.INFO:
            return f"burstd: {message}"
        return f"burstd: {record.levelname} {message}"


def _journal_handler() -> logging.Handler | None:
    # Started by systemd: JOURNAL_STREAM is set when stdout/stderr go to the journal, INVOCATION_ID
    # for every unit run. Both are absent in a terminal, where a human reads stderr.
    if not (os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID")):
        return None
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    # Native journal fields keep the level as PRIORITY, so `journalctl -p warning` works.
    return JournalHandler(SYSLOG_IDENTIFIER="burstd")


def setup_logging(verbose: bool = False) -> None:
    """Send logger "burstd" to the journal under systemd, else to stderr; safe to call again."""
    logger = logging.getLogger("burstd")
    for old in [h for h in logger.handlers if getattr(h, "_burstd_service", False)]:
        logger.removeHandler(old)
    handler = _journal_handler()
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_StderrFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(message)s"))
    handler._burstd_service = True  # type: ignore[attr-defined]  # marks ours, for idempotence
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    # A root handler (the CLI's basicConfig) would print every line a second time.
    logger.propagate = False


# --- the unit --------------------------------------------------------------------------------------


class ServiceError(BurstdError):
    """The systemd unit could not be read or installed."""


def unit_text(exec_start: str) -> str:
    """The unit from systemd/burstd.service with its ExecStart= line replaced."""
    try:
        template = UNIT_TEMPLATE.read_text()
    except OSError as err:
        raise ServiceError(f"cannot read the unit template {UNIT_TEMPLATE}: {err.strerror}") from err
    lines = template.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("ExecStart=")]
    if len(starts) != 1:
        raise ServiceError(f"{UNIT_TEMPLATE} must have exactly one ExecStart= line, found {len(starts)}")
    lines[starts[0]] = f"ExecStart={exec_start}\n"
    return "".join(lines)


def exec_command(argv: Sequence[str]) -> str:
    """A command line as systemd parses ExecStart=: quoted words, `%` and `$` escaped."""
    return " ".join(_exec_word(word) for word in argv)


def _exec_word(word: str) -> str:
    # `%` starts a specifier and `$` an environment variable in ExecStart=; a home folder like
    # "/home/Ann Lee" needs quotes. systemd.service(5), "Command lines".
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    needs_quotes = not word or any(c.isspace() or c in "\\\"'" for c in word)
    return f'"{escaped}"' if needs_quotes else escaped


def burstd_command() -> list[str]:
    """The absolute command that runs this installation of burstd."""
    # The script beside the running interpreter belongs to this very installation (a venv need not
    # be on PATH, and PATH may hold another burstd); then PATH; then the interpreter itself.
    beside = Path(sys.executable).parent / "burstd"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [os.path.abspath(beside)]
    found = shutil.which("burstd")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "burstd"]


def default_unit_dir() -> Path:
    return config_home() / "systemd" / "user"


def install_service(
    *,
    unit_dir: Path | None = None,
    enable: bool = True,
    run: Callable[..., subprocess.CompletedProcess[Any]] = subprocess.run,
) -> list[str]:
    """Write burstd.service for the current user and (if asked and possible) enable and start it.

    Returns the lines to show the user; a missing or failing systemctl is one of them, not an error.
    """
    unit_dir = unit_dir or default_unit_dir()
    command = [*burstd_command(), "run"]
    text = unit_text(exec_command(command))
    path = unit_dir / UNIT_NAME
    existed = path.exists()
    try:
        _write_atomically(path, text)
    except OSError as err:
        raise ServiceError(f"cannot write {path}: {err.strerror or err}") from err
    lines = [f"{'replaced' if existed else 'wrote'} {path}", f"  ExecStart={exec_command(command)}"]
    if _load_notify() is None:
        lines.append(
            "warning: systemd-python is not installed: the unit is Type=notify, so systemd will time out "
            "waiting for burstd to report ready (pip install 'burstd[systemd]')"
        )
    by_hand = f"systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}"
    if not enable:
        lines.append(f"not enabled; to start it now and at every login: {by_hand}")
        return lines
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        lines.append(f"systemctl not found, so the service is not enabled; on a systemd system run: {by_hand}")
        return lines
    for args in (["daemon-reload"], ["enable", "--now", UNIT_NAME]):
        shown = " ".join(["systemctl", "--user", *args])
        try:
            result = run([systemctl, "--user", *args], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            lines.append(f"`{shown}` could not run ({err}); the unit is written, run by hand: {by_hand}")
            return lines
        if result.returncode != 0:
            why = (result.stderr or result.stdout or "").strip().splitlines()
            lines.append(
                f"`{shown}` failed (exit {result.returncode}: {why[0] if why else 'no message'}); "
                f"the unit is written, run by hand in your login session: {by_hand}"
            )
            return lines
        lines.append(f"ran `{shown}`")
    lines.append("burstd is running; see `systemctl --user status burstd` and `journalctl --user -u burstd`")
    return lines


def _write_atomically(path: Path, text: str) -> None:
    # Atomic: systemd (or a daemon-reload racing us) never reads half a unit.
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unit is configuration, not a secret: 0644 like every unit systemd ships, whatever the umask.
    write_atomically(path, text.encode(), mode=0o644)
