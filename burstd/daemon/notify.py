"""sd_notify in plain Python: READY, STATUS, WATCHDOG and STOPPING as datagrams on $NOTIFY_SOCKET.

The whole protocol burstd needs from sd_notify(3) is one AF_UNIX datagram of newline-separated
assignments, sent to the socket systemd names in NOTIFY_SOCKET: a path, or an abstract socket when it
starts with "@". systemd credits the datagram to the sending process by its kernel credentials. So a
`Type=notify` unit works on every install, with or without the optional systemd-python (which burstd
keeps for the journal log handler only, in `burstd.daemon.systemd`). Outside systemd (no
NOTIFY_SOCKET) every call is a no-op. Like maestral's `utils/integration.py`, without its timer.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("burstd")


class Notifier:
    """Talks to the service manager that started burstd, if one did and it listens."""

    def __init__(self) -> None:
        self._address = _socket_address(os.environ.get("NOTIFY_SOCKET", ""))
        self._send_failed = False

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
        if self._address is None:
            return
        try:
            # A socket per message, as sd_notify does: nothing to keep open, and a manager that
            # re-created its socket (daemon-reexec) is reached at the same address next time.
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self._address)
        except OSError as err:
            # systemd's socket went away (or never was): the daemon's work matters more than the
            # notification, so never crash; say it once, then only at debug level.
            level = logging.DEBUG if self._send_failed else logging.WARNING
            self._send_failed = True
            log.log(level, "could not notify systemd (%s): %s", message.split("\n")[0], err)


def _socket_address(value: str) -> str | bytes | None:
    """The address to send to: a path as it is, "@name" as the abstract socket "\\0name"."""
    if value.startswith("@"):
        return b"\0" + os.fsencode(value[1:])
    if value.startswith("/"):
        return value
    if value:  # e.g. "vsock:..." from a VM's manager: not something a user service is handed
        log.warning("NOTIFY_SOCKET=%s is not a unix socket: no systemd notifications", value)
    return None


def _one_line(text: str) -> str:
    # sd_notify messages are newline-separated assignments: a newline would end STATUS= early.
    return " ".join(text.split())
