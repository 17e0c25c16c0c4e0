"""Faults and hostile input around the real daemon and CLI (issue 4, "Reliability").

Crashes (`kill -9` at random points, again and again), a file-size limit and a full disk during
writes, a read-only folder, the database deleted, damaged or locked, links out of a watched root,
the inotify watch limit, bad images and bad sidecars dropped into a watched folder, files replaced
or deleted while they are analysed, 1,000 files dropped at once. Each case checks what the user sees
(exit code, one message naming the file and the reason, `burstd status`) and that nothing was lost:
every image byte for byte as it was, every other program's sidecar either byte for byte as it was
or, where burstd updated it, with every property that is not burstd's read back unchanged by
exiftool; every sidecar parses; no temp file is left. Everything runs for real: real photos, real
SQLite, the real daemon in a subprocess.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from burstd.config.files import FOLDER_KEYS, GLOBAL_KEYS
from burstd.fsio import TEMP_PATTERN
from burstd.sidecar.files import read_sidecar
from burstd.store import Store
from tests import test_daemon
from tests.conftest import ROOT
from tests.helpers_exiftool import EXIFTOOL, exiftool_tags, needs_exiftool, without
from tests.photos import DATA, make_burst
from tests.test_bad_input import _AS_NOBODY
from tests.test_daemon import host_limits_untouched  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow  # the real daemon and scans under injected faults

T0 = datetime(2026, 11, 24, 18, 0, 0)
SMALL = (480, 320)
SIDECARS = Path(__file__).parent / "data" / "sidecars"
OWNED = ("XMP-xmp:Rating", "XMP-burstd:")  # what burstd may change in another program's sidecar
PACKAGE = ROOT / "burstd"
NIKON = "nikon_z_9_high_efficiency_compressed_dx_cropped_max_overexposed.dng"


# --- helpers ------------------------------------------------------------------------------------


class Daemon(test_daemon.Daemon):
    """test_daemon's daemon, which can also be killed with -9 and asked whether it is idle."""

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def state(self) -> dict:
        info = self.status()
        return (info.get("daemon") or {}).get("state") or {}

    def idle(self) -> bool:
        state = self.state()
        return (state.get("waiting"), state.get("analysing"), state.get("open_folders"), state.get("current")) == (0, 0, [], None)

    def until(self, condition: Callable[[], bool], *, what: str, timeout: float = 45.0) -> None:
        """Like `wait_for`, for conditions that the daemon's exit may be part of."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.base.glob("daemon-*.log")))


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from test_daemon.watching(tmp_path, Daemon)


def card(tmp_path: Path, name: str, source: str, blurs: list[float], *, first: int = 1, start: datetime = T0) -> Path:
    """A staged card folder (outside the root, same file system: moving it in is one rename)."""
    folder = tmp_path / "staging" / name
    folder.mkdir(parents=True)
    make_burst(folder, DATA / source, blurs, start=start, first_number=first, size=SMALL)
    return folder


def images(top: Path) -> dict[str, str]:
    """sha256 of every file under `top` that is not a sidecar, keyed by path relative to `top`."""
    found = {}
    for dirpath, _dirs, names in os.walk(os.fsencode(top)):
        for name in names:
            path = os.path.join(dirpath, name)
            if not name.lower().endswith(b".xmp") and not os.path.islink(path):
                with open(path, "rb") as f:
                    found[os.fsdecode(os.path.relpath(path, os.fsencode(top)))] = hashlib.sha256(f.read()).hexdigest()
    return found


def tree(top: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every entry under `top` (links not followed) with its content digest or link target."""
    found = {}
    skipped = {os.fsencode(s) for s in skip}
    for dirpath, dirs, names in os.walk(os.fsencode(top)):
        dirs[:] = [d for d in dirs if os.path.join(dirpath, d) not in skipped]
        for name in [*names, *dirs]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                found[os.fsdecode(path)] = "-> " + os.fsdecode(os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    found[os.fsdecode(path)] = hashlib.sha256(f.read()).hexdigest()
            else:
                found[os.fsdecode(path)] = "dir"
    return found


def temps(top: Path) -> list[str]:
    return [os.fsdecode(os.path.join(d, n)) for d, _, names in os.walk(os.fsencode(top))
            for n in names if TEMP_PATTERN.match(os.fsdecode(n))]


def rated(image: Path) -> bool:
    """Whether `image` has a sidecar that burstd reads back with a rating it wrote."""
    try:
        state = read_sidecar(image.with_name(image.name + ".xmp"))
    except Exception:  # noqa: BLE001 - a sidecar burstd cannot read is simply "not rated yet"
        return False
    return state is not None and state.burstd_rating is not None


def exiftool_many(paths: list[Path]) -> dict[str, dict]:
    """exiftool's reading of many sidecars in one run (XMP tags only), keyed by path."""
    assert EXIFTOOL is not None
    found: dict[str, dict] = {}
    for start in range(0, len(paths), 500):
        out = subprocess.run([EXIFTOOL, "-j", "-G1", "-a", "-n", *map(str, paths[start : start + 500])],
                             capture_output=True, text=True, check=True).stdout
        found.update({d["SourceFile"]: {k: v for k, v in d.items() if k.startswith("XMP-")} for d in json.loads(out)})
    return found


def planned(folder: Path, *options: str) -> dict[str, tuple[int, int]]:
    """(rating, burst size) a clean full scan (fresh cache, writing nothing) plans for each image."""
    with tempfile.TemporaryDirectory() as state:
        result = subprocess.run(
            [sys.executable, "-m", "burstd", "scan", str(folder), "--dry-run", "--json", "--cache",
             str(Path(state) / "c.sqlite3"), *options],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
        )
    report = json.loads(result.stdout)
    return {Path(f).name: (m["rating"], b["size"]) for b in report["groups"] for m in b["members"] for f in m["files"]}


def huge_sidecar(size: int) -> bytes:
    """A valid XMP sidecar of another program, made `size` bytes long by a long description."""
    text = (SIDECARS / "digikam_no_xpacket.xmp").read_text()
    word = "heron "
    filler = word * ((size - len(text)) // len(word))
    description = f"\t\t\t<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>{filler}</rdf:li></rdf:Alt></dc:description>\n"
    return text.replace("\t\t</rdf:Description>", description + "\t\t</rdf:Description>").encode()


def assert_foreign_kept(before: dict[str, object], after: dict[str, object]) -> None:
    """Every property of another program reads back as it was; burstd may only have added its own
    values (its rating and fields, and keywords appended to a keyword list)."""
    for key, value in without(before, *OWNED).items():
        if isinstance(value, list):
            assert after.get(key, [])[: len(value)] == value, key
        else:
            assert after.get(key) == value, key


def error_reasons(d: Daemon) -> dict[str, str]:
    return {Path(e["path"]).name: e["reason"] for e in d.status()["errors"]}


# --- the process: crashes -----------------------------------------------------------------------


@needs_exiftool
def test_kill_9_at_random_points_and_a_restart_completes_every_session(daemon: Daemon, tmp_path: Path) -> None:
    rng = random.Random(20261124)
    daemon.write_config("threshold = 0.75\n")
    cards = [
        card(tmp_path, "c0", "IMG_5910.jpg", [1.0, 0.0, 2.0, 0.5, 3.0, 1.5]),
        card(tmp_path, "c1", "pcb_004.JPG", [0.0, 2.0, 1.0, 2.5, 0.5], first=10),
        card(tmp_path, "c2", "step1.jpg", [2.0, 0.0, 1.0, 3.0], first=20),
    ]
    # Two other programs' sidecars: one without a rating (burstd adds its own), one rated by hand.
    shutil.copy(SIDECARS / "digikam_no_xpacket.xmp", cards[0] / "DSC_0001.JPG.xmp")
    shutil.copy(SIDECARS / "IMG_0001.CR2.xmp", cards[0] / "DSC_0002.JPG.xmp")
    digikam_before = exiftool_tags(cards[0] / "DSC_0001.JPG.xmp")
    darktable_bytes = (cards[0] / "DSC_0002.JPG.xmp").read_bytes()
    before = {f"{c.name}/{k}": v for c in cards for k, v in images(c).items()}
    root = daemon.root

    # Seven crashes: during start-up and catch-up, at random moments of a session, and right after
    # a session wrote its first sidecar (so the rest of its writes are left to the next start).
    for cycle in range(7):
        daemon.start(ready=cycle % 3 != 1)
        if cycle < len(cards):
            os.rename(cards[cycle], root / cards[cycle].name)
        if cycle in (0, 2):
            target = root / cards[cycle].name
            daemon.wait_for(lambda: any(p.suffix == ".xmp" and p.name != "DSC_0001.JPG.xmp" for p in target.iterdir()),
                            what="the first sidecar", timeout=30)
        else:
            time.sleep(rng.uniform(0.0, 1.5))
        daemon.kill9()
    # What a crash between writing a temp file and renaming it into place leaves behind.
    stale = root / "c0" / ".DSC_0003.JPG.xmp.burstd-0a1b2c.tmp"
    stale.write_bytes(darktable_bytes[:1000])

    daemon.start()
    every = [p for p in root.rglob("*.JPG")]
    daemon.wait_for(lambda: all(rated(p) for p in every if p.name != "DSC_0002.JPG") and daemon.idle(),
                    what="every image rated after the crashes", timeout=60)
    assert daemon.stop() == 0

    assert {k: v for k, v in images(root).items()} == before, "an image changed"
    assert temps(root) == []
    assert (root / "c0" / "DSC_0002.JPG.xmp").read_bytes() == darktable_bytes  # rated by hand: untouched
    assert_foreign_kept(digikam_before, exiftool_tags(root / "c0" / "DSC_0001.JPG.xmp"))
    # Every sidecar parses, and says what a clean run says: no session was lost or left half done.
    read = exiftool_many(sorted(root.rglob("*.xmp")))
    for folder in (root / c.name for c in cards):
        plan = planned(folder, "-d", "0.75")
        for image in sorted(folder.glob("*.JPG")):
            if image.name == "DSC_0002.JPG":
                continue
            tags = read[str(image) + ".xmp"]
            assert (tags["XMP-xmp:Rating"], tags["XMP-burstd:BurstSize"]) == plan[image.name], image
    info = daemon.status()
    assert info["errors"] == [] and not info["running"]
    assert {Path(s["folder"]).name for s in info["sessions"]} >= {"c0", "c1", "c2"}


# --- the process: limits, full disks, read-only folders -----------------------------------------


@needs_exiftool
def test_a_file_size_limit_during_a_write_is_reported_and_a_later_start_completes(daemon: Daemon, tmp_path: Path) -> None:
    folder = card(tmp_path, "big", "IMG_5910.jpg", [0.0, 1.0, 2.0])
    big = folder / "DSC_0002.JPG.xmp"
    big.write_bytes(huge_sidecar(8 * 2**20))  # another program's 8 MB sidecar: its copy crosses the limit
    big_bytes, big_tags = big.read_bytes(), exiftool_tags(big)
    before = images(folder)
    limit = 6 * 2**20

    daemon.start(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    os.rename(folder, daemon.root / "big")
    folder = daemon.root / "big"
    big = folder / "DSC_0002.JPG.xmp"
    daemon.until(lambda: daemon.proc.poll() is not None or bool(daemon.status()["sessions"] and daemon.idle()),
                 what="the session, or the daemon's exit")
    log = daemon.logs()
    assert "Traceback" not in log, log
    # One clear message names the limit, whichever file (the sidecar's temp copy, or the journal of
    # the write in the database) reached it first.
    assert [line for line in log.splitlines() if "too large" in line.lower() or "disk i/o error" in line.lower()], log
    assert big.read_bytes() == big_bytes and temps(folder) == [] and images(folder) == before
    assert daemon.proc is not None and daemon.proc.poll() is None, log  # one sidecar's problem, not the daemon's
    assert daemon.stop() == 0

    daemon.start()  # without the limit: the sidecar left undone is done now
    daemon.wait_for(lambda: rated(folder / "DSC_0002.JPG") and rated(folder / "DSC_0001.JPG") and daemon.idle(),
                    what="the big sidecar to be rated after a restart")
    assert daemon.stop() == 0
    assert_foreign_kept(big_tags, exiftool_tags(big))
    assert temps(folder) == [] and images(folder) == before


def fill(filesystem: Path) -> Path:
    """Fill `filesystem` to the last byte with one file; returns it (delete it to free the space)."""
    filler = filesystem / "filler.bin"
    with filler.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return filler


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (a nearly full card); skipped where mounting is not allowed."""
    mount = tmp_path / "card"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@needs_exiftool
def test_a_full_disk_fails_each_sidecar_clearly_and_loses_nothing(burstd, small_tmpfs: Path, tmp_path: Path) -> None:
    folder = small_tmpfs / "dump"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.0, 2.0, 3.0], start=T0, first_number=1, size=SMALL)
    shutil.copy(SIDECARS / "digikam_no_xpacket.xmp", folder / "DSC_0001.JPG.xmp")
    foreign, foreign_tags = (folder / "DSC_0001.JPG.xmp").read_bytes(), exiftool_tags(folder / "DSC_0001.JPG.xmp")
    before = images(folder)
    filler = fill(small_tmpfs)
    cache = tmp_path / "c.sqlite3"

    full = burstd("scan", folder, "--cache", cache, check=1)

    # The disk's cause is the folder's: one line for the four sidecars.
    assert full.stderr.strip().splitlines() == [
        f"burstd: {folder}: 4 sidecars not written: the disk is full (no space left on device)"], full.stderr
    assert "Traceback" not in full.stderr
    assert (folder / "DSC_0001.JPG.xmp").read_bytes() == foreign
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["DSC_0001.JPG.xmp"]
    assert temps(small_tmpfs) == [] and images(folder) == before

    filler.unlink()
    burstd("scan", folder, "--cache", cache, check=0)
    assert all(rated(p) for p in folder.glob("*.JPG"))
    assert_foreign_kept(foreign_tags, exiftool_tags(folder / "DSC_0001.JPG.xmp"))
    assert images(folder) == before


@needs_exiftool
def test_after_a_full_disk_the_next_start_writes_what_failed(small_tmpfs: Path, tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, small_tmpfs)  # the watched root is the nearly full card
    folder = small_tmpfs / "dump"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.0, 2.0], start=T0, first_number=1, size=SMALL)
    make_burst(folder, DATA / "pcb_004.JPG", [1.0, 0.0], start=T0.replace(minute=5), first_number=4, size=SMALL)
    shutil.copy(SIDECARS / "digikam_no_xpacket.xmp", folder / "DSC_0004.JPG.xmp")
    foreign, foreign_tags = (folder / "DSC_0004.JPG.xmp").read_bytes(), exiftool_tags(folder / "DSC_0004.JPG.xmp")
    before = images(folder)
    filler = fill(small_tmpfs)
    try:
        daemon.start()  # catch-up: the folder is settled at once, and every write fails
        daemon.wait_for(lambda: daemon.status()["sessions"] and daemon.idle(), what="the session")
        reasons = error_reasons(daemon)
        assert sorted(reasons) == [f"DSC_000{i}.JPG.xmp" for i in range(1, 6)], reasons
        assert all("no space left on device" in r for r in reasons.values()), reasons
        assert (folder / "DSC_0004.JPG.xmp").read_bytes() == foreign and temps(small_tmpfs) == []
        assert daemon.stop() == 0
        filler.unlink()  # space again: the next start does what failed
        daemon.start()
        daemon.wait_for(lambda: all(rated(p) for p in folder.glob("*.JPG")) and daemon.idle(), what="the retry")
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert_foreign_kept(foreign_tags, exiftool_tags(folder / "DSC_0004.JPG.xmp"))
    assert images(folder) == before and temps(small_tmpfs) == []


def test_a_read_only_folder_is_reported_once_and_nothing_changes() -> None:
    # root writes anywhere: as root, the scan runs as `nobody` (the folder's owner) in a world-writable
    # place, on a folder made read-only for everyone.
    base = Path(tempfile.mkdtemp(prefix="burstd-readonly-"))
    try:
        base.chmod(0o777)
        folder = base / "card"
        folder.mkdir()
        make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.0, 2.0], start=T0, first_number=1, size=SMALL)
        shutil.copy(SIDECARS / "digikam_no_xpacket.xmp", folder / "DSC_0001.JPG.xmp")
        before, foreign = tree(folder), (folder / "DSC_0001.JPG.xmp").read_bytes()
        if os.geteuid() == 0:  # everything belongs to `nobody`, who runs the scan
            for p in [folder, *folder.iterdir()]:
                os.chown(p, 65534, 65534)
        folder.chmod(0o555)
        state = base / "state"
        state.mkdir(mode=0o777)
        state.chmod(0o777)
        result = subprocess.run(
            [sys.executable, "-c", _AS_NOBODY, "scan", str(folder), "--cache", str(state / "c.sqlite3")],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
        )
        assert result.returncode == 1, result.stderr
        # One line for the folder, whether the sidecar existed (checked before its edit) or not (its
        # temp file refused): the cause is the folder's.
        assert result.stderr.strip().splitlines() == [
            f"burstd: {folder}: 3 sidecars not written: the folder is not writable (permission denied)",
        ]
        assert tree(folder) == before and (folder / "DSC_0001.JPG.xmp").read_bytes() == foreign
    finally:
        (base / "card").chmod(0o755)
        shutil.rmtree(base)


# --- the database -------------------------------------------------------------------------------


def _db(d: Daemon) -> Path:
    return d.state_home / "burstd" / "cache.sqlite3"


def test_the_database_deleted_under_the_running_daemon_is_started_afresh(daemon: Daemon, tmp_path: Path) -> None:
    daemon.start()
    os.rename(card(tmp_path, "a", "IMG_5910.jpg", [0.0, 1.0]), daemon.root / "a")
    daemon.wait_sessions(1)
    shutil.rmtree(daemon.state_home / "burstd")  # the whole state folder, lock included
    os.rename(card(tmp_path, "b", "pcb_004.JPG", [1.0, 0.0], first=5), daemon.root / "b")
    daemon.wait_for(lambda: "was deleted or replaced" in daemon.log(), what="the daemon to notice")
    daemon.wait_for(lambda: daemon.status()["running"] and all(rated(p) for p in (daemon.root / "b").glob("*.JPG")),
                    what="the new database, and the new folder rated")
    assert daemon.cli("run").returncode == 1, "a second daemon started beside the first"
    assert daemon.stop() == 0
    assert _db(daemon).is_file() and temps(daemon.root) == []


def test_a_damaged_database_is_set_aside_and_rebuilt(daemon: Daemon, tmp_path: Path) -> None:
    db = _db(daemon)
    daemon.start()
    assert daemon.stop() == 0
    garbage = random.Random(4).randbytes(db.stat().st_size)
    db.write_bytes(garbage)

    daemon.start()
    assert "damaged" in daemon.log() and f"{db}.damaged" in daemon.log()
    assert Path(f"{db}.damaged").read_bytes() == garbage  # kept for whoever wants to look at it
    os.rename(card(tmp_path, "a", "IMG_5910.jpg", [0.0, 1.0]), daemon.root / "a")
    daemon.wait_for(lambda: all(rated(p) for p in (daemon.root / "a").glob("*.JPG")), what="sidecars")
    assert daemon.stop() == 0
    assert daemon.cli("status").returncode == 3  # a readable database again, not a problem


def test_a_file_that_is_not_burstds_database_is_never_touched(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path, "a", "IMG_5910.jpg", [0.0])
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, and not burstd's\n" * 200)
    before = notes.read_bytes()
    result = burstd("scan", folder, "--cache", notes, check=1)  # not usage: exit_codes.exit_code_for
    assert result.stderr.startswith(f"burstd: cannot use the cache {notes}: file is not a database")
    assert "Traceback" not in result.stderr
    assert notes.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "staging"]
    assert not list(folder.glob("*.xmp"))


def test_another_programs_sqlite_database_is_never_touched(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path, "a", "IMG_5910.jpg", [0.0])
    theirs = tmp_path / "places.sqlite"
    conn = sqlite3.connect(theirs)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://darktable.org')")
    conn.commit()
    conn.close()
    before = theirs.read_bytes()
    result = burstd("scan", folder, "--cache", theirs, check=1)
    assert result.stderr.strip() == f"burstd: cannot use the cache {theirs}: it is another program's database (burstd starts its own empty)"
    assert theirs.read_bytes() == before and not Path(f"{theirs}-wal").exists()


def test_a_locked_database_is_waited_on(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path, "a", "IMG_5910.jpg", [0.0, 1.0])
    db = tmp_path / "c.sqlite3"
    burstd("scan", folder, "--dry-run", "--cache", db, check=0)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(1.5); c.execute('ROLLBACK')", str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    burstd("scan", folder, "--cache", db, check=0)
    assert time.monotonic() - started > 1.0, "the lock was not there"
    holder.wait()
    assert all(rated(p) for p in folder.glob("*.JPG"))


def test_a_database_locked_for_too_long_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from burstd.store import database
    from burstd.cli.main import main

    folder = card(tmp_path, "a", "IMG_5910.jpg", [0.0, 1.0])
    db = tmp_path / "c.sqlite3"
    assert main(["scan", str(folder), "--dry-run", "--cache", str(db)]) == 0
    monkeypatch.setattr(database, "BUSY_SECONDS", 0.5)  # the real wait is 30 s
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        capsys.readouterr()
        assert main(["scan", str(folder), "--cache", str(db)]) == 1  # a locked database is not a usage error
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert err.strip() == f"burstd: the database {db} is locked by another program (burstd waited 0.5 s); try again once it is done"
    assert not list(folder.glob("*.xmp")) and temps(folder) == []


# --- links out of a root, and the inotify watch limit --------------------------------------------


@pytest.mark.usefixtures("host_limits_untouched")
@pytest.mark.parametrize("observer", ["inotify", "polling"])
def test_links_out_of_a_root_are_never_followed(daemon: Daemon, tmp_path: Path, observer: str) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(card(tmp_path, "o", "pcb_004.JPG", [0.0, 1.0]), outside / "card")
    (outside / "theirs.xmp").write_bytes((SIDECARS / "digikam_no_xpacket.xmp").read_bytes())
    root = daemon.root
    (root / "early").symlink_to(outside / "card")  # there before the daemon: catch-up
    if observer == "polling":
        daemon.start(user_limits={"max_inotify_instances": 0})  # no inotify for the daemon: it polls
        assert daemon.state()["polled_roots"] == [str(root)]
    else:
        daemon.start()
    outside_before = tree(outside)
    (root / "late").symlink_to(outside / "card")  # appears while watched
    (root / "one.JPG").symlink_to(outside / "card" / "DSC_0001.JPG")
    real = card(tmp_path, "real", "IMG_5910.jpg", [0.0, 1.0, 2.0])
    (real / "DSC_0002.JPG.xmp").symlink_to(outside / "theirs.xmp")  # a sidecar that is a link out
    os.rename(real, root / "real")
    daemon.wait_for(lambda: rated(root / "real" / "DSC_0001.JPG") and rated(root / "real" / "DSC_0003.JPG"),
                    what="the real folder's sidecars")
    time.sleep(2.5)  # one more poll and quiet period: time for any link to be followed
    assert daemon.stop() == 0
    assert tree(outside) == outside_before, "burstd wrote outside its root"
    assert (root / "real" / "DSC_0002.JPG.xmp").is_symlink()
    assert "symbolic link" in error_reasons(daemon)["DSC_0002.JPG.xmp"]


@pytest.mark.usefixtures("host_limits_untouched")
def test_the_inotify_watch_limit_falls_back_to_polling(daemon: Daemon, tmp_path: Path) -> None:
    root = daemon.root
    for i in range(6):
        (root / f"sub{i}").mkdir()
    # Two watches for the daemon, in a user namespace of its own (where none are in use yet): the root
    # and one folder get one, the rest not.
    daemon.start(user_limits={"max_inotify_watches": 2})
    assert "inotify watch limit is reached" in daemon.log()
    assert daemon.state()["polled_roots"] == [str(root)]
    os.rename(card(tmp_path, "p", "IMG_5910.jpg", [0.0, 1.0]), root / "sub5" / "p")
    daemon.wait_for(lambda: all(rated(p) for p in (root / "sub5" / "p").glob("*.JPG")), what="sidecars by polling")
    assert daemon.stop() == 0


# --- bad images and bad sidecars, through the daemon ---------------------------------------------


@needs_exiftool
def test_bad_files_dropped_into_a_watched_folder(daemon: Daemon, tmp_path: Path) -> None:
    folder = card(tmp_path, "bad", "IMG_5910.jpg", [0.0, 1.0, 2.0, 0.5, 1.5, 2.5, 3.0, 0.2, 0.7, 1.2])
    half = (DATA / "pcb_004.JPG").read_bytes()
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "half.JPG").write_bytes(half[: len(half) // 3])
    (folder / "notes.jpg").write_text("shopping list\n")
    for raw in ("sony_alpha_a7iii_raw_image.ARW", NIKON):
        shutil.copy(DATA / raw, folder / raw)
    # Good photos with names that are hard to carry: any Unicode, bytes that are not UTF-8, shell
    # syntax, and a name of 255 bytes that leaves no room for `.xmp`.
    odd = {
        "été 📷 ünïcode.JPG": "flower.jpg",
        "$(touch PWNED).JPG": "pcb_003.JPG",
        "; touch PWNED2 #`touch PWNED3`.JPG": "pcb_005.JPG",
        "x" * 251 + ".JPG": "BlueSquare.jpg",
    }
    for name, source in odd.items():
        shutil.copy(DATA / source, folder / name)
    non_utf8 = os.fsencode(folder) + b"/IMG_\xff\xfe.JPG"
    shutil.copy(DATA / "step1.jpg", os.fsdecode(non_utf8))
    darktable = (SIDECARS / "IMG_0001.CR2.xmp").read_bytes()
    outside = tmp_path / "outside.xmp"
    outside.write_bytes((SIDECARS / "digikam_no_xpacket.xmp").read_bytes())
    bad_sidecars = {
        "DSC_0004.JPG.xmp": b"",
        "DSC_0005.JPG.xmp": darktable[: len(darktable) // 2],
        "DSC_0006.JPG.xmp": b"Rating=3\n",
        "DSC_0007.JPG.xmp": b'<?xml version="1.0"?>\n<gpx version="1.1"><trk/></gpx>\n',
        "DSC_0009.JPG.xmp": (SIDECARS / "digikam_no_xpacket.xmp").read_bytes(),  # read-only below
    }
    for name, data in bad_sidecars.items():
        (folder / name).write_bytes(data)
    (folder / "DSC_0009.JPG.xmp").chmod(0o444)
    with (folder / "DSC_0008.JPG.xmp").open("wb") as f:  # 40 MB, sparse: costs no disk
        f.truncate(40 * 2**20)
    (folder / "DSC_0010.JPG.xmp").symlink_to(outside)
    before_images, before_sidecars = images(folder), tree(folder)
    outside_before = outside.read_bytes()

    daemon.start()
    os.rename(folder, daemon.root / "bad")
    folder = daemon.root / "bad"
    daemon.wait_for(lambda: daemon.status()["sessions"] and daemon.idle(), what="the session")
    assert daemon.stop() == 0

    reasons = error_reasons(daemon)
    expected = {
        "zero.jpg": "empty", "half.JPG": "truncated", "notes.jpg": "not an image",
        "sony_alpha_a7iii_raw_image.ARW": "truncated or damaged RAW file",
        "x" * 251 + ".JPG.xmp": "too long",
        "DSC_0004.JPG.xmp": "is empty", "DSC_0005.JPG.xmp": "is truncated", "DSC_0006.JPG.xmp": "is not XML",
        "DSC_0007.JPG.xmp": "is XML but not XMP", "DSC_0008.JPG.xmp": "far too large",
        "DSC_0009.JPG.xmp": "read-only", "DSC_0010.JPG.xmp": "symbolic link",
    }
    assert sorted(reasons) == sorted(expected), reasons
    for name, words in expected.items():
        assert words.lower() in reasons[name].lower(), (name, reasons[name])
    (session,) = daemon.status()["sessions"]
    assert session["errors"] == len(expected)
    # Nothing lost: images, every other program's sidecar, the link and what it points to.
    assert images(folder) == {k: v for k, v in before_images.items()}
    after = tree(folder)
    for path, digest in before_sidecars.items():
        if path.endswith(".xmp"):
            assert after[path.replace(str(tmp_path / "staging" / "bad"), str(folder))] == digest, path
    assert outside.read_bytes() == outside_before
    # Every good photo got a sidecar, whatever its name; nothing ran in a shell.
    # The Nikon RAW's own data is in a codec LibRaw cannot decode; its embedded preview is enough.
    for name in ("DSC_0001.JPG", "DSC_0002.JPG", "DSC_0003.JPG", NIKON, *[n for n in odd if not n.startswith("xxx")]):
        assert rated(folder / name), name
    assert rated(Path(os.fsdecode(os.fsencode(folder) + b"/IMG_\xff\xfe.JPG")))
    assert not [p for p in (tmp_path, ROOT, folder) for q in p.glob("PWNED*")]
    assert temps(folder) == []


# --- files that change while burstd looks at them -----------------------------------------------


def _session(folder: Path, store: Store) -> dict[str, object]:
    """One daemon session of `folder`, in process: the pipeline stages `Daemon.settle` runs."""
    from burstd.discover import discover
    from burstd.models import ScanSettings
    from burstd.pipeline import collect_shots, settle_folder

    candidates, _ = discover(folder)
    collected = collect_shots(candidates, ScanSettings(), store.analyses)
    settled = settle_folder(folder, collected.shots, collected.orbs, ScanSettings(), store, session=None, incremental=True)
    return {o.path.name: (o.action.value, o.reason) for outs in settled.sidecars.values() for o in outs}


@needs_exiftool
def test_a_sidecar_changed_between_read_and_replace_is_left_to_its_program_then_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from burstd.sidecar import files as sidecars

    folder = card(tmp_path, "c", "IMG_5910.jpg", [0.0, 1.0, 2.0])
    sidecar = folder / "DSC_0002.JPG.xmp"
    shutil.copy(SIDECARS / "digikam_no_xpacket.xmp", sidecar)
    theirs = sidecar.read_bytes().replace(b"uuid:5b1f3c2e", b"uuid:0000aaaa")  # digiKam saves meanwhile
    changes: list[Path] = []

    def another_program(path: Path) -> None:  # the worst moment: burstd's new bytes are ready
        if path == sidecar and not changes:
            changes.append(path)
            path.write_bytes(theirs)

    monkeypatch.setattr(sidecars, "_before_replace", another_program)
    with Store.open(tmp_path / "c.sqlite3") as store:
        first = _session(folder, store)
        assert first["DSC_0002.JPG.xmp"] == ("failed", sidecars.CHANGED)
        assert sidecar.read_bytes() == theirs and temps(folder) == []
        assert {name: action for name, (action, _) in first.items() if name != sidecar.name} == {
            "DSC_0001.JPG.xmp": "created", "DSC_0003.JPG.xmp": "created"}
        # The next session in the folder, with nothing new in it, does what was left.
        second = _session(folder, store)
    assert second.get("DSC_0002.JPG.xmp") == ("updated", ""), "the sidecar left undone was not looked at again"
    tags = exiftool_tags(sidecar)
    assert tags["XMP-xmpMM:InstanceID"].startswith("uuid:0000aaaa") and tags["XMP-burstd:Rank"] == 2


@needs_exiftool
def test_files_replaced_or_deleted_while_analysed_are_rated_as_they_end_up(daemon: Daemon, tmp_path: Path) -> None:
    rng = random.Random(7)
    daemon.write_config("threshold = 0.75\n")
    folder = card(tmp_path, "moving", "IMG_5910.jpg", [1.0, 0.0, 2.0, 0.5, 3.0, 1.5, 2.5])
    make_burst(folder, DATA / "pcb_004.JPG", [0.5, 2.0, 0.0, 1.0], start=T0.replace(second=30), first_number=8, size=SMALL)
    other = tmp_path / "other"
    other.mkdir()
    # The same names, other pictures: the sharpest frame blurred, a blurred one made sharp.
    make_burst(other, DATA / "IMG_5910.jpg", [4.0, 4.0, 0.0, 4.0, 4.0, 4.0, 4.0], start=T0, first_number=1, size=SMALL)
    daemon.start()
    os.rename(folder, daemon.root / "moving")
    folder = daemon.root / "moving"
    # While the files are being analysed: some are replaced, some deleted, at random moments.
    for name in rng.sample([f"DSC_{i:04d}.JPG" for i in range(1, 12)], 6):
        time.sleep(rng.uniform(0.0, 0.15))
        if name <= "DSC_0007.JPG" and rng.random() < 0.6:
            os.replace(shutil.copy(other / name, folder / f".{name}.part"), folder / name)
        else:
            (folder / name).unlink()
    daemon.wait_for(lambda: daemon.status()["sessions"] and daemon.idle(), what="the sessions", timeout=60)
    time.sleep(1.5)
    daemon.wait_for(daemon.idle, what="the last session")
    plan = planned(folder, "-d", "0.75")
    for image in folder.glob("*.JPG"):
        tags = exiftool_tags(image.with_name(image.name + ".xmp"))
        assert (tags["XMP-xmp:Rating"], tags["XMP-burstd:BurstSize"]) == plan[image.name], image.name

    # A rated frame replaced afterwards by another picture under the same name (a second card with
    # the same numbers copied over the first): its burst is rated again from what is there now.
    first_burst = [p for p in folder.glob("DSC_000*.JPG") if p.name <= "DSC_0007.JPG"]  # not the last burst
    pick = max(first_burst, key=lambda p: exiftool_tags(p.with_name(p.name + ".xmp"))["XMP-xmp:Rating"])
    sessions = len(daemon.status()["sessions"])
    blurred = tmp_path / "blurred"
    blurred.mkdir()
    make_burst(blurred, DATA / "IMG_5910.jpg", [5.0], start=T0, first_number=int(pick.stem[4:]), size=SMALL)
    os.replace(blurred / pick.name, pick)
    daemon.wait_sessions(sessions + 1)
    daemon.wait_for(daemon.idle, what="the session of the replaced frame")
    assert daemon.stop() == 0
    plan = planned(folder, "-d", "0.75")
    assert plan[pick.name][0] < 3
    for image in folder.glob("*.JPG"):
        tags = exiftool_tags(image.with_name(image.name + ".xmp"))
        assert (tags["XMP-xmp:Rating"], tags["XMP-burstd:BurstSize"]) == plan[image.name], image.name
    assert temps(folder) == []


# --- security -----------------------------------------------------------------------------------


def test_burstd_writes_only_in_its_roots_and_its_private_state(daemon: Daemon, tmp_path: Path) -> None:
    state = daemon.state_home / "burstd"
    state.mkdir(parents=True)
    state.chmod(0o755)  # left by an older burstd, or made by hand
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine\n")
    # Every key that says where or what to write, set: the review page, both sidecar styles, darktable's
    # folder pointed elsewhere; and a folder file that tries the global-only keys.
    extra = {"report": "true", "sidecar_style": '"both"', "darktable_config": f'"{elsewhere}"', "method": '"features"',
             "max_rank": "5", "scheme": '"linear"', "workers": "1", "reject_below": "0.2", "singleton_rating": "1"}
    daemon.write_config("".join(f"{k} = {v}\n" for k, v in extra.items() if k in GLOBAL_KEYS + FOLDER_KEYS))
    sub = daemon.root / "sub"
    sub.mkdir()
    (sub / ".burstd.toml").write_text(f'cache = "{elsewhere}/db.sqlite3"\nroots = ["{elsewhere}"]\n')
    a, b = card(tmp_path, "a", "IMG_5910.jpg", [0.0, 1.0]), card(tmp_path, "b", "pcb_004.JPG", [0.0, 1.0])
    outside_before = tree(tmp_path, skip=(daemon.root, daemon.state_home))
    daemon.start()
    os.rename(a, daemon.root / "a")
    os.rename(b, sub / "b")
    daemon.wait_for(lambda: (daemon.root / "a" / "burstd-report.html").exists(), what="the review page")
    daemon.wait_for(lambda: "allowed only in the global config" in json.dumps(daemon.state().get("folder_problems", {}))
                    or daemon.cli("status").returncode == 1, what="the folder file's problem")
    entries = {p.name: p.stat().st_mode & 0o777 for p in state.iterdir()}
    assert daemon.stop() == 0
    # The state folder and everything in it are the user's alone.
    assert state.stat().st_mode & 0o777 == 0o700
    assert {"cache.sqlite3", "cache.sqlite3-wal", "cache.sqlite3-shm", "burstd.lock"} <= set(entries)
    assert all(mode & 0o077 == 0 for mode in entries.values()), entries
    after = tree(tmp_path, skip=(daemon.root, daemon.state_home))
    # Outside the root and the state folder: new only this test's daemon logs, gone only the cards moved in.
    new_or_changed = {k for k in after if after[k] != outside_before.get(k)}
    assert all(Path(k).name.startswith("daemon-") for k in new_or_changed), new_or_changed
    assert all("/staging/" in k for k in set(outside_before) - set(after))
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert not list((sub / "b").glob("*.xmp")), "a folder with an invalid configuration was processed"


def test_no_file_name_reaches_a_shell() -> None:
    # The only external program burstd runs is systemctl, with a list of arguments: no shell anywhere.
    for path in PACKAGE.glob("*.py"):
        tree_ = ast.parse(path.read_text())
        for node in ast.walk(tree_):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                assert name not in {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"}, path
                assert not any(k.arg == "shell" for k in node.keywords), f"{path.name}: {ast.unparse(node)}"


# --- load ---------------------------------------------------------------------------------------


@needs_exiftool
def test_a_thousand_files_dropped_at_once_into_ten_folders(tmp_path: Path) -> None:
    from tests.bench.load import drop, make_card

    staged = make_card(tmp_path / "staging", 1000, 10)
    result = drop(tmp_path, staged, timeout=300)
    assert (result.files, result.sidecars_read_back, result.temp_files, result.errors) == (1000, 1000, 0, 0)
    assert result.images_unchanged and result.sessions == 10
    read = exiftool_many(sorted((tmp_path / "import").rglob("*.xmp")))
    assert len(read) == 1000 and all("XMP-xmp:Rating" in t and "XMP-burstd:BurstId" in t for t in read.values())
    assert result.peak_rss_mb < 400, f"the daemon peaked at {result.peak_rss_mb:.0f} MB"
