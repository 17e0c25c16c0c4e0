"""Load: `python -m tests.bench.load [--files 10000] [--folders 50] [--data DIR]`.

`--files` small JPEGs (320x240, cut from the real photographs in tests/data/photos, real EXIF with
sub-second times, hand-held bursts of 3-12 frames between single shots) are generated in a staging
folder, then dropped at once into the root the real daemon watches (a rename, as `mv` of a card folder
does): first all into one folder, then spread over `--folders` folders, each with a fresh daemon and
a fresh database. Measured, and printed as absolute figures:

- settle time: from the drop to the last sidecar written and every session recorded;
- the daemon's peak resident memory (VmHWM, from /proc) and its RSS once everything is settled;
- proof of completion: every image has a sidecar that burstd reads back with its rating, no image
  changed (sha256), no temp file left, no error recorded.

Run from the repository root. `tests/test_faults.py` runs the same drop scaled down (1,000 files,
10 folders) and checks completion only: no timing, and a generous memory bound.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from tests.bench.daemon import sidecars
from tests.photos import DATA, Camera, load_rgb, write_jpeg

SIZE = (320, 240)
T0 = datetime(2026, 11, 24, 10, 0, 0)
SOURCES = ("IMG_5910.jpg", "pcb_004.JPG", "flower.jpg", "step1.jpg", "pcb_003.JPG")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Drop:
    """What one drop into the watched root measured."""

    files: int
    folders: int
    settle_seconds: float  # drop -> last sidecar written and every session recorded
    peak_rss_mb: float  # VmHWM of the daemon over its whole life
    settled_rss_mb: float  # VmRSS once everything was settled
    sessions: int
    errors: int
    sidecars_read_back: int
    images_unchanged: bool
    temp_files: int


def _plan(count: int, seed: int) -> list[tuple[int, int, int, int, float, datetime]]:
    """(index, source, dx, dy, blur, capture time) per file: bursts of 3-12 frames and single shots."""
    rng = np.random.default_rng(seed)
    plan = []
    when, scene = T0, 0
    i = 0
    while i < count:
        length = int(rng.choice([1, 1, 3, 5, 8, 12]))
        base = rng.integers(-60, 61, size=2)
        for k in range(min(length, count - i)):
            dx, dy = (int(v) for v in base + rng.integers(-6, 7, size=2))
            plan.append((i, scene % len(SOURCES), dx, dy, float(rng.choice([0.0, 0.6, 1.2, 2.0])),
                         when + timedelta(seconds=k / 10)))
            i += 1
        when += timedelta(seconds=length / 10 + 40)  # a pause longer than max_gap ends the burst
        scene += 1
    return plan


_pictures: dict[int, np.ndarray] = {}


def _picture(source: int) -> np.ndarray:
    """The source photo shrunk so that a 320x240 crop shows a real scene, not a blown-up corner."""
    if source not in _pictures:
        rgb = load_rgb(DATA / SOURCES[source])
        scale = 480 / max(rgb.shape[:2])
        _pictures[source] = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    return _pictures[source]


def _write(job: tuple[Path, int, int, int, float, datetime]) -> None:
    path, source, dx, dy, blur, when = job
    rgb = _picture(source)
    w, h = SIZE
    cy = min(max((rgb.shape[0] - h) // 2 + dy, 0), rgb.shape[0] - h)
    cx = min(max((rgb.shape[1] - w) // 2 + dx, 0), rgb.shape[1] - w)
    crop = rgb[cy : cy + h, cx : cx + w]
    if blur:
        crop = cv2.GaussianBlur(crop, (0, 0), blur)
    write_jpeg(path, np.ascontiguousarray(crop), when=when, camera=Camera(), quality=85)


def make_card(staging: Path, count: int, folders: int, *, seed: int = 1, workers: int | None = None) -> list[Path]:
    """`count` JPEGs in `folders` folders under `staging` (consecutive files share a folder); the folders."""
    plan = _plan(count, seed)
    per_folder = -(-count // folders)
    names = [staging / f"card{n:02d}" for n in range(folders)]
    for folder in names:
        folder.mkdir(parents=True)
    jobs = [(names[i // per_folder] / f"DSC_{i:05d}.JPG", *rest) for i, *rest in plan]
    if workers == 1 or count < 2000:
        for job in jobs:
            _write(job)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write, jobs, chunksize=200))
    return names


def digests(folders: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for f in folders for p in sorted(f.glob("*.JPG"))}


class Watched:
    """The real daemon watching `root`, with its own config and state folders under `base`."""

    def __init__(self, base: Path, root: Path, quiet: float = 2.0, stable: float = 1.0) -> None:
        self.base, self.root = base, root
        config = base / "config" / "burstd"
        config.mkdir(parents=True)
        (config / "config.toml").write_text(f'roots = ["{root}"]\nquiet_seconds = {quiet}\nstable_seconds = {stable}\n')
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(base / "config"),
                    "XDG_STATE_HOME": str(base / "state")}
        self.log = base / "daemon.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "burstd", "run"], env=self.env, cwd=base,
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        self.wait(lambda: self.status().get("running", False), 60, "the daemon to start")

    def status(self) -> dict:
        out = subprocess.run([sys.executable, "-m", "burstd", "status", "--json"], env=self.env,
                             capture_output=True, text=True, timeout=60).stdout
        return json.loads(out) if out.strip() else {}

    def idle(self) -> bool:
        info = self.status()
        state = (info.get("daemon") or {}).get("state") or {}
        return bool(info.get("running")) and not state.get("open_folders") and not state.get("current") \
            and state.get("waiting") == 0 and state.get("analysing") == 0

    def wait(self, condition, timeout: float, what: str, every: float = 0.25) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.log.read_text()[-3000:]}")
            if condition():
                return
            time.sleep(every)
        raise TimeoutError(f"timed out waiting for {what}:\n{self.log.read_text()[-3000:]}")

    def memory_mb(self) -> tuple[float, float]:
        """(VmHWM, VmRSS) of the daemon, in MB."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=120)


