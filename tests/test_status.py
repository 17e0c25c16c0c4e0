"""`burstd status` on its own: a real database file, no daemon (the daemon tests cover it running)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from burstd import status
from burstd.store import Store
from burstd.store.sessions import SessionRecord


def test_no_database_means_not_running(burstd, tmp_path: Path) -> None:
    result = burstd("status", "--json", "--cache", tmp_path / "none.sqlite3")
    assert result.returncode == 3 and json.loads(result.stdout)["running"] is False


def test_a_database_being_created_is_reported_as_not_running_in_json(burstd, tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")  # the daemon has created the file and not yet its tables
    result = burstd("status", "--json", "--cache", empty)
    assert result.returncode == 3
    info = json.loads(result.stdout)
    assert info["running"] is False and info["problems"]


def test_a_dead_daemon_with_sessions_and_errors(burstd, tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    with Store.open(db) as store:
        store.log.started(2**22 + 12345, {"roots": ["/photos"]})  # a pid no process has here
        now = time.time()
        store.sessions.record(SessionRecord(Path("/photos/card"), now - 5, now, 12, 3, 12, 1, 1, 0.8))
        store.log.record_errors([(now, Path("/photos/card/bad.jpg"), "truncated file")])
    info = burstd.json("status", "--cache", db, check=3)
    assert info["running"] is False and info["sessions"][0]["files"] == 12
    text = burstd("status", "--cache", db, check=3).stdout
    assert "not running" in text and "/photos/card: 12 files, 3 bursts" in text and "bad.jpg: truncated file" in text


def test_darktable_lock_files_left_behind_or_garbled_give_no_warning(burstd, tmp_path: Path) -> None:
    conf = tmp_path / "dt"
    conf.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'darktable_config = "{conf}"\n')
    for text in (f"{2**22 + 12345}\0", "", "not a pid\n", "-1"):  # a dead PID (as darktable writes it), junk
        (conf / "library.db.lock").write_text(text)
        info = burstd.json("status", "--config", config, "--cache", tmp_path / "none.sqlite3", check=3)
        assert info["warnings"] == [], text



def test_errors_met_before_the_daemon_started_are_history_and_unreadable_files_are_listed(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    broken = Path("/photos/card/DSC_0009.DNG")
    now = time.time()
    with Store.open(db) as store:
        store.failures.record([(broken, 8192, 1, "cannot decode RAW", now - 600)])
        store.failures.mark_reported([broken])
        store.log.record_errors([(now - 600, broken, "cannot decode RAW")])  # reported by the last run
        # This process stands in for a daemon started 300 s ago, after that error.
        store.log.started(os.getpid(), {"roots": ["/photos"], "open_folders": [
            {"folder": "/photos/new", "files": 12, "analysed": 9, "settles_at": now + 18.2}]})
        with store.db.transaction() as tx:
            tx.execute("UPDATE daemon SET started = ?", [now - 300])
    info = status.gather(db, now=now)
    assert info["running"] and info["problems"] == [] and status.exit_code(info) == 0
    assert [u["path"] for u in info["unreadable"]] == [str(broken)]
    assert info["daemon"]["state"]["open_folders"][0]["settles_in"] == pytest.approx(18.2)
    text = status.render(info)
    assert "files burstd cannot read (reported once, left alone until they change):" in text
    assert f"{broken}: cannot decode RAW" in text
    assert "session open: /photos/new: 12 files arrived, 9 analysed; settles in 18 s at the earliest" in text

    with Store.open(db) as store:  # the running daemon meets an error: news, for an hour
        store.log.record_errors([(now - 10, Path("/photos/new/DSC_0001.JPG"), "empty file")])
    info = status.gather(db, now=now)
    assert info["problems"] == ["1 file error in the last hour"] and status.exit_code(info) == 1
    with Store.open(db) as store:  # an hour later, the daemon still beating
        with store.db.transaction() as tx:
            tx.execute("UPDATE daemon SET heartbeat = ?", [now + 3600])
    assert status.exit_code(status.gather(db, now=now + 3600)) == 0
