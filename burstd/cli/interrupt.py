"""Ctrl-C and SIGTERM during a command that works through a batch (`burstd scan`).

The first signal only asks the work to stop (`StopRequest`, the pipeline's `stop`): no exception is
thrown into whatever runs at that moment (an SQLite COMMIT, a sidecar being replaced), so the work
stops at its next safe point, keeps what it finished and the command says so in one line. A second
signal means the user will not wait even that long: the process ends at once, still without a
traceback (every write is atomic and SQLite rolls back a transaction cut short).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from burstd.exit_codes import ExitCode

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_EXIT_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}
_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class StopRequest:
    """Called by the work between files: True once a signal asked it to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        """The signal in words: "Ctrl-C (SIGINT)", "SIGTERM"."""
        return _NAMES.get(self.signum, f"signal {self.signum}")  # type: ignore[arg-type]

    @property
    def exit_code(self) -> ExitCode:
        """130 for SIGINT, 143 for SIGTERM: 128 + the signal's number, as shells report it."""
        return _EXIT_CODES[self.signum]  # type: ignore[index]


@contextmanager
def stop_on_signals(command: str) -> Iterator[StopRequest]:
    """SIGINT and SIGTERM ask the work to stop while the block runs; the old handlers come back after."""
    request = StopRequest()

    def on_signal(signum: int, _frame: object) -> None:
        if request.signum is None:
            request.signum = signum
            return
        clear = "\r\x1b[K" if sys.stderr.isatty() else ""  # the progress bar's line
        sys.stderr.write(f"{clear}burstd {command}: stopped at once on a second signal; nothing is half-written, "
                         "but the last few analyses were not kept\n")
        sys.stderr.flush()
        os._exit(_EXIT_CODES.get(signum, ExitCode.INTERRUPTED))

    previous = {signum: signal.signal(signum, on_signal) for signum in SIGNALS}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
