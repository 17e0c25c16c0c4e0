"""The daemon's view of bad files and open sessions, as `burstd status` and `burstd run -v` show it.

The real daemon in a subprocess (test_daemon's helper), real photos, real broken files: a file that
cannot be read is reported once and then left alone until it changes; an error of a file since
fixed leaves `status`; an open session shows its files and when it settles within a second or two;
`-v` logs every file event and decision.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import test_daemon
from tests.helpers_exiftool import needs_exiftool
from tests.photos import DATA
from tests.test_daemon import ratings, staged

pytestmark = pytest.mark.slow  # the real daemon in a subprocess


class Daemon(test_daemon.Daemon):
    """test_daemon's daemon, which can also run without `-v`."""

    def start_without_verbose(self) -> Daemon:
        self.log_path = self.base / f"daemon-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "burstd", "run"], env=self.env, cwd=self.base,
                                     stdout=self.log_path.open("w"), stderr=subprocess.STDOUT)
        self.wait_for(lambda: self.status()["running"], what="the daemon to start")
        return self

    def state(self) -> dict:
        return (self.status().get("daemon") or {}).get("state") or {}

    def idle(self) -> bool:
        state = self.state()
        return (state.get("waiting"), state.get("analysing"), state.get("open_folders"), state.get("current")) == (0, 0, [], None)

    def errors_of(self, path: Path) -> list[dict]:
        return [e for e in self.status()["errors"] if e["path"] == str(path)]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from test_daemon.watching(tmp_path, Daemon)


def truncated_raw(path: Path) -> Path:
    """The first 8 KB of a real RAW: what a card pulled out mid-copy leaves behind, for good."""
    path.write_bytes((DATA / "colorchart.dng").read_bytes()[:8192])
    return path


def lines_naming(log: str, name: str) -> list[str]:
    return [line for line in log.splitlines() if name in line]


@needs_exiftool
def test_a_broken_file_is_reported_once_and_not_again_after_a_restart(daemon: Daemon, tmp_path: Path) -> None:
    daemon.write_config("report = true\n")
    card = daemon.root / "card"
    shutil.copytree(staged(tmp_path, "card", [0.0, 1.0]), card)
    broken = truncated_raw(card / "DSC_0009.DNG")
    page = card / "burstd-report.html"
    daemon.start()  # catch-up: the card was there before the daemon
    daemon.wait_for(lambda: daemon.status()["sessions"] and daemon.idle() and page.exists(), what="the session")

    (error,) = daemon.errors_of(broken)  # reported once, with the file and a reason
    assert error["reason"] and "Traceback" not in daemon.log()
    assert len([line for line in lines_naming(daemon.log(), broken.name) if "ERROR" in line]) == 1, daemon.log()
    assert daemon.cli("status").returncode == 1  # news: the running daemon just met it
    assert ratings(card) == {"DSC_0001.JPG": 3, "DSC_0002.JPG": 2}
    page_before = page.stat().st_mtime_ns
    assert daemon.stop() == 0

    daemon.start()  # the next login: the file is known to be broken, as it is
    time.sleep(3.0)  # catch-up, and three quiet periods: room for a session that must not come
    daemon.wait_for(daemon.idle, what="the daemon to be idle")
    log = daemon.log()
    assert lines_naming(log, broken.name) == [], f"the broken file was looked at again:\n{log}"
    assert len(daemon.errors_of(broken)) == 1, "the broken file was reported again"
    assert len(daemon.status()["sessions"]) == 1, "a session ran for nothing new"
    assert page.stat().st_mtime_ns == page_before, "the review page was rewritten for nothing new"
    status = daemon.cli("status")
    assert status.returncode == 0, status.stdout
    assert "files burstd cannot read" in status.stdout and f"{broken}: {error['reason']}" in status.stdout
    info = daemon.status()
    assert [(u["path"], u["reason"]) for u in info["unreadable"]] == [(str(broken), error["reason"])]

    # The file changes (copied again, whole this time): it is analysed again, rated, and no longer listed.
    shutil.copy(DATA / "flower.jpg", broken.with_suffix(".tmp"))
    broken.with_suffix(".tmp").replace(broken)
    daemon.wait_for(lambda: (card / "DSC_0009.DNG.xmp").exists() and len(daemon.status()["sessions"]) == 2
                    and daemon.idle(), what="the replaced file to be rated")
    assert daemon.status()["unreadable"] == []
    assert daemon.errors_of(broken) == [], "the error of the file since fixed is still shown"
    assert daemon.cli("status").returncode == 0
    assert daemon.stop() == 0


