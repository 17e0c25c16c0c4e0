"""`burstd config show`: the settings in effect for a folder, and where each came from."""

from __future__ import annotations

import argparse
from pathlib import Path

from burstd.cli.options import add_command, add_config
from burstd.exit_codes import ExitCode


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("config", help="show the configuration in effect",
                                 description="Example: burstd config show ~/Pictures/Import/sports")
    actions = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION", help="what to do")
    show = add_command(actions, "show", cmd_config_show, help="the effective settings of a folder and where each came from",
                       codes="config show")
    show.add_argument("directory", metavar="DIR", type=Path, help="the folder whose settings to show")
    add_config(show)


def cmd_config_show(args: argparse.Namespace) -> int:
    """Example: burstd config show ~/Pictures/Import/sports"""
    from burstd.config.files import describe, folder_settings, load_global

    settings, provenance = folder_settings(args.directory, load_global(args.config))
    print(describe(settings, provenance))
    return ExitCode.OK
