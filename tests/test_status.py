"""`burstd status` on its own: a real database file, no daemon (the daemon tests cover it running)."""

from __future__ import annotations

import json
import time
from pathlib import Path

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
