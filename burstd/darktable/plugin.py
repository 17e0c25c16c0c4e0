"""burstd's darktable plugin (`burstd.lua`, shipped beside this module): installing it into darktable's
config folder, taking it out again, and whether it is installed.

Installing copies the script to `<darktable config>/lua/burstd/burstd.lua` and adds one line,
`require "burstd/burstd"`, to the end of darktable's `luarc`; uninstalling takes both out. The user's
other lines are never rewritten: after an install and an uninstall, `luarc` is byte for byte what it
was. Every write goes through `fsio.write_atomically`, and `luarc` is replaced only while it still
holds what was read (a symbolic link, as dotfile managers make, is written through, not replaced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from burstd import fsio

SCRIPT = "burstd.lua"
REQUIRE = 'require "burstd/burstd"'  # <config>/lua/burstd/burstd.lua, darktable's Lua path
REQUIRE_LINE = f"{REQUIRE} -- added by burstd install-darktable-plugin"
# A line that loads the plugin, however it was written (by burstd or by hand); not a comment.
_REQUIRES = re.compile(rb"""^[ \t]*require[ \t]*\(?[ \t]*(["'])burstd/burstd\1""")


class PluginError(OSError):
    """`luarc` changed while burstd was editing it; `str()` names the file and says so."""


@dataclass(frozen=True, slots=True)
class PluginState:
    """Whether the plugin is installed in one darktable config folder."""

    config_dir: Path
    script: Path  # where the script is (or would be) installed
    installed: bool  # the script is there
    current: bool  # ... and is this burstd's version of it
    required: bool  # luarc loads it (otherwise only darktable's script_manager can start it)

    def describe(self) -> str:
        """One line for `burstd status`."""
        if not self.installed:
            return f"not installed in {self.config_dir} (burstd install-darktable-plugin)"
        notes = []
        if not self.current:
            notes.append("an older or changed copy: run burstd install-darktable-plugin")
        if not self.required:
            notes.append("luarc does not load it: start it in darktable's script_manager, or run burstd install-darktable-plugin")
        return f"installed ({self.script})" + "".join(f"; {note}" for note in notes)

    def as_json(self) -> dict:
        return {"config_dir": str(self.config_dir), "script": str(self.script), "installed": self.installed,
                "current": self.current, "required": self.required}


def source() -> bytes:
    """The plugin as this burstd ships it."""
    return resources.files("burstd.darktable").joinpath(SCRIPT).read_bytes()


def script_path(config_dir: Path) -> Path:
    return config_dir / "lua" / "burstd" / SCRIPT


def state(config_dir: Path) -> PluginState:
    """What is installed in `config_dir`; never raises (an unreadable file counts as absent)."""
    script = script_path(config_dir)
    try:
        installed_bytes: bytes | None = script.read_bytes()
    except OSError:
        installed_bytes = None
    try:
        required = requires_plugin((config_dir / "luarc").read_bytes())
    except OSError:
        required = False
    return PluginState(config_dir, script, installed_bytes is not None, installed_bytes == source(), required)


def requires_plugin(luarc: bytes) -> bool:
    return any(_REQUIRES.match(line) for line in luarc.splitlines())


def with_require(luarc: bytes) -> bytes:
    """`luarc` with burstd's line added at its end (unchanged when a line already loads the plugin).

    A file that does not end with a newline gets one before the line and none after it, so that
    `without_require` gives back exactly the bytes it was given.
    """
    if requires_plugin(luarc):
        return luarc
    line = REQUIRE_LINE.encode()
    if luarc and not luarc.endswith(b"\n"):
        return luarc + b"\n" + line
    return luarc + line + b"\n"


def without_require(luarc: bytes) -> bytes:
    """`luarc` without the lines that load the plugin, every other byte as it was."""
    lines = luarc.splitlines(keepends=True)
    kept = [line for line in lines if not _REQUIRES.match(line)]
    if len(kept) == len(lines):
        return luarc
    if lines and _REQUIRES.match(lines[-1]) and not lines[-1].endswith(b"\n") and kept:
        kept[-1] = kept[-1].removesuffix(b"\n")  # the newline `with_require` put before a last line
    return b"".join(kept)


def install(config_dir: Path) -> list[str]:
    """Copy the plugin into `config_dir` and make `luarc` load it; what was done, line by line.

    `config_dir` must exist. Raises PluginError or OSError naming the file that could not be written.
    """
    done = []
    script = script_path(config_dir)
    new = source()
    try:
        old = script.read_bytes()
    except FileNotFoundError:
        old = None
    if old == new:
        done.append(f"{script}: already this burstd's version")
    else:
        script.parent.mkdir(parents=True, exist_ok=True)
        fsio.write_atomically(script, new)
        done.append(f"{script}: {'updated' if old is not None else 'installed'}")
    luarc = config_dir / "luarc"
    if _edit_luarc(luarc, with_require):
        done.append(f"{luarc}: added the line `{REQUIRE_LINE}`")
    else:
        done.append(f"{luarc}: already loads the plugin")
    return done


def uninstall(config_dir: Path) -> list[str]:
    """Take burstd's line out of `luarc` and the plugin out of `config_dir`; what was done."""
    done = []
    luarc = config_dir / "luarc"
    if _edit_luarc(luarc, without_require):
        done.append(f"{luarc}: removed the line that loads the plugin")
    script = script_path(config_dir)
    try:
        script.unlink()
        done.append(f"{script}: removed")
    except FileNotFoundError:
        pass
    try:
        script.parent.rmdir()  # lua/burstd/, when nothing else is in it
    except OSError:
        pass
    return done or [f"not installed in {config_dir}: nothing to remove"]


def _edit_luarc(luarc: Path, edit) -> bool:
    """Apply `edit` (bytes -> bytes) to `luarc` atomically; whether it changed. A luarc left empty
    by burstd is removed: darktable reads no luarc and an empty one alike."""
    target = luarc.resolve() if luarc.is_symlink() else luarc
    try:
        before = target.read_bytes()
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        before, mode = b"", None
    after = edit(before)
    if after == before:
        return False

    def still_as_read() -> None:
        try:
            now = target.read_bytes()
        except FileNotFoundError:
            now = b""
        if now != before:
            raise PluginError(f"{target}: changed by another program while burstd was writing it; left as it is")

    if not after:
        still_as_read()
        target.unlink()
    else:
        fsio.write_atomically(target, after, mode=mode, before_replace=still_as_read)
    return True
