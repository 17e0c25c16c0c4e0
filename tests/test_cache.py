"""The database engine and the analysis cache: a real SQLite file, analyses keyed by path, size and mtime_ns."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from burstd.store import Store
from burstd.store.analyses import ANALYSIS_VERSION, CacheEntry
from burstd.store.database import default_cache_path
from burstd.errors import CacheError
from burstd.models import Analysis, Declared, EyeState, Face, TimeSource

A = Analysis(6000, 4000, 1795961187.25, TimeSource.EXIF, make="Canon", model="R5", serial="1", lens="RF 50",
             exposure_time=0.001, aperture=1.8, iso=100, exposure_bias=-0.3, phash=0xFFFF_0000_FFFF_0001,
             dhash=0x8000_0000_0000_0000, tiles=(1.5, 2.25, 0.0, 3.0), grid=(2, 2), source="jpeg/4")


def test_round_trip_and_invalidation(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    photo = tmp_path / "IMG_0001.JPG"
    with Store.open(db) as store:
        store.analyses.save([(photo, 10, 111, CacheEntry("jpeg", A)), (tmp_path / "notes.txt", 5, 7, CacheEntry("none", None))])
    with Store.open(db) as store:
        hit = store.analyses.lookup([(photo, 10, 111), (tmp_path / "notes.txt", 5, 7)])
        assert hit[photo].analysis == A
        assert hit[tmp_path / "notes.txt"].kind == "none"
        assert store.analyses.lookup([(photo, 10, 112)]) == {}  # mtime changed: a miss
        assert store.analyses.lookup([(photo, 11, 111)]) == {}  # size changed: a miss


def test_faces_camera_declarations_and_thumbnail_come_back_as_saved(tmp_path: Path) -> None:
    rich = Analysis(
        4000, 3000, 1.0, TimeSource.MTIME, thumb=bytes(range(128)) * 96, thumb_size=(128, 96),
        faces=(Face((10, 20, 300, 310), 0.93, EyeState.CLOSED, 0.04, 12.5), Face((900, 40, 80, 90), 0.71)),
        declared=Declared("continuous", 3, "exposure", 0.7, "B1D2-UUID", (0.25, 0.5)),
    )
    plain = Analysis(10, 10, 2.0, TimeSource.EXIF)
    with Store.open(tmp_path / "c.sqlite3") as store:
        store.analyses.save([(tmp_path / "a.jpg", 1, 1, CacheEntry("jpeg", rich)), (tmp_path / "b.jpg", 1, 1, CacheEntry("jpeg", plain))])
    with Store.open(tmp_path / "c.sqlite3") as store:
        hit = store.analyses.lookup([(tmp_path / "a.jpg", 1, 1), (tmp_path / "b.jpg", 1, 1)])
    assert hit[tmp_path / "a.jpg"].analysis == rich
    assert hit[tmp_path / "b.jpg"].analysis == plain


def test_wal_private_and_versioned(tmp_path: Path) -> None:
    db = tmp_path / "state" / "burstd" / "cache.sqlite3"
    with Store.open(db) as store:
        assert store.db.schema_version >= 1
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_analysis_version_change_is_a_miss(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    photo = tmp_path / "a.jpg"
    with Store.open(db) as store:
        store.analyses.save([(photo, 1, 1, CacheEntry("jpeg", A))])
        with store.db.transaction() as tx:
            tx.execute("UPDATE files SET version = ?", [ANALYSIS_VERSION - 1])
        assert store.analyses.lookup([(photo, 1, 1)]) == {}


def test_non_utf8_names(tmp_path: Path) -> None:
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/IMG_\xff\xfe.JPG"))
    with Store.open(tmp_path / "c.sqlite3") as store:
        store.analyses.save([(odd, 1, 1, CacheEntry("jpeg", A))])
        assert store.analyses.lookup([(odd, 1, 1)])[odd].analysis == A


def test_newer_schema_and_garbage_are_clear_errors(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(CacheError, match="newer burstd"):
        Store.open(newer)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="delete it"):
        Store.open(garbage)


def test_default_location_follows_xdg_state_home(private_state: Path) -> None:
    assert default_cache_path() == private_state / "burstd" / "cache.sqlite3"


def test_deleting_the_cache_loses_only_time(burstd, tmp_path: Path) -> None:
    from tests.photos import DATA
    import shutil

    folder = tmp_path / "f"
    folder.mkdir()
    for i in range(3):
        shutil.copy(DATA / f"step{i}.jpg", folder)
    db = tmp_path / "c.sqlite3"
    first = burstd.json("scan", folder, "--cache", db, "--dry-run")
    db.unlink()
    second = burstd.json("scan", folder, "--cache", db, "--dry-run")
    assert second["summary"]["analysed"] == 3
    assert first["groups"] == second["groups"]


def test_a_transaction_commits_all_of_its_writes_or_none(tmp_path: Path) -> None:
    """Writes of several concerns in one `Store.transaction` (as `burstd undo` settles a sidecar)."""
    db = tmp_path / "c.sqlite3"
    photo = tmp_path / "a.jpg"
    with Store.open(db) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.analyses.save([(photo, 1, 1, CacheEntry("jpeg", A))])
                store.groupings.save(tmp_path, [[str(photo)]])
                raise RuntimeError("stopped between the writes")
        assert store.analyses.lookup([(photo, 1, 1)]) == {} and store.groupings.get(tmp_path) == []
        with store.transaction():
            store.analyses.save([(photo, 1, 1, CacheEntry("jpeg", A))])
            store.groupings.save(tmp_path, [[str(photo)]])
    with Store.open_readonly(db) as reader:
        assert reader.analyses.lookup([(photo, 1, 1)])[photo].analysis == A
        assert reader.groupings.get(tmp_path) == [[str(photo)]]


def test_failures_hold_while_the_file_is_unchanged_and_keep_their_reported_mark(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    raw, gone = tmp_path / "card" / "DSC_0009.DNG", tmp_path / "card" / "DSC_0010.DNG"
    with Store.open(db) as store:
        store.failures.record([(raw, 8192, 111, "truncated", 100.0), (gone, 1, 1, "empty file", 100.0)])
        assert store.failures.lookup([(raw, 8192, 111)])[raw].reported is False
        store.failures.mark_reported([raw])
        store.failures.record([(raw, 8192, 111, "truncated", 200.0)])  # met again, as it was: still reported
        assert store.failures.lookup([(raw, 8192, 111)])[raw].reported is True
        assert store.failures.lookup([(raw, 8192, 112)]) == {}  # mtime changed: another file
        store.failures.record([(raw, 9000, 112, "truncated", 300.0)])  # changed, and fails again: news
        assert store.failures.lookup([(raw, 9000, 112)])[raw].reported is False
        store.failures.forget_missing(raw.parent, [raw])  # DSC_0010 was deleted
        assert [f["path"] for f in store.failures.listing()] == [str(raw)]


def test_a_file_analysed_fine_since_its_failure_is_no_longer_listed_nor_its_errors(tmp_path: Path) -> None:
    photo = tmp_path / "DSC_0001.JPG"
    with Store.open(tmp_path / "c.sqlite3") as store:
        store.failures.record([(photo, 10, 1, "truncated file", 1.0)])  # a copy that stalled halfway
        store.log.record_errors([(2.0, photo, "truncated file"), (2.0, tmp_path / "other.JPG", "empty file")])
        assert [f["path"] for f in store.failures.listing()] == [str(photo)]
        store.analyses.save([(photo, 20, 2, CacheEntry("jpeg", A))])  # it completed, and was analysed
        assert store.failures.listing() == []
        assert [e["path"] for e in store.log.recent_errors()] == [str(tmp_path / "other.JPG")]
