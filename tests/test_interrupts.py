"""Stopping burstd part-way, as users do: Ctrl-C (SIGINT) or SIGTERM to the real `burstd scan` while
it analyses and while it writes, and to the real daemon while a card dump is being analysed.

The photos are hard links to copies of real camera JPEGs (1,500 names, a few inodes), so a folder
big enough to be stopped half-way costs no disk. The scan's stderr is a terminal (a pty), so the
test sees the progress bar a user sees, and presses Ctrl-C once the bar shows work under way.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from burstd.fsio import is_temp_file
from burstd.store import Store
from tests.conftest import ROOT
from tests.helpers_exiftool import needs_exiftool
from tests.photos import DATA
from tests.test_daemon import Daemon

pytestmark = pytest.mark.slow  # real processes, real signals, thousands of files

FILES = 1500
SOURCES = ("pcb_003.JPG", "pcb_004.JPG", "pcb_005.JPG", "IMG_5910.jpg")
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
NAME = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


def many_photos(tmp_path: Path, count: int = FILES) -> Path:
    """`count` photos named like a card's, hard links to real camera JPEGs copied once."""
    originals = tmp_path / "originals"
    originals.mkdir()
    sources = [shutil.copy(DATA / name, originals / name) for name in SOURCES]
    card = tmp_path / "card"
    card.mkdir()
    for i in range(count):
        os.link(sources[i % len(sources)], card / f"DSC_{i:04d}.JPG")
    return card