def _sidecar_count(folders: list[Path]) -> int:
    return sum(sidecars(f) for f in folders)


def drop(base: Path, staged: list[Path], *, timeout: float = 1800) -> Drop:
    """Move `staged` folders at once into a root watched by a fresh daemon; wait until all is settled."""
    from burstd.fsio import TEMP_PATTERN
    from burstd.sidecar.files import read_sidecar
    from burstd.store import Store

    root = base / "import"
    root.mkdir()
    daemon = Watched(base, root)
    try:
        before = digests(staged)
        count = len(before)
        moved = [root / f.name for f in staged]
        started = time.monotonic()
        for source, target in zip(staged, moved):
            os.rename(source, target)
        daemon.wait(lambda: _sidecar_count(moved) >= count, timeout, f"{count} sidecars", every=0.1)
        written = time.monotonic()
        daemon.wait(lambda: len(daemon.status().get("sessions", [])) >= min(len(moved), 10) and daemon.idle(),
                    timeout, "every session to be recorded")
        settled = max(written, time.monotonic() - 0.25)  # the idle check itself takes a status call
        peak, rss = daemon.memory_mb()
    finally:
        daemon.stop()
    with Store.open_readonly(base / "state" / "burstd" / "cache.sqlite3") as store:
        sessions, errors = store.sessions.recent(100_000), store.log.recent_errors(100_000)
    after = {k.replace(str(base / "staging"), str(root)): v for k, v in before.items()}
    images_now = digests(moved)
    read_back = 0
    for folder in moved:
        for image in folder.glob("*.JPG"):
            state = read_sidecar(image.with_name(image.name + ".xmp"))
            read_back += state is not None and state.rating is not None
    temps = sum(1 for f in moved for e in os.scandir(f) if TEMP_PATTERN.match(e.name))
    return Drop(
        files=count, folders=len(moved), settle_seconds=settled - started, peak_rss_mb=peak, settled_rss_mb=rss,
        sessions=len(sessions), errors=len(errors), sidecars_read_back=read_back,
        images_unchanged=images_now == after, temp_files=temps,
    )


def main() -> None:
    from tests.bench.__main__ import machine, print_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "burstd-bench")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    rows = [("machine", "{cpu}, {cores} cores, Python {python}".format(**machine()))]
    for folders in (1, args.folders):
        with tempfile.TemporaryDirectory(dir=args.data) as tmp:
            base = Path(tmp)
            t0 = time.monotonic()
            staged = make_card(base / "staging", args.files, folders)
            made = time.monotonic() - t0
            result = drop(base, staged)
        where = "one folder" if folders == 1 else f"{folders} folders"
        rows.append((
            f"{result.files} JPEGs 320x240 dropped at once into {where}",
            f"settled in {result.settle_seconds:.1f} s ({result.files / result.settle_seconds:.0f} files/s); "
            f"daemon peak RSS (VmHWM) {result.peak_rss_mb:.0f} MB, {result.settled_rss_mb:.0f} MB once settled; "
            f"{result.sessions} sessions, {result.errors} errors; {result.sidecars_read_back} sidecars read back; "
            f"images unchanged: {'yes' if result.images_unchanged else 'NO'}; temp files left: {result.temp_files} "
            f"(generating the files took {made:.0f} s)",
        ))
    print_table(rows)


if __name__ == "__main__":
    main()
