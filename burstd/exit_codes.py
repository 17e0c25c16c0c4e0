"""The exit codes of every `burstd` command, in one table, and which error ends in which code. Pure.

| code | meaning                                          | returned by                              |
| ---- | ------------------------------------------------ | ---------------------------------------- |
| 0    | done (`status`: running and healthy)             | every command                            |
| 1    | something failed: some files or sidecars (each   | scan, report, undo, run, install-service;|
|      | is listed and the rest was done), or burstd      | status: running but reporting problems   |
|      | could not do the work at all (database locked    |                                          |
|      | or not burstd's, daemon already running, ...)    |                                          |
| 2    | usage or configuration error: the command line  | every command                            |
|      | or a configuration file must be changed          |                                          |
| 3    | not running                                      | status (like `systemctl is-active`)      |
| 130  | stopped by Ctrl-C (SIGINT) before the work was   | scan (what was done is kept and said in  |
|      | done: 128 + the signal's number, as shells do    | one line; the same command finishes it)  |
| 143  | stopped by SIGTERM before the work was done      | scan (as for 130)                        |

`burstd run` is the exception: SIGINT and SIGTERM are how a daemon is meant to stop, so it exits 0.
"""

from __future__ import annotations

from enum import IntEnum

from burstd.errors import BurstdError, ConfigError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_RUNNING = 3
    INTERRUPTED = 130  # 128 + SIGINT
    TERMINATED = 143  # 128 + SIGTERM


def exit_code_for(error: BurstdError | OSError) -> ExitCode:
    """The code a command ends with when `error` stops it.

    A `ConfigError` is 2: the user must change a file or an option. Every other error is 1, also those
    about the whole run rather than one file (a database that is locked, damaged or another
    program's, a daemon already running): they are not usage errors, and the same command may well
    work later. The systemd unit relies on this line: `RestartPreventExitStatus=2` stops restarting
    only what a restart cannot fix, so a daemon that failed on a locked database is restarted.
    An `OSError` (a page or unit file that could not be written) is 1 as well.
    """
    return ExitCode.USAGE if isinstance(error, ConfigError) else ExitCode.FAILED
