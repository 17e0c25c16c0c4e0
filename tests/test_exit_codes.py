"""Every command ends with the code of `burstd/exit_codes.py` on a real error: the real CLI in a
subprocess, a database path that is a folder or another program's SQLite file, a broken config file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from burstd.daemon.lifecycle import AlreadyRunning
from burstd.daemon.systemd import ServiceError
from burstd.errors import BurstdError, CacheError, ConfigError, ImageError
from burstd.exit_codes import ExitCode, exit_code_for


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError(["key 'max_rank': expected an integer 1-5, got 9"]), ExitCode.USAGE),
        (CacheError("the database is locked"), ExitCode.FAILED),
        (AlreadyRunning("the daemon is already running for this user"), ExitCode.FAILED),
        (ServiceError("cannot write burstd.service"), ExitCode.FAILED),
        (ImageError(Path("a.jpg"), "truncated"), ExitCode.FAILED),
        (BurstdError("anything else"), ExitCode.FAILED),
        (PermissionError(13, "Permission denied"), ExitCode.FAILED),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(int(v)),
)
def test_exit_code_for(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) == code  # type: ignore[arg-type]


def test_the_codes() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 130, 143]


@pytest.fixture(params=["folder", "foreign"])
def bad_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A --cache burstd cannot use: a folder, or another program's SQLite database (left untouched)."""
    if request.param == "folder":
        (tmp_path / "cache.d").mkdir()
        return tmp_path / "cache.d"
    theirs = tmp_path / "places.sqlite"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.close()
    return theirs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "photos").mkdir()
    return tmp_path / "photos"


@pytest.mark.parametrize("command", ["scan", "report", "undo"])
def test_a_database_burstd_cannot_use_exits_1(burstd, command: str, folder: Path, bad_cache: Path) -> None:
    result = burstd(command, folder, "--cache", bad_cache, check=ExitCode.FAILED)
    assert result.stderr.startswith("burstd: ") and str(bad_cache) in result.stderr
    assert "Traceback" not in result.stderr


def test_run_on_a_database_it_cannot_use_exits_1(burstd, tmp_path: Path, bad_cache: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("roots = []\n")
    result = burstd("run", "--config", config, "--cache", bad_cache, check=ExitCode.FAILED)
    assert str(bad_cache) in result.stderr and "Traceback" not in result.stderr


def test_status_on_a_database_it_cannot_read_is_not_running(burstd, bad_cache: Path) -> None:
    info = burstd.json("status", "--cache", bad_cache, check=ExitCode.NOT_RUNNING)
    assert info["running"] is False and info["problems"]


def test_invalid_configuration_exits_2(burstd, tmp_path: Path, folder: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("max_rank = 9\nbogus = 1\n")
    run = burstd("run", "--config", config, check=ExitCode.USAGE)
    assert "max_rank" in run.stderr and "bogus" in run.stderr
    assert "no such configuration file" in burstd("run", "--config", tmp_path / "none.toml", check=ExitCode.USAGE).stderr
    (folder / ".burstd.toml").write_text("scheme = 'steps'\n")
    show = burstd("config", "show", folder, check=ExitCode.USAGE)
    assert "expected \"tiers\" or \"linear\", got \"steps\"" in show.stderr


def test_usage_errors_exit_2(burstd, tmp_path: Path, folder: Path) -> None:
    for args in (["scan", tmp_path / "none"], ["report", tmp_path / "none"], ["undo"], ["undo", tmp_path / "none"],
                 ["scan", folder, "--scheme", "steps"], ["status", "--bogus"], ["bogus"]):
        assert "Traceback" not in burstd(*args, check=ExitCode.USAGE).stderr


def test_scan_reads_its_options_with_the_config_rules(burstd, folder: Path) -> None:
    result = burstd("scan", folder, "-m", "9", "--workers", "-1", "--max-gap", "soon", "--pick-label", "red",
                    check=ExitCode.USAGE)
    assert result.stderr == (
        "burstd scan: --max-rank: expected an integer 1-5, got 9; --max-gap: expected a number of seconds "
        'above 0, got "soon"; --workers: expected an integer 0 or more (0: one per core), got -1\n'
    )
    words = burstd.json("scan", folder, "--dry-run", "-d", "adaptive", "--reject-below", "off", check=ExitCode.OK)
    assert words["settings"]["threshold"] is None


def test_install_service_that_cannot_write_its_unit_exits_1(burstd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_home = tmp_path / "config"
    config_home.mkdir()
    (config_home / "systemd").write_text("a file where the unit's folder should be\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    result = burstd("install-service", "--no-enable", check=ExitCode.FAILED)
    # "cannot write .../burstd.service" (or, from a source tree, "cannot read the unit template": see
    # UNIT_TEMPLATES in daemon/systemd.py): a ServiceError either way.
    assert result.stderr.startswith("burstd: cannot ") and "Traceback" not in result.stderr
