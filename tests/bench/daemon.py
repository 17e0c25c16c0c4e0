"""The daemon's figures: `python -m tests.bench.daemon [--files 500] [--rate 10] [--idle 60] [--stream 5000]`.

1. latency: a dump of `--files` 24-megapixel JPEGs copied into a watched folder one by one at
   `--rate` files/s (a card reader's pace, so analysis can keep up), timed from the last file landing
   to its folder's last sidecar written; the goal is quiet_seconds + 3 s;
2. idle cost: CPU time the daemon uses over `--idle` seconds with no events (goal < 0.5 s);
3. memory: RSS at the start and the end of a stream of `--stream` small JPEGs into 10 folders.
Run from the repository root; the cards come from `tests.bench.cardgen` (generated or reused).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.__main__ import machine, print_table
from tests.bench.cardgen import generate

QUIET = 2.0


def start_daemon(base: Path, root: Path) -> subprocess.Popen:
    config = base / "config" / "burstd"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'roots = ["{root}"]\nquiet_seconds = {QUIET}\nstable_seconds = 1.0\n')
    env = os.environ | {"XDG_CONFIG_HOME": str(base / "config"), "XDG_STATE_HOME": str(base / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "burstd", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=(base / "daemon.log").open("w"))
    deadline = time.monotonic() + 30
    while not (base / "state" / "burstd" / "cache.sqlite3").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # observers up, catch-up of the empty root done
    return proc


def stop_daemon(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def sidecars(folder: Path) -> int:
    return sum(1 for e in os.scandir(folder) if e.name.endswith(".xmp"))


def latency(data: Path, files: int, rate: float) -> dict:
    card, _ = generate(data, "24mp", 1)
    sources = sorted(p for p in card.iterdir() if p.suffix == ".JPG")
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        base = Path(tmp)
        root = base / "import"
        target = root / "dump"
        target.mkdir(parents=True)
        proc = start_daemon(base, root)
        try:
            started = time.monotonic()
            for i in range(files):
                # One by one at the card reader's pace; names continue past the source card's.
                shutil.copyfile(sources[i % len(sources)], target / f"P{i:05d}.JPG")
                pause = started + (i + 1) / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            landed = time.monotonic()
            while sidecars(target) < files and time.monotonic() - landed < 600:
                time.sleep(0.02)
            done = time.monotonic()
            peak = rss_mb(proc.pid)
        finally:
            stop_daemon(proc)
    return {"files": files, "rate": rate, "copy_seconds": landed - started, "latency": done - landed,
            "goal": QUIET + 3.0, "rss_mb": peak}


def idle(data: Path, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        base = Path(tmp)
        (base / "import").mkdir()
        proc = start_daemon(base, base / "import")
        try:
            before = cpu_seconds(proc.pid)
            time.sleep(seconds)
            used = cpu_seconds(proc.pid) - before
        finally:
            stop_daemon(proc)
    return {"seconds": seconds, "cpu": used}


def stream(data: Path, files: int) -> dict:
    card, _ = generate(data, "small", 1)
    sources = sorted(p for p in card.iterdir() if p.suffix.lower() == ".jpg")
    with tempfile.TemporaryDirectory(dir=data) as tmp:
        base = Path(tmp)
        root = base / "import"
        root.mkdir()
        proc = start_daemon(base, root)
        try:
            start_rss, samples = rss_mb(proc.pid), []
            per_folder = files // 10
            for f in range(10):
                folder = root / f"card{f:02d}"
                folder.mkdir()
                for i in range(per_folder):
                    shutil.copyfile(sources[(f * per_folder + i) % len(sources)], folder / f"P{i:05d}.JPG")
                samples.append(rss_mb(proc.pid))
            deadline = time.monotonic() + 600
            while sum(sidecars(root / f"card{f:02d}") for f in range(10)) < per_folder * 10 and time.monotonic() < deadline:
                time.sleep(0.2)
            end_rss = rss_mb(proc.pid)
        finally:
            stop_daemon(proc)
    return {"files": per_folder * 10, "start_rss": start_rss, "first_folder_rss": samples[0], "end_rss": end_rss,
            "samples": samples, "peak_sampled": max(samples + [end_rss])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0, help="files per second for the latency dump")
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--stream", type=int, default=5000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "burstd-bench")
    parser.add_argument("--parts", default="latency,idle,stream", help="which measurements, comma-separated")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    args.data.mkdir(parents=True, exist_ok=True)
    rows = [("machine", "{cpu}, {cores} cores, Python {python}".format(**machine()))]
    if "latency" in parts:
        lat = latency(args.data, args.files, args.rate)
        rows.append((f"latency: {lat['files']} 24 MP JPEGs at {lat['rate']:g} files/s, last landed -> last sidecar",
                     f"{lat['latency']:.2f} s (goal <= quiet {QUIET:g} s + 3 s = {lat['goal']:g} s); copy took "
                     f"{lat['copy_seconds']:.1f} s; RSS {lat['rss_mb']:.0f} MB"))
    if "idle" in parts:
        idl = idle(args.data, args.idle)
        rows.append((f"idle: CPU time over {idl['seconds']:g} s without events", f"{idl['cpu']:.2f} s (goal < 0.5 s)"))
    if "stream" in parts:
        st = stream(args.data, args.stream)
        rows.append((f"memory over a stream of {st['files']} files in 10 folders",
                     f"idle start {st['start_rss']:.0f} MB; after folder 1 {st['first_folder_rss']:.0f} MB; "
                     f"after each folder {', '.join(f'{v:.0f}' for v in st['samples'])}; end {st['end_rss']:.0f} MB"))
    print_table(rows)


if __name__ == "__main__":
    main()
