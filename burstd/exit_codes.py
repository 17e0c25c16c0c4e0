"""The exit codes of every `burstd` command, in one table, and which error ends in which code. Pure.

| code | meaning                                          | returned by                              |
| ---- | ------------------------------------------------ | ---------------------------------------- |
| 0    | done (`status`: running and healthy)             | every command                            |
| 1    | something failed: some files or sidecars (each   | scan, report, undo, run, install-service,|
|      | is listed and the rest was done), or burstd      | install-darktable-plugin (a file it      |
|      | could not do the work at all (database locked    | could not write); status: running but    |
|      | or not burstd's, daemon already running, ...)    | reporting problems                       |
| 2    | usage or configuration error: the command line  | every command (install-darktable-plugin: |
|      | or a configuration file must be changed          | darktable's config folder is missing)    |
| 3    | not running                                      | status (like `systemctl is-active`)      |
"""

from __future__ import annotations

from enum import IntEnum

from burstd.errors import BurstdError, ConfigError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_RUNNING = 3


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
