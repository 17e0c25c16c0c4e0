"""`burstd run`: its options and the command that runs the daemon in the foreground."""

from __future__ import annotations

import argparse
import sys

from burstd.cli.options import CONFIGURED_CACHE, add_cache, add_command, add_config, add_verbose
from burstd.exit_codes import ExitCode


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(commands, "run", cmd_run, help="watch the configured roots and rate every card dump that lands there")
    add_config(parser)
    add_cache(parser, CONFIGURED_CACHE)
    add_verbose(parser, "log every file event and decision")


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: watch the roots of the global configuration ($XDG_CONFIG_HOME/burstd/config.toml),
    batch arriving files into sessions per folder, and group, rank and rate each folder once it has
    been quiet. Example: burstd run -v"""
    from burstd.daemon import lifecycle
    from burstd.daemon import systemd as service

    service.setup_logging(verbose=args.verbose)
    if args.config is not None and not args.config.is_file():
        print(f"burstd: {args.config}: no such configuration file", file=sys.stderr)
        return ExitCode.USAGE
    return lifecycle.run(args.config, args.cache)
