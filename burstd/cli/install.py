"""`burstd install-service`: its option and the command that installs the systemd user service."""

from __future__ import annotations

import argparse
import sys

from burstd.cli.options import add_command
from burstd.exit_codes import ExitCode, exit_code_for


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "install-service", cmd_install_service, help="install and start the systemd user service")
    parser.add_argument("--no-enable", action="store_true", help="only write the unit file")


def cmd_install_service(args: argparse.Namespace) -> int:
    """Write ~/.config/systemd/user/burstd.service running this burstd, then
    `systemctl --user enable --now burstd`. Exit codes: 0 done; 1 the unit could not be written, or
    systemctl is missing or failed (the unit is written, and the command to run by hand is shown).
    Example: burstd install-service"""
    from burstd.daemon.systemd import install_service

    try:
        installation = install_service(enable=not args.no_enable)
    except OSError as exc:  # the unit file or its folder could not be written
        print(f"burstd: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    for line in installation.lines:
        print(line)
    return ExitCode.OK if installation.done else ExitCode.FAILED
