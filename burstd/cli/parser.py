"""The `burstd` argument parser, assembled from the command modules (each registers its own sub-command)."""

from __future__ import annotations

import argparse

from burstd import __version__
from burstd.cli import config, darktable_plugin, install, report, run, scan, status, undo

COMMANDS = (scan, report, run, status, config, undo, install, darktable_plugin)  # the order `burstd --help` lists them in


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="burstd", description="Group photo bursts, rank them by sharpness, pre-rate XMP sidecars.")
    parser.add_argument("-V", "--version", action="version", version=f"burstd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     help="what to do (burstd COMMAND --help tells more)")
    for command in COMMANDS:
        command.register(commands)
    return parser
