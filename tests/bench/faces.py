"""Faces and eye state on real photos: `python -m tests.bench.faces` (about a minute on one core).

    python -m tests.bench.faces [--detect-side PX] [--score S] [--speed]

Reads ../shared/faces only (research data, never copied into the project):

- face recall and false positives on the labelled scenes (dlib's PASCAL photos and a 24-face collage,
  `dlib_*.xml`): each image goes through burstd's own decode and `find_faces`; a labelled box counts
  as found when a detected box overlaps it with IoU >= 0.5, or, since YuNet's boxes reach from the
  hairline to the chin where dlib's stop at the brows, when the labelled box's centre lies inside the
  detected box and their widths differ by less than a factor 1.6 (each detection matches one label,
  greedily by IoU). Detections matching no label are false positives; `dlib_dogs.jpg` holds no human
  face, so every detection there is one;
- eye state on `eyes_dev/open` and `eyes_dev/closed` (398 real face crops each): each crop is centred,
  at its own size, on a mid-grey canvas three times as large (at least 320 px), as a detector would
  meet a face in a photo, and goes through `find_faces`; the largest face's state is taken. A crop
  where no face is found, or whose eyes come back unknown, counts as wrong. `CLOSED_BELOW` is checked
  on the odd-numbered crops after being chosen on the even ones: the table gives both halves and the
  threshold that would be best on each;
- small faces: the crops shrunk to 4-15 % of the long side of a 24 MP photo's reduced decode, pasted
  on a real face-free photo: the share found (and eyes read right), which the glance limits;
- time: ms per image for the scenes (decode excluded: `find_faces` only) and ms per face of eye state;
- with `--speed`: the per-file analysis (`analyse_file`, one thread) of ../shared/photos/bursts_fba
  (31 real 3501x2201 JPEGs without faces), with `find_faces` and with it replaced by nothing,
  alternating and keeping each file's fastest of three runs, so the ratio is the cost faces add to a
  card without faces; the same on every 4th file of the 24 MP benchmark card when it has been
  generated (its pictures come from real photos, a few with faces); with `--baseline DIR` (a
  checkout of burstd before faces), cold scans of both cards in subprocesses, alternating the two
  checkouts, the median of `--repeats` each: the speed a user sees, start-up and grouping included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from burstd.analysis import analyse, faces
from burstd.analysis.decode import decode, read_kind
from burstd.analysis.metadata import interpret
from burstd.models import EyeState, Face
from tests.bench.__main__ import machine, print_table
from tests.bench.render import PHOTOS

SHARED_FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
SCENES = SHARED_FACES / "scenes"
EYES = SHARED_FACES / "eyes_dev"
NO_FACES = PHOTOS / "bursts_fba"
# The 24 MP card `python -m tests.bench --profile 24mp` generates (used when it is there).
CARD_24MP = Path(tempfile.gettempdir()) / "burstd-bench" / "24mp-seed1" / "card"


@dataclass(frozen=True, slots=True)
class SceneScore:
    labelled: int
    found: int
    false_positives: int
    dog_detections: int
    ms_per_image: float
    per_image: tuple[tuple[str, int, int, int], ...]  # name, labelled, found, false positives
    unlabelled: tuple[tuple[str, int], ...]  # the other scenes (portraits, two people): faces found


@dataclass(frozen=True, slots=True)
class EyeResult:
    name: str
    truth: EyeState
    eyes: EyeState  # UNKNOWN also when no face was found
    openness: float | None
    face_found: bool


def labelled_scenes() -> dict[str, list[tuple[int, int, int, int]]]:
    """Image file name -> labelled face boxes (x, y, w, h), from both of dlib's XML files."""
    boxes: dict[str, list[tuple[int, int, int, int]]] = {}
    for xml in sorted(SCENES.glob("dlib_*.xml")):
        for image in ET.parse(xml).getroot().iter("image"):
            name = "dlib_" + Path(image.get("file", "")).name
            boxes[name] = [(int(b.get("left", 0)), int(b.get("top", 0)), int(b.get("width", 0)), int(b.get("height", 0)))
                           for b in image.iter("box")]  # fmt: skip
    return boxes