@needs_exiftool
def test_a_copy_that_stalled_failed_then_completed_leaves_no_error(daemon: Daemon, tmp_path: Path) -> None:
    source = staged(tmp_path, "stall", [0.0, 2.0])
    data = (source / "DSC_0001.JPG").read_bytes()
    daemon.start()
    card = daemon.root / "stall"
    card.mkdir()
    shutil.copy(source / "DSC_0002.JPG", card)
    half = card / "DSC_0001.JPG"
    with half.open("wb") as f:  # the copy stalls halfway (a slow card reader), the file still open
        f.write(data[: len(data) // 2])
        f.flush()
        # Past `stable_seconds` it is taken as final; it fails, and its session reports that.
        daemon.wait_for(lambda: daemon.errors_of(half), what="the half file's error")
        assert daemon.cli("status").returncode == 1
        f.write(data[len(data) // 2 :])  # the copy goes on, and completes
    daemon.wait_for(lambda: ratings(card) == {"DSC_0001.JPG": 3, "DSC_0002.JPG": 2} and daemon.idle(),
                    what="the completed file to be rated")
    assert daemon.errors_of(half) == []
    assert daemon.status()["unreadable"] == []
    status = daemon.cli("status")
    assert status.returncode == 0, status.stdout
    assert daemon.stop() == 0


def test_status_shows_an_open_session_with_its_files_within_two_seconds(daemon: Daemon, tmp_path: Path) -> None:
    (daemon.root / ".burstd.toml").write_text("quiet_seconds = 30\n")
    card = daemon.root / "card"
    card.mkdir()
    source = staged(tmp_path, "card", [0.0, 1.0, 2.0])
    daemon.start()
    time.sleep(1.0)  # idle: the daemon's slow heartbeat is what status would otherwise wait for
    copied = time.monotonic()
    for f in sorted(source.iterdir()):
        shutil.copy(f, card)

    def shown() -> dict | None:
        found = [s for s in daemon.state().get("open_folders", []) if s["folder"] == str(card)]
        return found[0] if found and found[0]["files"] == 3 else None

    while (session := shown()) is None:
        assert time.monotonic() - copied < 2.5, f"status still shows no session of 3 files:\n{daemon.status()}"
        time.sleep(0.05)
    assert 20 < session["settles_in"] <= 30, session
    daemon.wait_for(lambda: (shown() or {}).get("analysed") == 3, what="the analysis of the 3 files", timeout=10)
    text = daemon.cli("status").stdout
    assert f"session open: {card}: 3 files arrived, 3 analysed; settles in " in text, text
    assert not list(card.glob("*.xmp")), "the session settled before its quiet period"
    assert daemon.stop() == 0


def test_run_verbose_logs_every_file_event_and_decision(daemon: Daemon, tmp_path: Path) -> None:
    def drop(name: str) -> Path:
        folder = daemon.root / name
        folder.mkdir()
        for f in sorted(staged(tmp_path, name, [0.0, 1.0]).iterdir()):
            shutil.copy(f, folder)
        (folder / "notes.txt").write_text("shopping list\n")
        (folder / ".hidden.JPG").write_bytes((DATA / "flower.jpg").read_bytes())
        (folder / "IMG_0001.JPG.part").write_bytes(b"half")
        truncated_raw(folder / "DSC_0009.DNG")
        shutil.copy(DATA / "flower.jpg", folder / ".DSC_0003.JPG.XyZ123")  # rsync's way: a temp name ...
        (folder / ".DSC_0003.JPG.XyZ123").rename(folder / "DSC_0003.JPG")  # ... renamed into place
        return folder

    daemon.start()
    verbose = drop("v")
    daemon.wait_for(lambda: daemon.status()["sessions"] and daemon.idle(), what="the session")
    (verbose / "notes.txt").unlink()
    daemon.wait_for(lambda: lines_naming(daemon.log(), "notes.txt: deleted"), what="the deletion to be logged")
    daemon.wait_for(daemon.idle, what="the session of the deletion")
    sessions = len(daemon.status()["sessions"])
    assert daemon.stop() == 0
    log = daemon.log()
    expected = {
        "DSC_0001.JPG": ["created", "closed", "complete", "analysed"],
        "DSC_0003.JPG": ["moved-in", "complete", "analysed"],
        "notes.txt": ["created", "closed", "complete", "not an image", "deleted"],
        ".hidden.JPG": ["ignored: a hidden file"],
        "IMG_0001.JPG.part": ["ignored: a temporary file"],
        "DSC_0009.DNG": ["complete", "failed:"],
    }
    for name, decisions in expected.items():
        said = "\n".join(lines_naming(log, f"{verbose / name}:"))
        for decision in decisions:
            assert decision in said, f"{name}: no `{decision}` in\n{said}\n--- the whole log:\n{log}"
    assert lines_naming(log, f"{verbose}: session opened") and lines_naming(log, f"{verbose}: session over"), log

    daemon.start_without_verbose()
    quiet = drop("q")
    daemon.wait_for(lambda: len(daemon.status()["sessions"]) > sessions and daemon.idle(), what="the second session")
    assert daemon.stop() == 0
    log = daemon.log()
    assert f"{quiet}: " in log  # the session's summary and the broken file's error are always logged
    for words in ("created", "closed", "complete", "analysed", "ignored", "session opened", "session over"):
        assert not [line for line in log.splitlines() if f": {words}" in line], f"`{words}` without -v:\n{log}"

