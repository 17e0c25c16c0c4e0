"""Repeat-noise of the sharpness score: `python -m tests.bench.noise` (1-2 minutes on 2 cores).

    python -m tests.bench.noise [--workers N] [--data DIR]

How far does a frame's score, relative to its burst's best (`burstd.ranking.burst_scores`), move
under changes that leave its sharpness alone? Measured on real photographs, as bursts:
../shared/photos/bursts_fba (three real hand-held bursts, 8-13 frames each),
../shared/photos/focus_pcb_depthmap (a real 10-frame focus sweep) and tests/data/photos/step0-5.jpg
(a real focus stack). Each frame is changed in one of these ways, the burst is scored again with that
frame replaced (the subject region re-chosen, as burstd does), and the change of the frame's score is
taken in units of the burst's best score (the unit `RatedShot.score` has):

- re-encode: the decoded frame saved again as JPEG at quality 95, 90 and 85 (against the file itself);
- shift: the frame cut 1 px further right, 1 px further down, 2 px and 8 px (2 px at the 1/4 scale
  burstd measures) both ways, saved at 95, against the same-size cut at the corner saved at 95: the
  tile grid, the 8x8 JPEG blocks and the reduced decode fall elsewhere on the picture, as between
  any two hand-held frames (all frames of a burst have one size, so the grid itself never changes);
- noise: Gaussian noise of the level already in the photo (estimated from the full-size grey image
  by the median of Immerkaer's high-pass) added to each channel, saved at 95, two seeds, against the
  frame saved at 95 without it; this doubles the noise variance, so it overstates a second exposure;
- decode path: the whole burst decoded another way to the same scale (a full decode reduced by area;
  a DCT decode at twice the scale, box-reduced), its relative scores against burstd's own.

It prints the distribution of |change| per kind, per burst and pooled (median, 95th and 99th
percentile, max), the margin this suggests (the pooled 99th percentile rounded up to the next 0.005)
beside the one burstd uses (`burstd.ranking.NOISE_MARGIN`), how many frames of each real burst fall
within it of their pick, and a cross-check on the small benchmark card (generated into `--data` as
`python -m tests.bench` does, or reused): how far apart frames rendered with the same blur score, and
how far a clearly sharper best frame leads its second. The difference between a measured frame and
its changed copy is the quantity that matters: two frames of equal sharpness differ by that much.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from burstd.analysis.decode import decode, reduce_factor
from burstd.analysis.features import focus_tiles
from burstd.models import Analysis, Shot, TimeSource
from burstd.ranking import NOISE_MARGIN, burst_scores, indistinguishable
from tests.bench.__main__ import print_table, run_burstd
from tests.bench.cardgen import generate
from tests.bench.render import PHOTOS
from tests.bench.score import predictions

TEST_PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
BURSTS = {
    "fba/bookshelf": (PHOTOS / "bursts_fba" / "bookshelf", "REG_*.jpg"),
    "fba/tequila": (PHOTOS / "bursts_fba" / "tequila", "REG_*.jpg"),
    "fba/woods": (PHOTOS / "bursts_fba" / "woods", "REG_*.jpg"),
    "pcb focus sweep": (PHOTOS / "focus_pcb_depthmap", "pcb_*.JPG"),
    "step focus stack": (TEST_PHOTOS, "step*.jpg"),
}
REENCODE_QUALITIES = (95, 90, 85)
BASE_QUALITY = 95  # shifted and noisy frames are saved at this quality and compared with the frame saved so
SHIFTS = ((1, 0), (0, 1), (2, 2), (8, 8))  # (x, y) pixels; 8 is 2 px at the 1/4 scale burstd measures
MAX_SHIFT = max(max(shift) for shift in SHIFTS)
NOISE_SEEDS = (1, 2)
ROUND_TO = 0.005
# Immerkaer's noise-estimation kernel: blind to planes and ramps; its response to white noise of sigma 1
# has a standard deviation of 6 (the root of the sum of its squared weights).
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Change:
    burst: str
    frame: str
    kind: str  # "re-encode", "shift", "noise", "decode path"
    variant: str  # e.g. "q90", "1,0", "seed 2"
    pick: bool  # the frame is its burst's sharpest
    delta: float  # change of the frame's score, in units of the burst's best score


def production_grey(path: Path) -> np.ndarray:
    """The reduced grey image burstd itself analyses for this JPEG."""
    return decode(path, "jpeg").grey


def scores(grids: Sequence[tuple[tuple[float, ...], tuple[int, int]]]) -> list[float]:
    shots = [
        Shot(Path(f"f{i}"), Analysis(0, 0, 0.0, TimeSource.EXIF, tiles=tiles, grid=grid))
        for i, (tiles, grid) in enumerate(grids)
    ]
    return burst_scores(shots)


def noise_sigma(grey: np.ndarray) -> float:
    """The photo's noise level in grey levels: a robust (median) estimate over Immerkaer's high-pass."""
    response = cv2.filter2D(grey.astype(np.float32), -1, _NOISE_KERNEL)[1:-1, 1:-1]
    return float(1.4826 * np.median(np.abs(response)) / 6.0)


def _saved_grey(rgb: np.ndarray, quality: int, workdir: Path, name: str) -> np.ndarray:
    path = workdir / f"{name}.jpg"
    Image.fromarray(rgb).save(path, "JPEG", quality=quality)
    try:
        return production_grey(path)
    finally:
        path.unlink()


def variants(path: Path, workdir: Path) -> dict[tuple[str, str], tuple[np.ndarray, str]]:
    """(kind, variant) -> (the changed frame's reduced grey, which baseline it is compared with).

    Baselines: "file" (the photo as burstd reads it), "q95" (the photo saved at `BASE_QUALITY`), "crop"
    (the cut that shifted frames are compared with); "burst": the whole burst changed alike.
    """
    tag = f"{os.getpid()}-{abs(hash(path))}"
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    out: dict[tuple[str, str], tuple[np.ndarray, str]] = {}
    for q in REENCODE_QUALITIES:
        out[("re-encode", f"q{q}")] = (_saved_grey(rgb, q, workdir, f"{tag}-q{q}"), "file")
    # Shifted frames and their reference are cut to one size: a burst's frames all have one size, so
    # the tile grid never changes between them; only where it cuts the picture does.
    h, w = rgb.shape[0] - MAX_SHIFT, rgb.shape[1] - MAX_SHIFT
    out[("baseline", "crop")] = (_saved_grey(rgb[:h, :w], BASE_QUALITY, workdir, f"{tag}-c"), "file")
    for dx, dy in SHIFTS:
        moved = rgb[dy : dy + h, dx : dx + w]
        out[("shift", f"{dx},{dy} px")] = (_saved_grey(moved, BASE_QUALITY, workdir, f"{tag}-s"), "crop")
    sigma = noise_sigma(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    for seed in NOISE_SEEDS:
        noise = np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
        noisy = np.clip(rgb + noise, 0, 255).astype(np.uint8)
        out[("noise", f"seed {seed}")] = (_saved_grey(noisy, BASE_QUALITY, workdir, f"{tag}-n"), "q95")
    h, w = production_grey(path).shape
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    by_area = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA)
    out[("decode path", "full decode, area-reduced")] = (by_area, "burst")
    factor = reduce_factor(rgb.shape[1], rgb.shape[0])
    with Image.open(path) as im:  # DCT scaling to half burstd's scale, then Pillow's 2x2 box reduction
        im.draft("L", (im.width * 2 // factor, im.height * 2 // factor))
        half = im.convert("L").reduce(2)
    by_box = np.asarray(half.resize((w, h), Image.Resampling.BOX))
    out[("decode path", "DCT decode at 2x, box-reduced")] = (by_box, "burst")
    out[("baseline", "q95")] = (_saved_grey(rgb, BASE_QUALITY, workdir, f"{tag}-b"), "file")
    return out


def measure_burst(name: str, paths: Sequence[Path], workdir: Path,
                  pool: ThreadPoolExecutor) -> tuple[list[Change], list[float]]:  # fmt: skip
    """Every change of every frame of one burst, and the burst's own relative scores."""
    originals = [focus_tiles(production_grey(p)) for p in paths]
    base = scores(originals)
    best = max(base)
    pick = base.index(best)
    changes: list[Change] = []
    whole: dict[tuple[str, str], list[tuple[tuple[float, ...], tuple[int, int]]]] = {}
    for i, frame_variants in enumerate(pool.map(lambda p: variants(p, workdir), paths)):
        grids = {key: focus_tiles(grey) for key, (grey, _) in frame_variants.items()}

        def score_with(grid: tuple[tuple[float, ...], tuple[int, int]], i: int = i) -> float:
            return scores([grid if j == i else g for j, g in enumerate(originals)])[i]

        reference = {"file": base[i], "q95": score_with(grids[("baseline", "q95")]),
                     "crop": score_with(grids[("baseline", "crop")])}  # fmt: skip
        for (kind, variant), (_, against) in frame_variants.items():
            if kind == "baseline":
                continue
            if against in reference:
                delta = (score_with(grids[(kind, variant)]) - reference[against]) / best
                changes.append(Change(name, paths[i].name, kind, variant, i == pick, delta))
            else:  # "burst": every frame decoded this way, relative scores compared
                whole.setdefault((kind, variant), []).append(grids[(kind, variant)])
    for (kind, variant), grids_of_burst in whole.items():
        other = scores(grids_of_burst)
        for i, path in enumerate(paths):
            changes.append(Change(name, path.name, kind, variant, i == pick, other[i] / max(other) - base[i] / best))
    return changes, [s / best for s in base]


def card_checks(data: Path) -> tuple[list[float], list[float]]:
    """From the small benchmark card (`tests/bench`), scanned by burstd: the score difference of the pairs
    of frames of one burst rendered with the same blur (none, or the same Gaussian), which differ only by
    hand-held pose, sensor noise and subject motion; and, for bursts whose best frame is clearly sharper
    (`plan.CLEARLY_MARGIN`) and ranked first, its lead over the burst's second frame."""
    card, truth = generate(data, "small", 1)
    with tempfile.TemporaryDirectory(prefix="burstd-noise-state-") as state:
        run = run_burstd(card, Path(state))
    labels, ranks, scores = predictions(run.report)
    files = truth["files"]
    pairs: list[float] = []
    leads: list[float] = []
    for burst in truth["bursts"].values():
        if not burst["rankable"]:
            continue
        shots = {files[f]["shot"]: f for f in sorted(burst["files"]) if f in scores}  # one file per shot
        named = list(shots.values())
        for i, a in enumerate(named):
            for b in named[i + 1 :]:
                fa, fb = files[a], files[b]
                if (fa["blur_kind"] in ("none", "defocus") and fa["blur_kind"] == fb["blur_kind"]
                        and fa["equivalent_sigma"] == fb["equivalent_sigma"] and labels[a] == labels[b]):  # fmt: skip
                    pairs.append(abs(scores[a] - scores[b]))
        best = next((f for f in burst["best"] if ranks.get(f) == 1), None)
        if burst["clearly"] and best is not None:
            others = [scores[f] for f, label in labels.items() if label == labels[best] and ranks[f] != 1]
            if others:
                leads.append(scores[best] - max(others))
    return pairs, leads


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.abs(np.asarray(values)), q)) if values else math.nan