def faces_of(path: Path) -> tuple[tuple[Face, ...], float]:
    """burstd's faces of one file (decoded as `analyse_file` decodes it) and find_faces' seconds."""
    kind = read_kind(path)
    decoded = decode(path, kind or "jpeg")
    orientation = interpret(decoded.tags).orientation
    started = time.perf_counter()
    found = faces.find_faces(decoded.grey, (decoded.width, decoded.height), orientation)
    return found, time.perf_counter() - started


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter) if inter else 0.0


def matches(label: tuple[int, int, int, int], box: tuple[int, int, int, int]) -> bool:
    """The documented matching rule (see the module docstring)."""
    if iou(label, box) >= 0.5:
        return True
    lx, ly, lw, lh = label
    bx, by, bw, bh = box
    cx, cy = lx + lw / 2, ly + lh / 2
    inside = bx <= cx <= bx + bw and by <= cy <= by + bh
    return inside and max(lw, bw) / max(1, min(lw, bw)) < 1.6


def count_matches(labels: list[tuple[int, int, int, int]], boxes: list[tuple[int, int, int, int]]) -> int:
    """Labels matched, one detection each, greedily by IoU."""
    pairs = sorted(((iou(l, b), i, j) for i, l in enumerate(labels) for j, b in enumerate(boxes) if matches(l, b)), reverse=True)
    used_l: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in pairs:
        if i not in used_l and j not in used_b:
            used_l.add(i)
            used_b.add(j)
    return len(used_l)


def score_scenes() -> SceneScore:
    labels = labelled_scenes()
    rows = []
    seconds = []
    for name, boxes in sorted(labels.items()):
        found, took = faces_of(SCENES / name)
        seconds.append(took)
        hit = count_matches(boxes, [f.box for f in found])
        rows.append((name, len(boxes), hit, len(found) - hit))
    dogs, took = faces_of(SCENES / "dlib_dogs.jpg")
    seconds.append(took)
    others = sorted(p for p in SCENES.iterdir() if p.suffix in (".jpg", ".png") and p.name not in labels and p.name != "dlib_dogs.jpg")
    unlabelled = []
    for path in others:
        found, took = faces_of(path)
        seconds.append(took)
        unlabelled.append((path.name, len(found)))
    return SceneScore(
        labelled=sum(r[1] for r in rows), found=sum(r[2] for r in rows), false_positives=sum(r[3] for r in rows),
        dog_detections=len(dogs), ms_per_image=1000 * statistics.mean(seconds), per_image=tuple(rows),
        unlabelled=tuple(unlabelled),
    )  # fmt: skip


def on_canvas(crop: np.ndarray) -> np.ndarray:
    """A face crop centred on a mid-grey canvas three times its size (at least 320 px)."""
    h, w = crop.shape
    side = max(320, 3 * max(h, w))
    canvas = np.full((side, side), 128, dtype=np.uint8)
    y, x = (side - h) // 2, (side - w) // 2
    canvas[y : y + h, x : x + w] = crop
    return canvas


