"""The exit codes of every `burstd` command, in one table, and which error ends in which code. Pure.

`COMMAND_EXIT_CODES` says what each code means for each command, in the words its `--help` ends
with (`exit_codes_help`); the table below is the overview.

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


_COULD_NOT_WORK = "or burstd could not work at all (its database locked or not burstd's)"
_USAGE = "usage or configuration error"

# What each code means for each command: the one source of the exit codes its --help lists.
COMMAND_EXIT_CODES: dict[str, dict[ExitCode, str]] = {
    "scan": {
        ExitCode.OK: "all done",
        ExitCode.FAILED: "some files could not be read or some sidecars not written (each is listed on stderr, "
        f"and the rest was done), {_COULD_NOT_WORK}",
        ExitCode.USAGE: f"{_USAGE}, or DIR holds images only in sub-folders and -r was not given (nothing was done)",
        ExitCode.INTERRUPTED: "stopped by Ctrl-C: what was done is kept and said in one line; the same command "
        "finishes it",
        ExitCode.TERMINATED: "stopped by SIGTERM, as for 130",
    },
    "report": {
        ExitCode.OK: "the page was written",
        ExitCode.FAILED: "some files failed (the page still lists them), the page could not be written, "
        f"{_COULD_NOT_WORK}",
        ExitCode.USAGE: f"{_USAGE}: DIR is not a folder, the folder of -o does not exist, or DIR holds "
        "images only in sub-folders and -r was not given",
    },
    "run": {
        ExitCode.OK: "stopped (SIGTERM, Ctrl-C)",
        ExitCode.FAILED: "could not run: another daemon is running for this user, or the database is locked "
        "or not burstd's",
        ExitCode.USAGE: f"{_USAGE}: the global configuration is invalid",
    },
    "status": {
        ExitCode.OK: "the daemon is running and healthy",
        ExitCode.FAILED: "it is running but reports problems (a root missing, an invalid folder configuration, "
        "file errors in the last hour)",
        ExitCode.USAGE: _USAGE,
        ExitCode.NOT_RUNNING: "it is not running",
    },
    "config show": {
        ExitCode.OK: "shown",
        ExitCode.USAGE: f"{_USAGE}: a configuration file on the way is invalid (every problem is listed)",
    },
    "undo": {
        ExitCode.OK: "done",
        ExitCode.FAILED: "some sidecars were kept, blocked or could not be restored (each is listed), "
        f"{_COULD_NOT_WORK}",
        ExitCode.USAGE: f"{_USAGE}, or an unknown session",
    },
    "install-service": {
        ExitCode.OK: "installed",
        ExitCode.FAILED: "the unit is written but systemctl could not enable and start it (or is missing), "
        "or the unit could not be written",
        ExitCode.USAGE: _USAGE,
    },
    "install-darktable-plugin": {
        ExitCode.OK: "installed (or, with --uninstall, taken out)",
        ExitCode.FAILED: "the script or luarc could not be written",
        ExitCode.USAGE: f"{_USAGE}: darktable's config folder does not exist",
    },
}


def exit_codes_help(command: str) -> str:
    """The end of `burstd <command> --help`: every exit code of the command and what it means."""
    codes = COMMAND_EXIT_CODES[command]
    return "Exit codes: " + "; ".join(f"{int(code)} {meaning}" for code, meaning in sorted(codes.items())) + "."
