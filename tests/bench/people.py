"""People bursts for the benchmark: real faces, a focus miss, a moving subject, closed eyes.

    python -m tests.bench.people [--data DIR] [--seed N] [--out FILE]

writes DIR/people-seed<N>/card/ (JPEGs with camera EXIF, one burst of five frames a minute) and its
truth.json, runs `burstd scan --dry-run --json` on it, and scores top-1 (the pick is the truly best
frame) per kind of burst, three ways:

- `today`: the sharpest quarter of the frame (`ranking.burst_scores`) on the same cached analyses,
  what burstd did before it saw people;
- `burstd`: the scan's own picks, with whatever faces its analysis finds (none until face detection
  is in the analysis);
- `true faces`: `ranking.rate_burst` on the same analyses given the faces as they were made (boxes
  where they were pasted or labelled; eyes open or closed as the crop was; openness 0.30 for an open
  crop and 0.05 for a closed one; no face focus measure, so the tiles under the faces are measured);
- `true faces + eyes focus`: the same, each face also given a focus measure over its eyes' band
  (`eyes_focus`), standing in for the face detector's `Face.sharpness`.

The photos are used from ../shared/faces (research data: read there, never copied into the project):

- `focus`: a real portrait (`scenes/`, faces boxed by YuNet, listed in `FACES` below). Each frame
  blurs the faces' region (a feathered ellipse around each face) and the rest by different amounts:
  the best frame has the faces sharp and the background soft; two frames are focus misses, the
  background sharp and the faces soft; the others are soft all over, or in between.
- `moving`: a real person (head and shoulders cut from a portrait) crosses a sharp real background
  from left to right, one frame in five sharp, the others blurred by their own motion (horizontal,
  8 to 30 reference pixels), the background sharp in all of them.
- `eyes`: a real open-eyed face crop (`eyes_dev/open/`) pasted, feathered, on a real background in four
  frames, and a real closed-eyed face crop (`eyes_dev/closed/`, another person: the sets hold no pair of
  the same face) scaled to the same size at the same place in the fifth. The closed frame is the
  sharpest; the open frames are blurred 0.5, 1.8, 2.6, 3.2: the best frame is the sharpest open one.

Every frame is cut from its picture with a hand-held shift (up to 10 px) and gets light sensor noise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from burstd.analysis.decode import reduced_grey
from burstd.models import Burst, EyeState, Face, Shot
from burstd.ranking import burst_scores, rate_burst
from burstd.store import Store
from tests.bench import render
from tests.bench.__main__ import run_burstd
from tests.bench.files import Body, Exposure, camera_exif, set_card_mtime, write_jpeg

FACES_DIR = Path(__file__).resolve().parents[3] / "shared" / "faces"
if not FACES_DIR.is_dir():
    FACES_DIR = Path("/work/shared/faces")
VERSION = 2
BODY = Body("NIKON CORPORATION", "NIKON Z 6_2", "6012345", "NIKKOR Z 24-70mm f/4 S", "DSC_")
START = datetime(2025, 5, 3, 15, 0, 0, tzinfo=timezone(timedelta(hours=2)))
LONG_SIDE = 1200
SHAKE = 10  # hand-held shift, pixels
# Face boxes (x, y, w, h) in the scenes' own pixels, found by YuNet (../shared/models) and checked by eye.
FACES = {
    "alex_lacamoire1.jpg": [(624, 112, 320, 441)],
    "obama-1080p.jpg": [(870, 87, 249, 319)],
    "obama_and_biden.jpg": [(1142, 362, 185, 236), (760, 396, 170, 238), (1622, 1036, 156, 196)],
    "two_people.jpg": [(240, 31, 142, 195), (787, 47, 149, 207)],
    "obama3.jpg": [(644, 273, 264, 344)],
    "johnsnow_test1.jpg": [(258, 132, 180, 244)],
    "biden.jpg": [(425, 174, 289, 402)],
}
# (faces' blur, background's blur), Gaussian sigmas in reference pixels; the first is the best frame.
FOCUS_PLAN = [(0.0, 3.0), (3.0, 0.0), (2.5, 0.3), (1.6, 1.6), (2.2, 2.2)]
MOTION_PLAN = [0.0, 8.0, 14.0, 22.0, 30.0]  # subject's motion blur, reference pixels; the first is the best
EYES_PLAN = [0.0, 0.5, 1.8, 2.6, 3.2]  # whole-frame blur; the first frame has closed eyes, the second is the best
BACKGROUNDS = ("IMG_5910", "xmp_test", "sugarshack", "coffee", "rocket", "motorcycle")
OPEN_OPENNESS, CLOSED_OPENNESS = 0.30, 0.05
METHODS = ("today", "burstd", "true faces", "true faces + eyes focus")


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _fit(img: np.ndarray) -> tuple[np.ndarray, float]:
    """The picture at most LONG_SIDE pixels on its long side, and the scale applied."""
    scale = min(1.0, LONG_SIDE / max(img.shape[:2]))
    if scale == 1.0:
        return img, 1.0
    size = (round(img.shape[1] * scale), round(img.shape[0] * scale))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA), scale


def _ellipses(shape: tuple[int, int], boxes: list[tuple[float, float, float, float]], grow: float) -> np.ndarray:
    """A feathered mask (0..1) of an ellipse around each box, `grow` times the box's size."""
    mask = np.zeros(shape, np.float32)
    for x, y, w, h in boxes:
        centre = (round(x + w / 2), round(y + h / 2))
        cv2.ellipse(mask, centre, (round(w * grow / 2), round(h * grow / 2)), 0, 0, 360, 1.0, -1)
    feather = max(3.0, min(b[2] for b in boxes) * 0.08) if boxes else 3.0
    return cv2.GaussianBlur(mask, (0, 0), feather)[:, :, None]