def read_eye_crops(names: list[Path], truth: EyeState) -> list[EyeResult]:
    results = []
    for path in names:
        canvas = on_canvas(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
        found = faces.find_faces(canvas, (canvas.shape[1], canvas.shape[0]))
        if not found:
            results.append(EyeResult(path.name, truth, EyeState.UNKNOWN, None, False))
        else:
            results.append(EyeResult(path.name, truth, found[0].eyes, found[0].openness, True))
    return results


def eye_crops(limit: int | None = None) -> dict[EyeState, list[Path]]:
    """The open and closed crops, sorted by name (every `limit`-th one when given, for tests)."""
    picked = {}
    for truth in (EyeState.OPEN, EyeState.CLOSED):
        files = sorted((EYES / truth.value).glob("*.jpg"))
        picked[truth] = files if limit is None else files[:: max(1, len(files) // limit)][:limit]
    return picked


def eye_figures(results: list[EyeResult], threshold: float | None = None) -> dict[str, float]:
    """Accuracy (unknown and no face count as wrong), open called closed, closed called open."""
    def state(r: EyeResult) -> EyeState:
        if threshold is None or r.openness is None:
            return r.eyes
        return EyeState.CLOSED if r.openness < threshold else EyeState.OPEN

    opened = [r for r in results if r.truth is EyeState.OPEN]
    closed = [r for r in results if r.truth is EyeState.CLOSED]
    right = sum(state(r) is r.truth for r in results)
    return {
        "accuracy": right / max(1, len(results)),
        "open_called_closed": sum(state(r) is EyeState.CLOSED for r in opened) / max(1, len(opened)),
        "closed_called_open": sum(state(r) is EyeState.OPEN for r in closed) / max(1, len(closed)),
        "unknown": sum(state(r) is EyeState.UNKNOWN for r in results) / max(1, len(results)),
    }


def best_threshold(results: list[EyeResult]) -> float:
    """The openness cut with the best accuracy on `results`, open-called-closed kept <= 5 %."""
    candidates = np.arange(0.05, 0.40, 0.005)
    scored = [(eye_figures(results, float(t)), float(t)) for t in candidates]
    allowed = [(f["accuracy"], t) for f, t in scored if f["open_called_closed"] <= 0.05] or [(f["accuracy"], t) for f, t in scored]
    return round(max(allowed)[1], 3)


SMALL_FACE_SHARES = (0.04, 0.07, 0.10, 0.15)


def small_faces(per_share: int = 60) -> dict[float, tuple[float, float]]:
    """How small a face can be and still be found: open and closed crops (`per_share` in all),
    shrunk to a share of the long side of a 1500x1000 view (a 24 MP photo's reduced decode) whose
    background is a real face-free photo (bursts_fba), pasted at a few places. Share -> (found,
    eyes read right). Tight crops lack the hair and shoulders a real face has: a pessimistic test."""
    background = cv2.resize(decode(sorted(NO_FACES.rglob("*.jpg"))[0], "jpeg").grey, (1500, 1000), interpolation=cv2.INTER_AREA)
    picked = eye_crops(limit=per_share // 2)
    crops = [(truth, cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for truth in picked for p in picked[truth]]
    figures = {}
    for share in SMALL_FACE_SHARES:
        side = round(1500 * share)
        found = right = 0
        for i, (truth, crop) in enumerate(crops):
            view = background.copy()
            x, y = 150 + (i * 397) % (1500 - side - 300), 150 + (i * 211) % (1000 - side - 300)
            view[y : y + side, x : x + side] = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
            hits = [f for f in faces.find_faces(view, (6000, 4000)) if iou(f.box, (4 * x, 4 * y, 4 * side, 4 * side)) > 0.2]
            found += bool(hits)
            right += bool(hits) and hits[0].eyes is truth
        figures[share] = (found / len(crops), right / len(crops))
    return figures


def eye_ms_per_face(samples: int = 40) -> float:
    """Eye state's own cost per face (mesh + two iris runs), on the first open crops."""
    crops = [on_canvas(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in eye_crops()[EyeState.OPEN][:samples]]
    seconds = []
    for canvas in crops:
        rows = faces.detect(canvas, faces.DETECT_LONG_SIDE, faces.SCORE_THRESHOLD)
        if len(rows):
            started = time.perf_counter()
            faces.read_eyes(canvas, rows[0, 4:8].reshape(2, 2), tuple(float(v) for v in rows[0, :4]))
            seconds.append(time.perf_counter() - started)
    return 1000 * statistics.median(seconds)


def speed(files: list[Path], repeats: int = 3) -> tuple[float, float, int, int]:
    """(CPU ms per file without faces, with faces, files, faces found) for `analyse_file`, one thread."""
    real = analyse.find_faces
    without: Callable[..., tuple[Face, ...]] = lambda *args, **kwargs: ()  # noqa: E731
    best = {False: [float("inf")] * len(files), True: [float("inf")] * len(files)}
    found = 0
    for repeat in range(repeats):
        for i, path in enumerate(files):
            for with_faces in (False, True):
                analyse.find_faces = real if with_faces else without
                started = time.thread_time()  # CPU time: the shared machine's load stays out of it
                _, analysis, _ = analyse.analyse_file(path, path.stat().st_mtime_ns)
                best[with_faces][i] = min(best[with_faces][i], time.thread_time() - started)
                if with_faces and analysis is not None and repeat == 0:
                    found += len(analysis.faces)
    analyse.find_faces = real
    return 1000 * statistics.mean(best[False]), 1000 * statistics.mean(best[True]), len(files), found


def cold_scan_seconds(checkout: Path, card: Path, cache: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one cold `burstd scan CARD -r --dry-run --json`, burstd imported from
    `checkout`. CPU time (user + system, all threads) is what the work costs; the wall time also
    holds whatever else the shared machine was doing."""
    cache.unlink(missing_ok=True)
    env = os.environ | {"PYTHONPATH": str(checkout), "XDG_STATE_HOME": str(cache.parent)}
    cmd = [sys.executable, "-m", "burstd", "scan", str(card), "-r", "--dry-run", "--json", "--no-config", "--cache", str(cache)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def scan_ratio(baseline: Path, card: Path, repeats: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (wall, CPU) cold-scan seconds of `card` without faces (`baseline`) and with them (this
    checkout), the two alternating so that the machine's load falls on both alike."""
    this = Path(__file__).resolve().parents[2]
    times: dict[Path, list[tuple[float, float]]] = {baseline: [], this: []}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(repeats):
            for checkout in (baseline, this):
                times[checkout].append(cold_scan_seconds(checkout, card, Path(scratch) / "cache.sqlite3"))

    def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    return median(times[baseline]), median(times[this])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.faces", description=__doc__.split("\n")[0])
    parser.add_argument("--detect-side", type=int, default=faces.DETECT_LONG_SIDE, help="the detection copy's long side")
    parser.add_argument("--score", type=float, default=faces.SCORE_THRESHOLD, help="YuNet's confidence cut")
    parser.add_argument("--glance-side", type=int, default=faces.GLANCE_LONG_SIDE, help="the first, cheap look's long side")
    parser.add_argument("--glance-score", type=float, default=faces.GLANCE_SCORE, help="the first look's confidence cut")
    parser.add_argument("--no-glance", action="store_true", help="the full look on every image (the glance made equal to it)")
    parser.add_argument("--speed", action="store_true", help="also time analyse_file with and without faces")
    parser.add_argument("--baseline", type=Path, help="a burstd checkout without faces (e.g. `git archive 44d484f | tar -x -C DIR`): "
                        "with --speed, also time cold scans of the cards with it and with this checkout")
    parser.add_argument("--repeats", type=int, default=3, help="cold scans of each card with each checkout (default 3)")
    parser.add_argument("--verbose", action="store_true", help="per-image rows and wrong eye crops")
    args = parser.parse_args(argv)
    if not SHARED_FACES.is_dir():
        parser.error(f"{SHARED_FACES} is missing")
    faces.DETECT_LONG_SIDE = args.detect_side
    faces.SCORE_THRESHOLD = args.score
    faces.GLANCE_LONG_SIDE, faces.GLANCE_SCORE = (args.detect_side, args.score) if args.no_glance else (args.glance_side, args.glance_score)
    cv2.setNumThreads(1)
    started = time.perf_counter()
    scenes = score_scenes()
    crops = eye_crops()
    results = read_eye_crops(crops[EyeState.OPEN], EyeState.OPEN) + read_eye_crops(crops[EyeState.CLOSED], EyeState.CLOSED)
    by_name = sorted(results, key=lambda r: (r.truth.value, r.name))
    even, odd = by_name[0::2], by_name[1::2]
    allf, oddf = eye_figures(results), eye_figures(odd)
    rows = [
        ("machine", ", ".join(f"{k} {v}" for k, v in machine().items())),
        ("command", "python -m tests.bench.faces " + " ".join(argv or []) + f" (detect side {args.detect_side}, score {args.score}; glance side {faces.GLANCE_LONG_SIDE}, score {faces.GLANCE_SCORE})"),
        ("face recall, labelled scenes", f"{scenes.found / scenes.labelled:.3f} ({scenes.found}/{scenes.labelled})"),
        ("false positives on the labelled scenes; detections on dlib_dogs.jpg", f"{scenes.false_positives}; {scenes.dog_detections}"),
        ("unlabelled scenes (portraits, two people, the 24-face collage) with no face found",
         f"{sum(n == 0 for _, n in scenes.unlabelled)} of {len(scenes.unlabelled)}"),
        ("find_faces, ms per scene image (one core)", f"{scenes.ms_per_image:.1f}"),
        ("eye state, ms per face (mesh + 2 x iris, median)", f"{eye_ms_per_face():.1f}"),
        ("eye crops with no face found (open, closed)",
         f"{sum(not r.face_found for r in results if r.truth is EyeState.OPEN)}, {sum(not r.face_found for r in results if r.truth is EyeState.CLOSED)}"),
        (f"eye accuracy, all {len(results)} (CLOSED_BELOW {faces.CLOSED_BELOW})", f"{allf['accuracy']:.3f}"),
        ("open called closed / closed called open / unknown, all", f"{allf['open_called_closed']:.3f} / {allf['closed_called_open']:.3f} / {allf['unknown']:.3f}"),
        ("eye accuracy, odd half (held out); open called closed", f"{oddf['accuracy']:.3f}; {oddf['open_called_closed']:.3f}"),
        ("best threshold on the even half / on the odd half", f"{best_threshold(even)} / {best_threshold(odd)}"),
    ]  # fmt: skip
    for share, (found, right) in small_faces().items():
        rows.append((f"face {share:.0%} of a 24 MP photo's long side ({round(640 * share)} px at the full look, "
                     f"{round(faces.GLANCE_LONG_SIDE * share)} at the glance): found; eyes right", f"{found:.2f}; {right:.2f}"))  # fmt: skip
    if args.speed:
        plain, with_faces, n, found = speed(sorted(NO_FACES.rglob("*.jpg")))
        rows += [
            (f"analyse_file on {n} face-free 3501x2201 JPEGs (bursts_fba), CPU ms per file: without / with faces",
             f"{plain:.1f} / {with_faces:.1f} (faces found: {found})"),
            ("no-face card: time with faces over time without", f"{with_faces / plain:.3f}"),
        ]  # fmt: skip
        card = sorted(CARD_24MP.glob("*.JPG"))[::4]
        if card:
            plain, with_faces, n, found = speed(card, repeats=2)
            rows.append((f"analyse_file on {n} files of the 24 MP benchmark card (every 4th), CPU ms per file: without / with faces; ratio",
                         f"{plain:.1f} / {with_faces:.1f}; {with_faces / plain:.3f} (faces found: {found})"))  # fmt: skip
    if args.speed and args.baseline:
        for name, card in (("bursts_fba", NO_FACES), ("the 24 MP card", CARD_24MP)):
            if card.is_dir():
                name += f" ({sum(1 for p in card.rglob('*') if p.is_file())} files)"
                (wall0, cpu0), (wall1, cpu1) = scan_ratio(args.baseline.resolve(), card, args.repeats)
                rows.append((f"cold `burstd scan -r --dry-run` of {name}, median of {args.repeats}: wall s without / with faces, ratio; CPU s, ratio",
                             f"{wall0:.2f} / {wall1:.2f}, {wall1 / wall0:.3f}; {cpu0:.1f} / {cpu1:.1f}, {cpu1 / cpu0:.3f}"))  # fmt: skip
    rows.append(("benchmark wall time, s", f"{time.perf_counter() - started:.0f}"))
    print_table(rows)
    if args.verbose:
        for name, labelled, hit, fp in scenes.per_image:
            print(f"{name}: {hit}/{labelled} found, {fp} false positives")
        for name, n in scenes.unlabelled:
            print(f"{name}: {n} faces")
        for r in results:
            if r.eyes is not r.truth:
                print(f"eye {r.truth.value} read {r.eyes.value} openness {r.openness} face {r.face_found}: {r.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
