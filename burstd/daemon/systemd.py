"""systemd's side of burstd apart from sd_notify: journal logging, and installing the user unit.

The daemon calls `setup_logging`; the CLI calls `install_service`. Notifications (READY, WATCHDOG...)
are plain datagrams sent by `burstd.daemon.notify`, which needs no library. systemd-python is optional
(the `systemd` extra) and used only for the journal handler, which keeps each record's level as the
journal's PRIORITY; without it a unit's stderr still reaches the journal. No other module imports
`systemd`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    Path(__file__).resolve().parents[2] / "systemd" / UNIT_NAME,  # burstd/daemon/systemd.py -> the tree
    Path(sys.prefix) / "share" / "burstd" / UNIT_NAME,
)
UNIT_TEMPLATE = next((p for p in UNIT_TEMPLATES if p.is_file()), UNIT_TEMPLATES[0])


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


@dataclass(frozen=True, slots=True)
class Installation:
    """What `install_service` did: the lines to show the user, and whether all that was asked (the
    unit written and, unless told not to, enabled and started) was done."""

    lines: tuple[str, ...]
    done: bool


def install_service(
    *,
    unit_dir: Path | None = None,
    enable: bool = True,
    run: Callable[..., subprocess.CompletedProcess[Any]] = subprocess.run,
) -> Installation:
    """Write burstd.service for the current user and (if asked and possible) enable and start it.

    A missing or failing systemctl is not an exception: the unit is written all the same, the lines
    say what failed and give the command to run by hand, and the installation is not `done`.
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
    by_hand = f"systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}"
    if not enable:
        lines.append(f"not enabled; to start it now and at every login: {by_hand}")
        return Installation(tuple(lines), done=True)
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        lines.append(f"systemctl not found, so the service is not enabled; on a systemd system run: {by_hand}")
        return Installation(tuple(lines), done=False)
    for args in (["daemon-reload"], ["enable", "--now", UNIT_NAME]):
        shown = " ".join(["systemctl", "--user", *args])
        try:
            result = run([systemctl, "--user", *args], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            lines.append(f"`{shown}` could not run ({err}); the unit is written, run by hand: {by_hand}")
            return Installation(tuple(lines), done=False)
        if result.returncode != 0:
            why = (result.stderr or result.stdout or "").strip().splitlines()
            lines.append(
                f"`{shown}` failed (exit {result.returncode}: {why[0] if why else 'no message'}); "
                f"the unit is written, run by hand in your login session: {by_hand}"
            )
            return Installation(tuple(lines), done=False)
        lines.append(f"ran `{shown}`")
    lines.append("burstd is running; see `systemctl --user status burstd` and `journalctl --user -u burstd`")
    return Installation(tuple(lines), done=True)


def _write_atomically(path: Path, text: str) -> None:
    # Atomic: systemd (or a daemon-reload racing us) never reads half a unit.
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unit is configuration, not a secret: 0644 like every unit systemd ships, whatever the umask.
    write_atomically(path, text.encode(), mode=0o644)
