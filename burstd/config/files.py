"""The configuration files: where they live, reading them, and the effective settings of a folder.

This module owns the I/O half of configuration: finding the global file
(`$XDG_CONFIG_HOME/burstd/config.toml`), reading it and every `.burstd.toml` between a watched root
and a folder, expanding paths, and a small cache of parsed folder files so the daemon can ask for a
folder's settings on every file event. Checking and merging values is pure and lives in
`burstd.config.rules`; every problem found is raised together in one `ConfigError`.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from burstd.errors import ConfigError
from burstd.paths import root_of, within
from burstd.config.rules import (
    FOLDER_FILE,
    FOLDER_KEYS,
    GLOBAL_KEYS,
    FolderSettings,
    describe,
    merge_layers,
    settings_from_values,
    show_value,
    sources_for,
    validate_table,
    values_of,
)

__all__ = [
    "FOLDER_FILE", "FOLDER_KEYS", "GLOBAL_KEYS", "DaemonConfig", "FolderSettings", "describe",
    "folder_settings", "global_config_path", "load_global", "no_roots_advice",
]


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """The global configuration, validated: what to watch, and the defaults for every folder."""

    path: Path | None  # the global file it came from (None: no file, defaults only)
    roots: tuple[Path, ...]  # watched roots, ~ and $VARS expanded, absolute, normalised
    folder: FolderSettings  # the defaults for every folder, before any .burstd.toml
    stable_seconds: float = 2.0  # a file not closed is complete once its size and mtime were stable this long
    cache: Path | None = None  # None: burstd.store.database.default_cache_path()
    darktable_config: Path | None = None  # darktable's config folder; None: darktable_lock.default_config_dir()
    provenance: Mapping[str, str] = field(default_factory=dict)  # folder key -> "default" | the global file


def config_home() -> Path:
    """`$XDG_CONFIG_HOME`, `~/.config` by default: where burstd, darktable and systemd user units live."""
    # The XDG spec says to ignore a relative value: it would depend on the daemon's working directory.
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"


def global_config_path() -> Path:
    """`$XDG_CONFIG_HOME/burstd/config.toml`, `~/.config/burstd/config.toml` by default."""
    return config_home() / "burstd" / "config.toml"


def no_roots_advice(path: Path) -> str:
    """What a daemon with no roots says, at start and in `burstd status`: the file to edit, or create."""
    if path.is_file():
        return f"no roots to watch: list the folders to watch in `roots` in {path}, then restart burstd"
    return (f"no roots to watch: create {path} with the folders to watch in `roots` (burstd's config/config.toml "
            "is a commented example), then restart burstd")


def load_global(path: Path | None = None) -> DaemonConfig:
    """The global configuration from `path` (default `global_config_path()`).

    A missing file means defaults and no roots. Any problem raises ConfigError listing all of them.
    """
    path = global_config_path() if path is None else path
    table, problems = _read_toml(path)
    if table is None and not problems:
        return DaemonConfig(path=None, roots=(), folder=FolderSettings())
    if problems:
        raise ConfigError(problems)
    assert table is not None
    values, problems = validate_table(table, str(path), is_global=True)
    roots = _expand_roots(values.pop("roots", []), str(path), problems)  # type: ignore[arg-type]
    # Only keys the file sets are passed on, so DaemonConfig's own defaults stay the only ones.
    daemon: dict[str, object] = {}
    if "cache" in values:
        daemon["cache"] = _expand_path(values.pop("cache"), f"{path}: key 'cache'", problems)  # type: ignore[arg-type]
    if "stable_seconds" in values:
        daemon["stable_seconds"] = values.pop("stable_seconds")
    if "darktable_config" in values:
        daemon["darktable_config"] = _expand_path(
            values.pop("darktable_config"), f"{path}: key 'darktable_config'", problems  # type: ignore[arg-type]
        )
    if problems:
        raise ConfigError(problems)
    defaults = values_of(FolderSettings())
    merged, provenance = merge_layers(defaults, dict.fromkeys(defaults, "default"), [(str(path), values)])
    return DaemonConfig(path, roots, settings_from_values(merged), provenance=provenance, **daemon)  # type: ignore[arg-type]


def folder_settings(folder: Path, config: DaemonConfig) -> tuple[FolderSettings, dict[str, str]]:
    """The effective settings of `folder`, and where each key came from ("default" or a file's path).

    The global defaults, then every `.burstd.toml` from the watched root containing `folder` (the
    filesystem's top when it lies under none, e.g. for `config show`) down to `folder` itself, each
    merged key by key over its parents: the nearest file wins. An invalid file raises ConfigError with
    every problem of every file on the way.
    """
    # abspath, not resolve(): roots are compared as written, and watchdog reports paths under them so.
    folder = Path(os.path.abspath(folder))
    # Roots never nest (load_global refuses it), so at most one contains `folder`.
    top = root_of(folder, config.roots) or Path(folder.anchor)
    fallback = str(config.path) if config.path else "global config"
    base = values_of(config.folder)
    layers: list[tuple[str, dict[str, object]]] = []
    problems: list[str] = []
    for directory in [top, *_steps_below(top, folder)]:
        parsed = _parsed_folder_files.get(directory / FOLDER_FILE)
        if parsed is not None:
            values, file_problems = parsed
            layers.append((str(directory / FOLDER_FILE), values))
            problems += file_problems
    if problems:
        raise ConfigError(problems)
    merged, provenance = merge_layers(base, sources_for(config.folder, config.provenance, fallback), layers)
    return settings_from_values(merged), provenance


def _steps_below(top: Path, folder: Path) -> list[Path]:
    """The folders from just below `top` down to `folder`, outermost first."""
    if folder == top:
        return []
    steps = []
    for part in folder.relative_to(top).parts:
        top = top / part
        steps.append(top)
    return steps


def _read_toml(path: Path) -> tuple[dict[str, object] | None, list[str]]:
    """The parsed table, or (None, []) when there is no file, or (None, [the one problem])."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        return None, [f"{path}: cannot read: {exc.strerror or exc}"]
    return _parse_toml(data, path)


def _parse_toml(data: bytes, path: Path) -> tuple[dict[str, object] | None, list[str]]:
    try:
        return tomllib.loads(data.decode("utf-8")), []
    except UnicodeDecodeError as exc:
        return None, [f"{path}: not UTF-8 text (byte {exc.start})"]
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        return None, [f"{path}: invalid TOML: {exc}"]


_UNSET_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")


def _expand_path(raw: str, where: str, problems: list[str]) -> Path | None:
    """`raw` with ~ and $VARS expanded, normalised; None (and a problem) when that is not possible."""
    expanded = os.path.expandvars(os.path.expanduser(raw.strip()))
    unset = _UNSET_VARIABLE.search(expanded)  # expandvars leaves unknown variables as they were
    if unset:
        problems.append(f"{where}: {show_value(raw)}: environment variable {unset.group(0)} is not set")
        return None
    if not os.path.isabs(expanded):
        # Relative to what? The daemon's working directory is no place a user thinks of.
        problems.append(f"{where}: expected an absolute path (or one starting with ~ or $VAR), got {show_value(raw)}")
        return None
    return Path(os.path.normpath(expanded))


def _expand_roots(raws: list[str], source: str, problems: list[str]) -> tuple[Path, ...]:
    where = f"{source}: key 'roots'"
    roots: dict[Path, str] = {}
    for raw in raws:
        root = _expand_path(raw, where, problems)
        if root is None:
            continue
        # A root inside another would be watched twice and make "which root's files apply" ambiguous.
        for other, other_raw in roots.items():
            if root == other:
                problems.append(f"{where}: {show_value(raw)} is the same folder as {show_value(other_raw)}")
                break
            if within(root, other) or within(other, root):
                inner, outer = (raw, other_raw) if within(root, other) else (other_raw, raw)
                problems.append(f"{where}: {show_value(inner)} lies inside {show_value(outer)}; list only the outer one")
                break
        else:
            roots[root] = raw
    return tuple(roots)


class _ParsedFolderFiles:
    """Parsed `.burstd.toml` files, each read once per (inode, size, mtime): a changed file is re-read
    on its next use, an unchanged one costs one stat. Bounded, least recently used out; thread-safe,
    since the daemon may ask from its analysis workers."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Path, tuple[tuple[int, int, int], tuple[dict[str, object], list[str]]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> tuple[dict[str, object], list[str]] | None:
        """(values, problems) of the file at `path`; None when there is none."""
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            with self._lock:
                self._entries.pop(path, None)
            return None
        except OSError as exc:
            return {}, [f"{path}: cannot read: {exc.strerror or exc}"]
        with self._lock:
            entry = self._entries.get(path)
            if entry and entry[0] == (st.st_ino, st.st_size, st.st_mtime_ns):
                self._entries.move_to_end(path)
                return entry[1]
        key, parsed = self._read(path)
        if key is None:
            return parsed if parsed[1] else None  # vanished between stat and open: no file
        with self._lock:
            self._entries[path] = (key, parsed)
            self._entries.move_to_end(path)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return parsed

    @staticmethod
    def _read(path: Path) -> tuple[tuple[int, int, int] | None, tuple[dict[str, object], list[str]]]:
        # Key the entry by the stat of the very file descriptor read, so a write racing this read
        # leaves a key that no longer matches and the next use reads again.
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except FileNotFoundError:
            return None, ({}, [])
        except OSError as exc:
            return None, ({}, [f"{path}: cannot read: {exc.strerror or exc}"])
        table, problems = _parse_toml(data, path)
        if table is not None:
            values, problems = validate_table(table, str(path), is_global=False)
        else:
            values = {}
        return (st.st_ino, st.st_size, st.st_mtime_ns), (values, problems)


_parsed_folder_files = _ParsedFolderFiles()
