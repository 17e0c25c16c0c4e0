"""The `burstd` console script: parse the command line, run the command, and turn burstd's errors into
one message and an exit code (the table is `burstd.exit_codes`). Each command lives in its own module
beside this one.
"""

from __future__ import annotations

import logging
import sys

from burstd.cli.parser import build_parser
from burstd.errors import BurstdError
from burstd.exit_codes import ExitCode, exit_code_for


def main(argv: list[str] | None = None) -> int:
    # File names may hold any bytes: print the undecodable ones escaped rather than crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="burstd: %(message)s")
    logging.getLogger("burstd").setLevel(logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING)
    try:
        return args.handler(args)
    except BrokenPipeError:  # `burstd scan ... | head`: the reader left, nothing more to say
        sys.stderr.close()
        return ExitCode.OK
    except BurstdError as exc:  # the database, the configuration, the daemon's lock: one message, one code
        print(f"burstd: {exc}", file=sys.stderr)
        return exit_code_for(exc)
