"""`burstd status`: its options and the command that shows what the daemon is doing.

It reads the database and darktable's lock only: no image library, no pipeline, no daemon code
(`tests/test_architecture.py` checks), so it answers at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from burstd.cli.options import add_cache, add_command, add_config, add_json, configured_cache, darktable_dir, print_json
from burstd.errors import ConfigError


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "status", cmd_status, help="is the daemon running, and what did it do")
    add_json(parser, "print the status as JSON")
    add_config(parser, "global configuration (to find the database)")
    add_cache(parser, "database to read")


def cmd_status(args: argparse.Namespace) -> int:
    """Read the daemon's database (never waiting on the daemon): whether it runs, the watched roots,
    files arriving and being analysed, each open session (files arrived and analysed, seconds until it
    settles), the last sessions, recent errors, the files burstd cannot read, and whether burstd's
    darktable plugin is installed. Exit codes: 0 running and healthy, 1 running with problems (file
    errors it met in the last hour among them), 3 not running. Example: burstd status --json"""
    from burstd import status
    from burstd.darktable import plugin

    darktable_config = darktable_dir(args.config)
    installed = plugin.state(darktable_config) if darktable_config.is_dir() else None  # no darktable: no line
    info = status.gather(args.cache or configured_cache(args.config), darktable=darktable_state(args.config),
                         plugin=installed)
    if args.json:
        print_json(info, default=str)
    else:
        print(status.render(info))
    return status.exit_code(info)


def darktable_state(config_path: Path | None):  # -> burstd.darktable.lock.DarktableState, imported lazily
    """Whether darktable runs on its library, and which watched roots it already imported."""
    from burstd.config.files import load_global
    from burstd.darktable import lock as darktable_lock

    try:
        config = load_global(config_path)
    except ConfigError:
        return darktable_lock.inspect(darktable_lock.default_config_dir())
    return darktable_lock.inspect(config.darktable_config or darktable_lock.default_config_dir(), config.roots)
