"""How right and how fast burstd is, in one run: `python -m tests.bench`.

    python -m tests.bench [--profile small|24mp|tiny|sets] [--seed N] [--data DIR] [--out results.json]

Generates the synthetic card (or reuses it from DIR), then, with the card's files in the OS page cache:
1. cold scan: `python -m burstd scan CARD --dry-run --json` with XDG_STATE_HOME in a fresh temp dir
   (an empty analysis cache); its peak RSS (the whole process tree, sampled, and the kernel's maxrss);
2. the decode floor: the files the cold scan analysed, each decoded by `burstd.analysis.decode.reduced_grey`
   (Pillow's draft-mode grey decode at 1/4 scale when burstd has no such function) in a thread pool
   of os.cpu_count() workers, doing nothing else;
3. warm rescan: the same command again, cache full;
and prints one markdown table (accuracy from the cold scan's report) and writes all numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.bench.cardgen import PROFILES, generate
from tests.bench.score import score_run


@dataclass(frozen=True, slots=True)
class Run:
    returncode: int
    report: dict
    stderr: str
    seconds: float  # wall clock, interpreter start included
    peak_rss_mb: float  # max of the sampled process-tree sum and the kernel's per-process maxrss


def _tree_rss_kb(root: int) -> int:
    """Resident set size of `root` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, ValueError, IndexError):
            pass
    return total


