"""The one atomic write: real files in tmp_path, nothing left half-written or behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from burstd import fsio


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if fsio.is_temp_file(p))


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_file_gets_the_usual_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "page.html"
    fsio.write_atomically(target, b"<html>")
    assert target.read_bytes() == b"<html>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_an_exact_mode_ignores_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        fsio.write_atomically(tmp_path / "burstd.service", b"[Unit]\n", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "burstd.service").stat().st_mode) == 0o644


def test_replace_keeps_the_mode_and_owner_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "a.xmp"
    target.write_bytes(b"old")
    target.chmod(0o640)
    st = target.stat()
    fsio.write_atomically(target, b"new", mode=0o640, owner=(st.st_uid, st.st_gid))
    after = target.stat()
    assert target.read_bytes() == b"new" and after.st_ino != st.st_ino
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_gid) == (0o640, st.st_uid, st.st_gid)


def test_create_only_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "a.xmp"
    fsio.write_atomically(target, b"first", create_only=True)
    with pytest.raises(fsio.AtomicWriteError) as caught:
        fsio.write_atomically(target, b"second", create_only=True)
    assert caught.value.reason == fsio.APPEARED
    assert target.read_bytes() == b"first"
    assert leftovers(tmp_path) == []


def test_the_last_check_runs_with_the_bytes_ready_and_can_stop_the_replace(tmp_path: Path) -> None:
    target = tmp_path / "a.xmp"
    target.write_bytes(b"theirs")
    seen: list[list[str]] = []

    def changed_meanwhile() -> None:
        seen.append(leftovers(tmp_path))  # the temp file is complete by now
        raise RuntimeError("changed")

    with pytest.raises(RuntimeError):
        fsio.write_atomically(target, b"ours", before_replace=changed_meanwhile)
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith(".a.xmp.burstd-")
    assert target.read_bytes() == b"theirs"
    assert leftovers(tmp_path) == []


def test_a_missing_folder_is_one_line_reason(tmp_path: Path) -> None:
    with pytest.raises(fsio.AtomicWriteError) as caught:
        fsio.write_atomically(tmp_path / "gone" / "a.xmp", b"x")
    assert caught.value.reason.startswith("cannot write a temp file in its folder: ")
    assert isinstance(caught.value, OSError)  # callers that catch OSError (the unit installer) see it


def test_stale_temps_are_removed_and_nothing_else(tmp_path: Path) -> None:
    stale = tmp_path / ".IMG_0001.CR2.xmp.burstd-a1b2c3.tmp"
    stale.write_bytes(b"half")
    keep = [tmp_path / "IMG_0001.CR2.xmp", tmp_path / ".IMG_0001.CR2.xmp.part", tmp_path / "x.burstd-a1b2c3.tmp"]
    for path in keep:
        path.write_bytes(b"mine")
    (tmp_path / ".link.burstd-000000.tmp").symlink_to(keep[0])
    assert fsio.remove_stale_temps(tmp_path) == 1
    assert not stale.exists() and all(p.exists() for p in keep)
    assert fsio.remove_stale_temps(tmp_path / "missing") == 0