class ScanOnTerminal:
    """`burstd scan` with its stderr on a pseudo-terminal (as in a shell), its stdout in a pipe."""

    def __init__(self, *args: str | Path) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "burstd", "scan", *map(str, args)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=slave, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        os.close(slave)
        self._master = master
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            self._chunks.append(chunk)
        os.close(self._master)

    @property
    def stderr(self) -> str:
        return b"".join(self._chunks).decode(errors="replace").replace("\r\n", "\n")

    def wait_for_progress(self, stage: str, at_least: int, timeout: float = 120.0) -> None:
        """Until the progress bar shows `stage` with at least `at_least` files done."""
        pattern = re.compile(rf"{stage}\s+\[[#.]+\] (\d+)/\d+")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [int(n) for n in pattern.findall(self.stderr[-4000:])]
            if done and max(done) >= at_least:
                return
            assert self.proc.poll() is None, f"the scan ended before {stage} {at_least}:\n{self.stderr}"
            time.sleep(0.02)
        raise AssertionError(f"no {stage} progress to {at_least} within {timeout} s:\n{self.stderr[-2000:]}")

    def stop_with(self, signum: int) -> tuple[int, float]:
        """Send `signum`; (exit code, seconds from the signal to the exit)."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=60)
        elapsed = time.monotonic() - sent
        self._reader.join(timeout=10)
        return code, elapsed


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "burstd", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)


def the_one_line(stderr: str) -> str:
    """The interruption line: exactly one, and no traceback anywhere."""
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [line.rsplit("\x1b[K", 1)[-1] for line in stderr.split("\n") if "interrupted" in line]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0].strip()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_scan_stopped_while_analysing_keeps_what_it_analysed(tmp_path: Path, signum: int) -> None:
    card = many_photos(tmp_path)
    scan = ScanOnTerminal(card, "--workers", "1")
    scan.wait_for_progress("analyse", 50)
    code, elapsed = scan.stop_with(signum)
    assert code == EXIT[signum], scan.stderr[-3000:]
    assert elapsed < 3.0, f"{elapsed:.1f} s from the signal to the exit"
    line = the_one_line(scan.stderr)
    found = re.fullmatch(rf"burstd scan: interrupted by {re.escape(NAME[signum])}: (\d+) of {FILES} files analysed "
                         r"and kept, 0 sidecars written; run the same command again to finish", line)
    assert found, line
    kept = int(found.group(1))
    assert 50 <= kept < FILES
    assert scan.proc.stdout.read() == b"", "no summary: the one line says it all"
    assert not list(card.glob("*.xmp")), "nothing is grouped or written after an analysis cut short"
    # The same command again analyses only the rest, and finishes.
    rerun = run_cli("scan", card, "--json")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)["summary"]
    assert (summary["cached"], summary["analysed"]) == (kept, FILES - kept)
    assert summary["sidecars"] == {"created": FILES}


@needs_exiftool
def test_a_scan_stopped_while_writing_leaves_every_sidecar_whole(tmp_path: Path) -> None:
    card = many_photos(tmp_path)
    assert run_cli("scan", card, "--dry-run").returncode == 0  # every analysis in the cache: straight to writing
    scan = ScanOnTerminal(card)
    scan.wait_for_progress("write", 50)
    code, elapsed = scan.stop_with(signal.SIGINT)
    assert code == 130, scan.stderr[-3000:]
    assert elapsed < 3.0, f"{elapsed:.1f} s from the signal to the exit"
    line = the_one_line(scan.stderr)
    found = re.fullmatch(rf"burstd scan: interrupted by Ctrl-C \(SIGINT\): {FILES} of {FILES} files analysed and "
                         r"kept, (\d+) sidecars written; run the same command again to finish, or "
                         rf"`burstd undo {re.escape(str(card))}` to take back what was written", line)
    assert found, line
    written = int(found.group(1))
    sidecars = sorted(card.glob("*.xmp"))
    assert 50 <= written == len(sidecars) < FILES
    assert not [p for p in card.iterdir() if is_temp_file(p)], "no temp file of a write cut short"
    # Every sidecar there is whole: exiftool reads burstd's rating from each.
    read = subprocess.run(["exiftool", "-j", "-XMP-xmp:Rating", *map(str, sidecars)], capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    assert all("Rating" in tags for tags in json.loads(read.stdout))
    # The same command finishes the folder; `burstd undo DIR` would take back what was written.
    rerun = run_cli("scan", card, "--json")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)["summary"]
    assert (summary["cached"], summary["analysed"]) == (FILES, 0)
    assert summary["sidecars"] == {"unchanged": written, "created": FILES - written}


def test_a_second_signal_ends_the_scan_at_once(tmp_path: Path) -> None:
    card = many_photos(tmp_path, 600)
    scan = ScanOnTerminal(card, "--workers", "1")
    scan.wait_for_progress("analyse", 20)
    # Held stopped, the scan gets both signals at once when it goes on: Ctrl-C, then SIGTERM before
    # it could act on the first (two SIGINTs would merge into one while it is held).
    scan.proc.send_signal(signal.SIGSTOP)
    scan.proc.send_signal(signal.SIGINT)
    scan.proc.send_signal(signal.SIGTERM)
    code, elapsed = scan.stop_with(signal.SIGCONT)
    assert code == 143 and elapsed < 3.0, scan.stderr[-2000:]
    assert "Traceback" not in scan.stderr
    assert "burstd scan: stopped at once on a second signal" in scan.stderr, scan.stderr[-2000:]


# --- the daemon --------------------------------------------------------------------------------------


def analyses_stored(daemon: Daemon) -> int:
    """How many analyses the daemon has kept in its cache (read as `burstd status` reads, never blocking it)."""
    database = daemon.state_home / "burstd" / "cache.sqlite3"
    if not database.exists():
        return 0
    with Store.open_readonly(database) as store:
        return store.db.execute("SELECT count(*) FROM files").fetchone()[0]


def test_stopping_the_daemon_mid_card_says_one_line_and_a_restart_finishes(tmp_path: Path) -> None:
    root = tmp_path / "import"
    root.mkdir()
    daemon = Daemon(tmp_path, root, "workers = 1\n")  # one decoding thread: the analysis takes a while
    try:
        card = many_photos(tmp_path)
        daemon.start()
        os.rename(card, root / "big")  # a card's folder moved in: every file appears at once
        daemon.wait_for(lambda: analyses_stored(daemon) >= 100, what="the analysis to be under way")
        assert analyses_stored(daemon) < FILES - 100, "the analysis was too fast to be stopped half-way"
        sent = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=30)
        elapsed = time.monotonic() - sent
        daemon.proc = None
        log = daemon.log()
        assert code == 0, log
        assert "Traceback" not in log and "CancelledError" not in log, log[-3000:]
        stopped = [line for line in log.splitlines() if "stopped" in line]
        assert len(stopped) == 1, log[-3000:]
        assert re.fullmatch(r"burstd: stopped by SIGTERM: \d+ files? not analysed yet and 1 folder not "
                            r"settled; the next start takes them up", stopped[0]), stopped
        assert elapsed < 5.0, f"{elapsed:.1f} s from SIGTERM to the exit"
        assert not list((root / "big").glob("*.xmp"))
        # A restart catches up and finishes the folder.
        daemon.start()
        daemon.wait_for(lambda: len(list((root / "big").glob("*.xmp"))) == FILES, what="every sidecar", timeout=120)
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None:
            daemon.proc.kill()
            daemon.proc.wait()


def test_ctrl_c_on_burstd_run_stops_it_quietly(tmp_path: Path) -> None:
    root = tmp_path / "import"
    root.mkdir()
    daemon = Daemon(tmp_path, root).start()
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.proc.wait(timeout=30) == 0
    daemon.proc = None
    log = daemon.log()
    assert "Traceback" not in log and log.strip().splitlines()[-1] == "burstd: stopped by SIGINT", log
