"""`burstd install-darktable-plugin`: its options and the command that installs (or removes) burstd's
darktable plugin, which groups every burst under its pick and refreshes ratings in darktable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from burstd.cli.options import add_command, darktable_dir
from burstd.exit_codes import ExitCode, exit_code_for


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "install-darktable-plugin", cmd_install_darktable_plugin,
                         help="install the darktable plugin that groups bursts under their pick")
    parser.add_argument("--darktable-config", type=Path, metavar="DIR",
                        help="darktable's config folder (default: the config's `darktable_config`, else "
                             "$XDG_CONFIG_HOME/darktable)")
    parser.add_argument("--uninstall", action="store_true", help="take the plugin and its luarc line out again")


def cmd_install_darktable_plugin(args: argparse.Namespace) -> int:
    """Copy burstd's darktable plugin to DIR/lua/burstd/burstd.lua and add `require "burstd/burstd"`
    to DIR/luarc (the user's other lines are left byte for byte). In darktable's lighttable every
    burst then becomes a group led by its pick, and "refresh selected" brings in ratings burstd wrote
    after darktable imported the images. Restart darktable to load it. Exit codes: 0 done, 1 a file
    could not be written, 2 DIR is not a folder. Example: burstd install-darktable-plugin"""
    from burstd.darktable import lock, plugin

    config_dir = args.darktable_config or darktable_dir(None)
    if not config_dir.is_dir():
        print(f"burstd install-darktable-plugin: {config_dir} is not a folder; darktable makes its config "
              "folder when it first starts (or name it with --darktable-config)", file=sys.stderr)
        return ExitCode.USAGE
    try:
        done = plugin.uninstall(config_dir) if args.uninstall else plugin.install(config_dir)
    except OSError as exc:  # luarc or the script could not be written; each write is atomic
        print(f"burstd: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    for line in done:
        print(line)
    running = lock.inspect(config_dir).pid
    if running is not None:
        print(f"darktable is open on this config folder (pid {running}): restart it for this to take effect")
    elif not args.uninstall:
        print("start darktable: bursts are grouped under their pick as they are imported")
    return ExitCode.OK