def run_burstd(card: Path, state_home: Path, options: tuple[str, ...] = ("--dry-run",)) -> Run:
    """One `burstd scan --json` (by default a dry run) in a subprocess, timed and memory-sampled."""
    cmd = [sys.executable, "-m", "burstd", "scan", str(card), *options, "--json"]
    env = os.environ | {"XDG_STATE_HOME": str(state_home)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        peak_kb, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak_kb
            while not done.wait(0.05):
                peak_kb = max(peak_kb, _tree_rss_kb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    try:
        report = json.loads(stdout)
    except ValueError:
        report = {}
    return Run(proc.returncode, report, stderr, seconds, max(peak_kb, usage.ru_maxrss) / 1024)


def _pil_reduced_grey(path: str) -> object:
    from PIL import Image

    with Image.open(path) as im:
        im.draft("L", (im.width // 4, im.height // 4))
        return im.convert("L").load()


def _decoder() -> tuple[Callable[[str], object], str]:
    try:
        from burstd.analysis.decode import reduced_grey
    except ImportError:
        return _pil_reduced_grey, "PIL draft('L', 1/4) (burstd.analysis.decode.reduced_grey missing)"
    return reduced_grey, "burstd.analysis.decode.reduced_grey"


def decode_floor(paths: list[str]) -> dict:
    """Decode every file with the engine's reduced grey decode on all cores, nothing else."""
    decode, method = _decoder()
    failed = 0

    def one(path: str) -> bool:
        try:
            decode(path)
            return True
        except Exception:  # noqa: BLE001 - a file the floor cannot decode is counted, not fatal
            return False

    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        ok = sum(pool.map(one, paths))
    seconds = time.perf_counter() - started
    failed = len(paths) - ok
    per_s = ok / seconds if seconds else None
    return {"method": method, "files": ok, "failed": failed, "seconds": seconds, "per_s": per_s}


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def print_table(rows: list[tuple[str, str]]) -> None:
    """The two-column Markdown table every benchmark prints."""
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def _warm_page_cache(card: Path) -> None:
    for path in card.iterdir():
        path.read_bytes()


def _speed(cold: Run, warm: Run, floor: dict) -> dict:
    analysed = cold.report.get("summary", {}).get("analysed") or 0
    cold_per_s = analysed / cold.seconds if cold.seconds else None
    cold_engine_s = cold.report.get("summary", {}).get("seconds")
    warm_summary = warm.report.get("summary", {})
    warm_files = warm_summary.get("files") or 0
    engine_s = warm_summary.get("seconds") or 0
    return {
        "cold_images_per_s": cold_per_s, "cold_seconds": cold.seconds, "cold_analysed": analysed,
        "cold_engine_seconds": cold_engine_s,
        "cold_images_per_s_engine": analysed / cold_engine_s if cold_engine_s else None,
        "floor": floor, "cold_over_floor": cold_per_s / floor["per_s"] if cold_per_s and floor["per_s"] else None,
        "warm_files_per_s": warm_files / engine_s if engine_s else None,
        "warm_files_per_s_wall": warm_files / warm.seconds if warm.seconds else None,
        "warm_cached": warm_summary.get("cached"), "warm_seconds": warm.seconds,
        "peak_rss_mb": cold.peak_rss_mb, "warm_peak_rss_mb": warm.peak_rss_mb,
    }  # fmt: skip


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _set_rows(sets: dict) -> list[tuple[str, str]]:
    """Recognition per kind, what became of the truth groups of each kind, frames of sets culled."""
    rows = []
    for kind, k in sets["kinds"].items():
        rows.append((f"{kind}: recognised P / R (true / predicted / matched groups)",
                     f"{_f(k['precision'])} / {_f(k['recall'])} ({k['truth']} / {k['predicted']} / {k['matched']})"))
        outcomes = ", ".join(f"{what}: {n}" for what, n in k["outcomes"].items()) or "–"
        rows.append((f"{kind}: what became of the true ones", outcomes))
    per_kind = ", ".join(f"{kind} {k['culled']} of {k['files']}" for kind, k in sets["kinds"].items() if "culled" in k)
    rows.append(("frames of sets culled (goal 0)", f"{sets['culled']} of {sets['set_files']} ({per_kind})"))
    return rows  # fmt: skip


def table(results: dict) -> str:
    """The one markdown table."""
    m, d, acc, sp = results["machine"], results["dataset"], results["accuracy"], results["speed"]
    g, gb, r, fl = acc["grouping"], acc["grouping_bursts"], acc["ranking"], sp["floor"]
    rows = [
        ("machine", f"{m['cpu']}, {m['cores']} cores, Python {m['python']}"),
        ("dataset", f"{d['profile']} seed {d['seed']}: {d['files']} files {d['width']}x{d['height']} q{d['quality']}, "
                    + ("reused" if d["reused"] else f"generated in {d['generation_seconds']:.1f} s")),
        ("burstd exit code (cold / warm)", f"{results['exit_codes'][0]} / {results['exit_codes'][1]}"),
        ("grouping overall P / R / F1 / ARI",
         f"{_f(g['precision'])} / {_f(g['recall'])} / {_f(g['f1'])} / {_f(g['ari'])}"),
        ("grouping, files of truth bursts, P / R / F1", " / ".join(_f(gb[k]) for k in ("precision", "recall", "f1"))),
    ]  # fmt: skip
    rows += _set_rows(acc["sets"])
    for name, s in acc["situations"].items():
        if s["recall"] is None:  # no pair belongs together (singletons): only merges can be wrong
            pairs = s["pairs"]
            rows.append((f"grouping {name} ({s['files']} files): pairs kept apart",
                         f"{_f(s['apart'])} ({pairs['fp']} of {pairs['fp'] + pairs['tn']} merged)"))  # fmt: skip
        else:
            rows.append((f"grouping {name} ({s['files']} files) P / R / F1",
                         f"{_f(s['precision'])} / {_f(s['recall'])} / {_f(s['f1'])}"))  # fmt: skip
    rows += [
        ("top-1, all rankable bursts", f"{_f(r['top1'])} ({r['top1_hits']}/{r['top1_bursts']})"),
        ("top-1, clearly sharper best",
         f"{_f(r['top1_clearly'])} ({r['top1_clearly_hits']}/{r['top1_clearly_bursts']})"),
        ("Kendall tau, mean over bursts", f"{_f(r['kendall_tau'])} ({r['tau_bursts']} bursts)"),
        ("top-1 hits whose pick shares its stars (clearly sharper / all)",
         f"{r['shared_picks_clearly']} of {r['top1_clearly_hits']} / {r['shared_picks']} of {r['top1_hits']}"),
        ("cold scan images/s, wall (engine's own seconds)",
         f"{_f(sp['cold_images_per_s'], 1)} ({_f(sp['cold_images_per_s_engine'], 1)}): "
         f"{sp['cold_analysed']} in {sp['cold_seconds']:.1f} s"),
        ("decode floor images/s", f"{_f(fl['per_s'], 1)} ({fl['method']}; {fl['files']} decoded, {fl['failed']} not)"),
        ("cold (wall) / floor", _f(sp["cold_over_floor"], 2)),
        ("warm rescan files/s (engine / wall)",
         f"{_f(sp['warm_files_per_s'], 0)} / {_f(sp['warm_files_per_s_wall'], 0)}"),
        ("peak RSS, cold scan", f"{sp['peak_rss_mb']:.0f} MB"),
    ]  # fmt: skip
    lines = ["| measure | value |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "burstd-bench")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args(argv)

    card, truth = generate(args.data, args.profile, args.seed)
    _warm_page_cache(card)
    with tempfile.TemporaryDirectory(prefix="burstd-bench-state-") as state:
        cold = run_burstd(card, Path(state))
        if not cold.report:
            print(f"burstd gave no JSON report (exit {cold.returncode}):\n{cold.stderr[-3000:]}", file=sys.stderr)
            return 1
        analysed = [m["path"] for b in cold.report["groups"] for m in b["members"]]
        floor = decode_floor(analysed)
        warm = run_burstd(card, Path(state))
    results = {
        "machine": machine(),
        "dataset": {k: truth[k] for k in ("profile", "seed", "width", "height", "quality", "reused")}
        | {"files": len(truth["files"]), "generation_seconds": truth.get("generation_seconds"), "path": str(card)},
        "exit_codes": [cold.returncode, warm.returncode],
        "errors": cold.report.get("errors", []),
        "accuracy": score_run(truth, cold.report),
        "speed": _speed(cold, warm, floor),
    }
    print(table(results))
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\nfull results: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