def _blend(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (a.astype(np.float32) * mask + b.astype(np.float32) * (1 - mask)).round().clip(0, 255).astype(np.uint8)


def _shot(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """A hand-held frame cut from `img` (SHAKE px smaller each side), with light sensor noise; and
    where the cut starts, so boxes follow."""
    dx, dy = (int(v) for v in rng.integers(0, 2 * SHAKE + 1, size=2))
    h, w = img.shape[:2]
    cut = img[dy : h - 2 * SHAKE + dy, dx : w - 2 * SHAKE + dx]
    return render.add_noise(np.ascontiguousarray(cut), 1.5, rng, tiled=False), dx, dy


def _moved(box: tuple[float, float, float, float], dx: int, dy: int) -> list[int]:
    return [round(box[0] - dx), round(box[1] - dy), round(box[2]), round(box[3])]


Frames = list[tuple[np.ndarray, list[dict]]]  # each frame's pixels and its true faces ({"box", "eyes"})


def _shuffled(frames: Frames, best: int, rng: np.random.Generator) -> tuple[Frames, int]:
    """The frames in a random shooting order, and where the best one landed."""
    order = [int(i) for i in rng.permutation(len(frames))]
    return [frames[i] for i in order], order.index(best)


def focus_burst(scene: str, rng: np.random.Generator) -> tuple[Frames, int]:
    img, scale = _fit(_read(FACES_DIR / "scenes" / scene))
    boxes = [tuple(v * scale for v in b) for b in FACES[scene]]
    mask = _ellipses(img.shape[:2], boxes, 1.5)
    k = img.shape[1] / render.REF_WIDTH
    frames = []
    for face_blur, background_blur in FOCUS_PLAN:
        pixels = _blend(render.defocus(img, face_blur * k), render.defocus(img, background_blur * k), mask)
        out, dx, dy = _shot(pixels, rng)
        frames.append((out, [{"box": _moved(b, dx, dy), "eyes": "open"} for b in boxes]))
    return _shuffled(frames, 0, rng)


def moving_burst(person: str, background: str, rng: np.random.Generator) -> tuple[Frames, int]:
    w, h = LONG_SIDE + 2 * SHAKE, LONG_SIDE * 2 // 3 + 2 * SHAKE
    scene = cv2.resize(render.source(background, w), (w, h), interpolation=cv2.INTER_AREA)
    portrait = _read(FACES_DIR / "scenes" / person)
    fx, fy, fw, fh = FACES[person][0]
    # Head and shoulders: the face and as much around it as the portrait holds.
    x0, y0 = max(0, round(fx - 0.6 * fw)), max(0, round(fy - 0.4 * fh))
    x1, y1 = min(portrait.shape[1], round(fx + 1.6 * fw)), min(portrait.shape[0], round(fy + 1.9 * fh))
    cut = portrait[y0:y1, x0:x1]
    size = 0.45 * h / cut.shape[0]
    cut = cv2.resize(cut, (round(cut.shape[1] * size), round(cut.shape[0] * size)), interpolation=cv2.INTER_AREA)
    face = ((fx - x0) * size, (fy - y0) * size, fw * size, fh * size)
    ch, cw = cut.shape[:2]
    top = (h - ch) // 2
    frames = []
    for i, length in enumerate(MOTION_PLAN):
        place = {0: 2, 1: 0, 2: 1}.get(i, i)  # the sharp frame is the third place across
        left = round(0.15 * w + place * 0.1 * w)  # a tenth of the frame a frame: a runner at 10 fps
        left = min(left, w - cw)
        layer = np.zeros_like(scene)
        layer[top : top + ch, left : left + cw] = cut
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (left + cw // 2, top + ch // 2), (cw // 2, ch // 2), 0, 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), 4)[:, :, None]
        blurred_layer = render.motion_blur(layer, length * w / render.REF_WIDTH, 0.0)
        blurred_mask = render.motion_blur(mask, length * w / render.REF_WIDTH, 0.0).reshape(h, w, 1)
        out, dx, dy = _shot(_blend(blurred_layer, scene, blurred_mask), rng)
        frames.append((out, [{"box": _moved((left + face[0], top + face[1], face[2], face[3]), dx, dy), "eyes": "open"}]))
    # The sharp frame is shot third, mid-way across: the order of MOTION_PLAN is not the order of shooting.
    return [frames[1], frames[2], frames[0], frames[3], frames[4]], 2


def eyes_burst(open_crop: Path, closed_crop: Path, background: str, rng: np.random.Generator) -> tuple[Frames, int]:
    w, h = LONG_SIDE + 2 * SHAKE, LONG_SIDE * 2 // 3 + 2 * SHAKE
    scene = cv2.resize(render.source(background, w), (w, h), interpolation=cv2.INTER_AREA)
    side = round(0.36 * h)
    x, y = int(rng.integers(0.15 * w, 0.85 * w - side)), int(rng.integers(0.12 * h, 0.88 * h - side))
    faces = {state: cv2.resize(_read(p), (side, side), interpolation=cv2.INTER_AREA if min(_read(p).shape[:2]) >= side
                               else cv2.INTER_CUBIC) for state, p in (("open", open_crop), ("closed", closed_crop))}
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (x + side // 2, y + side // 2), (round(side * 0.46), round(side * 0.5)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), side * 0.04)[:, :, None]
    k = w / render.REF_WIDTH
    frames = []
    for i, blur in enumerate(EYES_PLAN):
        state = "closed" if i == 0 else "open"
        layer = scene.copy()
        layer[y : y + side, x : x + side] = faces[state]
        out, dx, dy = _shot(render.defocus(_blend(layer, scene, mask), blur * k), rng)
        frames.append((out, [{"box": _moved((x + 0.1 * side, y + 0.05 * side, 0.8 * side, 0.9 * side), dx, dy),
                              "eyes": state}]))
    return _shuffled(frames, 1, rng)  # the closed frame anywhere in the burst


def plan(seed: int) -> list[tuple[str, str, Frames, int]]:
    """(kind, burst id, frames with their true faces, index of the best frame) for every burst."""
    rng = np.random.default_rng(seed)
    bursts = [("focus", f"focus-{Path(scene).stem}", *focus_burst(scene, rng)) for scene in FACES]
    for i, person in enumerate(("alex_lacamoire1.jpg", "obama-1080p.jpg", "johnsnow_test1.jpg", "obama3.jpg")):
        bursts.append(("moving", f"moving-{Path(person).stem}", *moving_burst(person, BACKGROUNDS[i], rng)))
    opened = sorted((FACES_DIR / "eyes_dev" / "open").glob("*.jpg"))
    closed = [p for p in sorted((FACES_DIR / "eyes_dev" / "closed").glob("*.jpg")) if min(Image.open(p).size) >= 120]
    for i in range(6):
        o, c = opened[int(rng.integers(len(opened)))], closed[int(rng.integers(len(closed)))]
        bursts.append(("eyes", f"eyes-{o.stem}+{c.stem.split('.')[0]}", *eyes_burst(o, c, BACKGROUNDS[i], rng)))
    return bursts


def generate(root: Path, seed: int = 1) -> tuple[Path, dict]:
    """The card and its truth, reused when already made by this version with this seed."""
    base = root / f"people-seed{seed}"
    card, truth_path = base / "card", base / "truth.json"
    if truth_path.exists():
        truth = json.loads(truth_path.read_text())
        if truth.get("version") == VERSION:
            return card, truth
    card.mkdir(parents=True, exist_ok=True)
    truth: dict = {"version": VERSION, "seed": seed, "files": {}, "bursts": {}}
    number = 1
    for b, (kind, burst_id, frames, best) in enumerate(plan(seed)):
        names = []
        for i, (pixels, faces) in enumerate(frames):
            when = START + timedelta(minutes=b, seconds=i / 10)
            name = f"{BODY.prefix}{number:04d}.JPG"
            number += 1
            path = card / name
            write_jpeg(path, pixels, 92, camera_exif(BODY, Exposure(when, Fraction(1, 500), Fraction(4), 400, Fraction(0))))
            set_card_mtime(path, when)
            truth["files"][name] = {"burst": burst_id, "faces": faces, "size": [pixels.shape[1], pixels.shape[0]]}
            names.append(name)
        truth["bursts"][burst_id] = {"kind": kind, "files": names, "best": names[best]}
    truth_path.write_text(json.dumps(truth, indent=1))
    return card, truth


def true_faces(entry: dict, grey: np.ndarray | None = None) -> tuple[Face, ...]:
    """The faces of a frame as they were made, as the face detector at its best would give them; with
    `grey` (the frame's reduced decode), each with a focus measure over its eyes' band too."""
    width = entry["size"][0]
    return tuple(Face(tuple(f["box"]), 1.0, EyeState(f["eyes"]),
                      OPEN_OPENNESS if f["eyes"] == "open" else CLOSED_OPENNESS,
                      None if grey is None else eyes_focus(grey, f["box"], grey.shape[1] / width))
                 for f in entry["faces"])


def eyes_focus(grey: np.ndarray, box: list[int], scale: float) -> float:
    """burstd's focus measure (`features.focus_tiles`: mean squared Laplacian over contrast) over the
    band of a face where the eyes are (from a fifth to a half of its height), on the reduced decode."""
    x, y, w, h = (round(v * scale) for v in box)
    band = grey[max(0, y + h // 5) : max(1, y + h // 2), max(0, x) : max(1, x + w)]
    blurred = cv2.GaussianBlur(band, (3, 3), 0.8)
    lap = cv2.Laplacian(blurred, cv2.CV_64F, ksize=1)
    return float((lap**2).mean() / math.sqrt(blurred.astype(np.float64).std() ** 2 + 25.0))


def score(card: Path, truth: dict, report: dict, state: Path) -> dict:
    """Top-1 per kind of burst: today's measure, burstd's scan, and burstd's ranking given the true faces."""
    picks = {Path(g["members"][0]["path"]).name for g in report["groups"] if len(g["members"]) > 1}
    with Store.open(state / "burstd" / "cache.sqlite3") as store:
        paths = [card / n for n in truth["files"]]
        cached = store.analyses.lookup((p, p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    results: dict[str, dict[str, list[int]]] = {}
    picks_per_burst: dict[str, dict[str, str | None]] = {}
    for burst_id, burst in truth["bursts"].items():
        shots = tuple(Shot(card / n, cached[card / n].analysis) for n in burst["files"])
        today = burst["files"][int(np.argmax(burst_scores(shots)))]
        given = tuple(replace(s, analysis=replace(s.analysis, faces=true_faces(truth["files"][s.primary.name])))
                      for s in shots)
        with_faces = rate_burst(Burst(burst_id, given), max_rank=3).members[0].shot.primary.name
        measured = tuple(replace(s, analysis=replace(s.analysis, faces=true_faces(
            truth["files"][s.primary.name], reduced_grey(s.primary)))) for s in shots)
        with_focus = rate_burst(Burst(burst_id, measured), max_rank=3).members[0].shot.primary.name
        scan = next((n for n in burst["files"] if n in picks), None)
        row = results.setdefault(burst["kind"], {m: [0, 0] for m in METHODS})
        chosen = dict(zip(METHODS, (today, scan, with_faces, with_focus), strict=True))
        picks_per_burst[burst_id] = {"best": burst["best"], **chosen}
        for method, pick in chosen.items():
            row[method][0] += pick == burst["best"]
            row[method][1] += 1
    grouped = sum(1 for g in report["groups"] if len(g["members"]) > 1)
    return {"bursts": len(truth["bursts"]), "bursts found by the scan": grouped, "top1": results, "picks": picks_per_burst}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.people", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "burstd-bench")
    parser.add_argument("--out", type=Path, default=Path("tests/bench/results-people.json"))  # git ignores it
    args = parser.parse_args(argv)
    if not FACES_DIR.is_dir():
        print(f"needs the real faces in {FACES_DIR}", file=sys.stderr)
        return 1
    card, truth = generate(args.data, args.seed)
    with tempfile.TemporaryDirectory(prefix="burstd-bench-state-") as state:
        run = run_burstd(card, Path(state))
        if not run.report:
            print(f"burstd gave no JSON report (exit {run.returncode}):\n{run.stderr[-3000:]}", file=sys.stderr)
            return 1
        results = score(card, truth, run.report, Path(state)) | {"card": str(card), "seconds": round(run.seconds, 2)}
    print(f"{results['bursts']} people bursts of 5 frames ({results['bursts found by the scan']} found by the scan), top-1:")
    print(f"{'kind':<8} " + " ".join(f"{m:>{len(m) + 2}}" for m in METHODS))
    for kind, row in results["top1"].items():
        print(f"{kind:<8} " + " ".join(f"{f'{a}/{n}':>{len(m) + 2}}" for m, (a, n) in zip(METHODS, row.values(), strict=True)))
    args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