def suggested_margin(changes: Sequence[Change]) -> float:
    """The pooled 99th percentile of |change|, rounded up to the next `ROUND_TO`."""
    p99 = percentile([c.delta for c in changes], 99)
    return math.ceil(p99 / ROUND_TO - 1e-9) * ROUND_TO


def print_distribution(changes: Sequence[Change]) -> None:
    print("| change | samples | median | p95 | p99 | max |\n| --- | --- | --- | --- | --- | --- |")
    groups: dict[str, list[float]] = {}
    for c in changes:
        groups.setdefault(c.kind, []).append(c.delta)
        groups.setdefault(f"{c.kind}: {c.variant}", []).append(c.delta)
    for c in changes:
        groups.setdefault(f"burst {c.burst}, all kinds", []).append(c.delta)
    groups["picks only, all kinds"] = [c.delta for c in changes if c.pick]
    groups["all"] = [c.delta for c in changes]
    for name, values in groups.items():
        row = [percentile(values, q) for q in (50, 95, 99, 100)]
        print(f"| {name} | {len(values)} | " + " | ".join(f"{v:.4f}" for v in row) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.noise", description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "burstd-bench",
                        help="where the benchmark card is generated, or found (as for python -m tests.bench)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    changes: list[Change] = []
    relative: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="burstd-noise-") as tmp, ThreadPoolExecutor(args.workers) as pool:
        for name, (folder, pattern) in BURSTS.items():
            paths = sorted(folder.glob(pattern))
            if len(paths) < 2:
                print(f"(skipped {name}: no photos in {folder})")
                continue
            burst_changes, relative[name] = measure_burst(name, paths, Path(tmp), pool)
            changes += burst_changes
    print(f"Repeat-noise of the sharpness score, in units of the burst's best score "
          f"({len(changes)} changes of {len({(c.burst, c.frame) for c in changes})} real frames, "
          f"{time.perf_counter() - started:.0f} s):\n")  # fmt: skip
    print_distribution(changes)
    margin = suggested_margin(changes)
    print(f"\nsuggested margin (pooled p99, rounded up to {ROUND_TO}): {margin:.3f}; "
          f"burstd.ranking.NOISE_MARGIN = {NOISE_MARGIN:.3f}\n")  # fmt: skip
    print("| burst | frames | relative scores, sharpest first | within NOISE_MARGIN of the pick |")
    print("| --- | --- | --- | --- |")
    for name, values in relative.items():
        ordered = sorted(values, reverse=True)
        within = sum(1 for v in ordered if indistinguishable(1.0, v))
        print(f"| {name} | {len(ordered)} | {' '.join(f'{v:.3f}' for v in ordered)} | {within} |")
    pairs, leads = card_checks(args.data)
    print("\nCross-check on the small benchmark card (synthetic hand-held bursts of real photos):\n")
    print_table([
        ("pairs of frames of one burst with the same blur", str(len(pairs))),
        ("their score difference: median / p95 / max",
         " / ".join(f"{percentile(pairs, q):.4f}" for q in (50, 95, 100))),
        ("... within NOISE_MARGIN (share their stars)", f"{sum(indistinguishable(1.0, 1.0 - d) for d in pairs)}"),
        ("bursts whose best frame is clearly sharper, ranked first", str(len(leads))),
        ("its lead over the second frame: smallest", f"{min(leads):.4f}" if leads else "-"),
        ("... within NOISE_MARGIN (would share the pick's stars)",
         f"{sum(indistinguishable(1.0, 1.0 - d) for d in leads)}"),
    ])  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
