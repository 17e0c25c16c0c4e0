"""Throughput at scale: `python -m tests.bench.throughput [--files 5000] [--raws 500]`.

Issue #2's remaining figures, measured on folders built from hard links (no extra disk space):
1. many files: `--files` links to the small card's JPEGs under new names; a cold scan that writes
   every sidecar, then a warm rescan (everything cached, every sidecar unchanged); peak RSS of both;
2. RAW files with an embedded preview: `--raws` links to the one real DNG with a preview we have
   (Nikon Z 9, 640x424 JPEG preview); a cold scan of them.
Run from the repository root. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from tests.bench.__main__ import machine, print_table, run_burstd
from tests.bench.cardgen import generate

RAW_WITH_PREVIEW = Path(__file__).resolve().parents[1] / "data" / "photos" / (
    "nikon_z_9_high_efficiency_compressed_dx_cropped_max_overexposed.dng"
)


def link_folder(sources: list[Path], folder: Path, count: int, suffix: str) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        os.link(sources[i % len(sources)], folder / f"P{i:05d}{suffix}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--raws", type=int, default=500)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "burstd-bench")
    args = parser.parse_args()
    card, _ = generate(args.data, "small", 1)
    jpegs = sorted(p for p in card.iterdir() if p.suffix.lower() == ".jpg")
    rows = [("machine", "{cpu}, {cores} cores, Python {python}".format(**machine()))]
    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        many = Path(tmp) / "many"
        link_folder(jpegs, many, args.files, ".JPG")
        state = Path(tmp) / "state"
        cold = run_burstd(many, state, options=())
        warm = run_burstd(many, state, options=())
        for name, run in (("cold", cold), ("warm", warm)):
            summary = run.report.get("summary", {})
            rows.append((
                f"{args.files} small JPEGs, {name} scan writing sidecars",
                f"{summary.get('files', 0) / summary.get('seconds', 1):.0f} files/s engine, "
                f"{args.files / run.seconds:.0f} files/s wall; sidecars {summary.get('sidecars')}; "
                f"peak RSS {run.peak_rss_mb:.0f} MB; exit {run.returncode}",
            ))
        raws = Path(tmp) / "raws"
        link_folder([RAW_WITH_PREVIEW], raws, args.raws, ".DNG")
        raw = run_burstd(raws, Path(tmp) / "state-raw")
        summary = raw.report.get("summary", {})
        sources = {m.get("source", "").split("/")[0] for b in raw.report.get("groups", []) for m in b["members"]}
        rows.append((
            f"{args.raws} RAW (DNG) with embedded preview, cold",
            f"{summary.get('analysed', 0) / (summary.get('seconds') or 1):.0f} files/s engine, "
            f"{args.raws / raw.seconds:.0f} files/s wall; analysed from {', '.join(sorted(sources))}; "
            f"peak RSS {raw.peak_rss_mb:.0f} MB",
        ))
    print_table(rows)


if __name__ == "__main__":
    main()
