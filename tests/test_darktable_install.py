"""`burstd install-darktable-plugin`: the plugin goes into darktable's config folder and one line into
its luarc; `--uninstall` takes them out and leaves the user's luarc byte for byte as it was. The real
command, in-process, on real folders (the plugin running in darktable: tests/test_darktable_plugin.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from burstd.cli.main import main
from burstd.darktable import plugin

LINE = plugin.REQUIRE_LINE.encode()
# A user's luarc: lua-scripts' script manager, a script of their own, a commented-out line, CRLF and
# non-ASCII bytes, and a last line without its newline.
USERS = (
    b'require "tools/script_manager"\n'
    b"-- require \"burstd/burstd\"  (not a require: a comment)\n"
    b'require "contrib/gimp"\r\n'
    b"local name = \"caf\xc3\xa9\" -- a comment \xe2\x80\x94 kept as it is\n"
    b"dt = require 'darktable'"
)


def run(*args: str | Path) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """darktable's default config folder, `$XDG_CONFIG_HOME/darktable`, as darktable leaves it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "darktable"
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize("original", [USERS, USERS + b"\n", b"", None], ids=["no-final-newline", "final-newline", "empty", "absent"])
def test_install_uninstall_reinstall_leave_the_luarc_as_it_was(conf: Path, original: bytes | None, capsys) -> None:
    luarc = conf / "luarc"
    if original is not None:
        luarc.write_bytes(original)
        luarc.chmod(0o600)
    (conf / "lua" / "contrib").mkdir(parents=True)
    (conf / "lua" / "contrib" / "gimp.lua").write_text("-- lua-scripts' own\n")

    assert run("install-darktable-plugin") == 0
    installed = luarc.read_bytes()
    before = original or b""
    assert installed == before + (b"\n" if before and not before.endswith(b"\n") else b"") + LINE + (
        b"" if before and not before.endswith(b"\n") else b"\n")
    assert (conf / "lua" / "burstd" / "burstd.lua").read_bytes() == plugin.source()
    assert "added the line" in capsys.readouterr().out
    if original is not None:
        assert luarc.stat().st_mode & 0o777 == 0o600

    assert run("install-darktable-plugin") == 0  # again: nothing changes
    assert luarc.read_bytes() == installed
    assert "already loads the plugin" in capsys.readouterr().out

    assert run("install-darktable-plugin", "--uninstall") == 0
    if not original:
        assert not luarc.exists()  # burstd's line was all of it: darktable reads no luarc and an empty one alike
    else:
        assert luarc.read_bytes() == original
    assert not (conf / "lua" / "burstd").exists()
    assert (conf / "lua" / "contrib" / "gimp.lua").read_text() == "-- lua-scripts' own\n"

    assert run("install-darktable-plugin") == 0
    assert luarc.read_bytes() == installed


def test_a_luarc_that_is_a_symlink_is_written_through(conf: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "darktable-luarc"
    dotfiles.parent.mkdir()
    dotfiles.write_bytes(USERS)
    (conf / "luarc").symlink_to(dotfiles)
    assert run("install-darktable-plugin") == 0
    assert (conf / "luarc").is_symlink() and dotfiles.read_bytes().endswith(LINE)
    assert run("install-darktable-plugin", "--uninstall") == 0
    assert (conf / "luarc").is_symlink() and dotfiles.read_bytes() == USERS


def test_a_require_line_written_by_hand_counts_and_goes(conf: Path) -> None:
    (conf / "luarc").write_bytes(b'require("burstd/burstd")\nrequire "contrib/gimp"\n')
    assert run("install-darktable-plugin", "--darktable-config", conf) == 0
    assert (conf / "luarc").read_bytes() == b'require("burstd/burstd")\nrequire "contrib/gimp"\n'
    assert run("install-darktable-plugin", "--darktable-config", conf, "--uninstall") == 0
    assert (conf / "luarc").read_bytes() == b'require "contrib/gimp"\n'


def test_an_outdated_copy_is_replaced_and_status_says_what_is_installed(conf: Path, tmp_path: Path, capsys) -> None:
    cache = tmp_path / "none.sqlite3"
    run("status", "--json", "--cache", cache)
    info = json.loads(capsys.readouterr().out)["darktable_plugin"]
    assert info["installed"] is False and "burstd install-darktable-plugin" in info["summary"]

    run("install-darktable-plugin")
    capsys.readouterr()
    run("status", "--cache", cache)
    assert f"darktable plugin: installed ({conf / 'lua' / 'burstd' / 'burstd.lua'})" in capsys.readouterr().out

    (conf / "lua" / "burstd" / "burstd.lua").write_text("-- an older burstd's plugin\n")
    (conf / "luarc").write_text("")  # started from script_manager instead
    run("status", "--json", "--cache", cache)
    info = json.loads(capsys.readouterr().out)["darktable_plugin"]
    assert (info["installed"], info["current"], info["required"]) == (True, False, False)
    assert "older or changed copy" in info["summary"] and "script_manager" in info["summary"]
    assert run("install-darktable-plugin") == 0
    assert "burstd.lua: updated" in capsys.readouterr().out
    assert plugin.state(conf).current and plugin.state(conf).required


def test_status_says_nothing_of_the_plugin_without_darktable(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no darktable config folder
    run("status", "--json", "--cache", tmp_path / "none.sqlite3")
    assert json.loads(capsys.readouterr().out)["darktable_plugin"] is None


def test_a_missing_config_folder_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert run("install-darktable-plugin", "--darktable-config", tmp_path / "nowhere") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nowhere'} is not a folder" in err and not (tmp_path / "nowhere").exists()


def test_a_luarc_that_cannot_be_written_fails_with_its_name(conf: Path, capsys) -> None:
    (conf / "luarc").mkdir()  # not a file: neither read nor replaced
    assert run("install-darktable-plugin") == 1
    assert str(conf / "luarc") in capsys.readouterr().err and (conf / "luarc").is_dir()
