"""What several commands share: their common options (each defined once), the options that set a
configuration key, the settings `scan` and `report` give a folder (configuration files, then the
command line), where the database is when `--cache` is not given, and `--json` output.

Light on purpose: every command module imports this, and `burstd status` must stay fast.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from burstd.errors import ConfigError
from burstd.exit_codes import exit_codes_help
from burstd.models import ScanSettings

ANALYSIS_CACHE = "analysis cache (default $XDG_STATE_HOME/burstd/cache.sqlite3)"
CONFIGURED_CACHE = "database (default: the config's `cache`, else $XDG_STATE_HOME/burstd/cache.sqlite3)"
GLOBAL_CONFIG = "global configuration (default $XDG_CONFIG_HOME/burstd/config.toml)"


def add_cache(parser: argparse.ArgumentParser, help: str = ANALYSIS_CACHE) -> None:
    parser.add_argument("--cache", type=Path, metavar="FILE", help=help)


def add_config(parser: argparse.ArgumentParser, help: str = GLOBAL_CONFIG) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help=help)


def add_config_files(parser: argparse.ArgumentParser) -> None:
    """--config FILE and --no-config: which configuration files a folder's settings come from."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="global configuration file, which must exist (default $XDG_CONFIG_HOME/burstd/config.toml)")
    group.add_argument("--no-config", action="store_true",
                       help="read no configuration file, neither the global one nor any .burstd.toml: "
                       "the options and the defaults only")


def missing_config(args: argparse.Namespace) -> str | None:
    """The problem with a --config FILE that is not there (a default file may be missing: defaults)."""
    if args.config is not None and not args.config.is_file():
        return f"{args.config}: no such configuration file"
    return None


def configured_scan_settings(args: argparse.Namespace, given: Mapping[str, object]) -> Callable[[Path], ScanSettings]:
    """Each folder's settings as `scan` and `report` apply them: the folder's settings from the
    configuration files (the global file, then every `.burstd.toml` from the watched root holding it,
    or the filesystem's top, down to the folder: what the daemon uses), with the options `given`
    on the command line over them. Nothing from files with --no-config.

    Raises ConfigError for an invalid global file; the function returned raises it for a folder
    whose `.burstd.toml` files are invalid.
    """
    from burstd.config.files import folder_settings, load_global
    from burstd.darktable.lock import default_config_dir
    from burstd.darktable.rc import import_rating

    if args.no_config:  # darktable's own configuration is still darktable's
        rating = import_rating(default_config_dir())
        return lambda _folder: replace(ScanSettings(), darktable_rating=rating, **given)
    config = load_global(args.config)
    rating = import_rating(config.darktable_config or default_config_dir())
    return lambda folder: replace(folder_settings(folder, config)[0].scan, darktable_rating=rating, **given)


def add_json(parser: argparse.ArgumentParser, help: str = "print the result as JSON on stdout") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_verbose(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help=help)


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help: str,
    codes: str | None = None,
) -> argparse.ArgumentParser:
    """The sub-command `name`, run by `handler`, whose docstring is its --help description and whose
    exit codes (`exit_codes.COMMAND_EXIT_CODES[codes or name]`) end its --help."""
    # A description is printed as it is (argparse expands `%(prog)s` in it only), so `100%` needs no escape.
    description = inspect.cleandoc(handler.__doc__ or "")
    parser = commands.add_parser(name, help=help, description=description, epilog=exit_codes_help(codes or name))
    parser.set_defaults(handler=handler)
    return parser


def choices(enum: type[StrEnum]) -> list[str]:
    """An enum's values as argparse `choices` (plain strings, so its messages show 'tiers', not Scheme.TIERS)."""
    return [member.value for member in enum]


def setting_value(text: str) -> object:
    """A command-line value as TOML would have given it (int, float, else the word), for the config's rules."""
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text


class SettingOptions:
    """Adds options that set a configuration key, and remembers the flag that names each key in messages.

    An option not given is absent from the parsed namespace (argparse.SUPPRESS), so the defaults come
    from `ScanSettings` alone and `given` holds only what the user typed.
    """

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.flags: dict[str, str] = {}
        parser.set_defaults(setting_flags=self.flags)

    def add(self, *flags: str, key: str | None = None, **kwargs: object) -> None:
        if kwargs.get("action") is None:
            kwargs["type"] = setting_value  # checked by the rule of `key`, not by argparse
        action = self.parser.add_argument(*flags, dest=key, default=argparse.SUPPRESS, **kwargs)  # type: ignore[arg-type]
        self.flags[action.dest] = action.option_strings[-1]

    @staticmethod
    def given(args: argparse.Namespace) -> dict[str, object]:
        """The settings the user gave on the command line, by configuration key."""
        return {key: getattr(args, key) for key in args.setting_flags if hasattr(args, key)}


def configured_cache(config_path: Path | None) -> Path:
    """The database the daemon uses: the global configuration's `cache`, else the default path."""
    from burstd.config.files import load_global
    from burstd.store.database import default_cache_path

    try:
        return load_global(config_path).cache or default_cache_path()
    except ConfigError:
        return default_cache_path()


def only_in_sub_folders(directory: Path, command: str) -> str | None:
    """Why `burstd <command> DIR` without -r would find nothing: DIR holds no images itself, only its
    sub-folders do (a card's top folder, its photos in DCIM/100XXXXX/). None when that is not so."""
    from burstd.discover import images_only_below

    below = images_only_below(directory)
    if below is None:
        return None
    return (f"{directory} holds no images itself, only its sub-folders do (such as {below}): "
            f"add -r to include them: burstd {command} -r {directory}")


def darktable_dir(config_path: Path | None) -> Path:
    """darktable's config folder: the global configuration's `darktable_config`, else the default
    (`$XDG_CONFIG_HOME/darktable`)."""
    from burstd.config.files import load_global
    from burstd.darktable.lock import default_config_dir

    try:
        return load_global(config_path).darktable_config or default_config_dir()
    except ConfigError:
        return default_config_dir()


def print_json(data: object, default: Callable[[object], object] | None = None) -> None:
    json.dump(data, sys.stdout, indent=1, default=default)
    sys.stdout.write("\n")
