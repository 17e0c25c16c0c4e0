"""A deterministic synthetic card dump with ground truth, made from real photographs.

    python -m tests.bench.cardgen DATA_DIR [--profile tiny|small|24mp|sets] [--seed N]

writes DATA_DIR/<profile>-seed<N>/card/ (DSC_0001.JPG ... from body A, IMG_0001.JPG ... from body B,
DSC_xxxx.DNG beside some JPEGs or alone) and DATA_DIR/<profile>-seed<N>/truth.json, and reuses both when they
are already there for the same generator version, profile and seed. `plan.py` says what is shot,
`render.py` how the pixels are made, `files.py` how files are written.

truth.json:
    {"version", "profile", "seed", "width", "height", "quality", "clearly_margin", "generation_seconds",
     "files":  {name: {"shot", "burst", "kind", "situation", "body", "exif", "time", "blur_kind", "blur",
                       "equivalent_sigma", "iso", "ev", "bias", "exposure_time", "focus", "depth", "pose",
                       "subject", "rank"}},
     "bursts": {id: {"kind", "situation", "files", "shots", "rankable", "best": [names], "clearly", "margin"}}}
A truth "burst" is any group, of the kind `kind` (`burstd.models.Kind`: burst, bracket, focus-stack,
panorama; a single shot is a burst of one). What each file was rendered from: `ev` the exposure
change in stops; `bias` and `exposure_time` (seconds) what its EXIF says (null without EXIF);
`focus` the focus plane and `depth` the depth map ({"angle", "gamma"}, see `render.depth_map`) of a
focus-stack frame; `pose` the view [cx, cy, view, roll] in source widths and degrees (`render.Pose`;
null for real photos used as they are); `subject` where a pasted moving subject is in the frame
([x, y, radius], fractions of the frame's width, height and width; null without one). `rank` is the true sharpness rank of the file's shot inside
its burst (1 = sharpest, ties share a rank, null when unknown or meaningless: sets, real sequences).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from tests.bench import render
from tests.bench.files import Body, Exposure, camera_exif, set_card_mtime, write_dng, write_jpeg
from tests.bench.plan import ASPECT, CLEARLY_MARGIN, Frame, capture_time, plan_card

VERSION = 5  # bump when the plan or the pixels change: cached datasets are then regenerated
BODIES = {
    "A": Body("NIKON CORPORATION", "NIKON Z 6_2", "6012345", "NIKKOR Z 24-70mm f/4 S", "DSC_"),
    "B": Body("Canon", "Canon EOS R6", "032021001234", "RF24-105mm F4 L IS USM", "IMG_"),
}
ISO_NOISE = {100: 1.0, 200: 1.5, 400: 2.0, 1600: 4.0, 6400: 8.0}  # grey levels, after the tone curve


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    plan: str  # plan_card kind
    out: tuple[int, int]  # file pixel size (width, height)
    render: tuple[int, int]  # size the blur is applied at, then resized to `out` (cheap 24 MP)
    quality: int
    raw: bool  # write the DNGs of the raw_jpeg and raw_only bursts (else JPEGs only)


PROFILES = {
    "tiny": Profile("tiny", "tiny", (480, 320), (480, 320), 90, False),
    "small": Profile("small", "full", (1200, 800), (1200, 800), 92, True),
    "24mp": Profile("24mp", "full", (6000, 4000), (1500, 1000), 95, False),
    "sets": Profile("sets", "sets", (480, 320), (480, 320), 90, False),  # one of each set and look-alike
}


def _pixels(frame: Frame, profile: Profile, rng: np.random.Generator) -> np.ndarray:
    out_w, out_h = profile.out
    if frame.pose is None:  # a real sequence: the photo itself, only resized
        img = render.source(frame.scene, out_w)
        if img.shape[1] != out_w:
            img = cv2.resize(img, (out_w, round(img.shape[0] * out_w / img.shape[1])), interpolation=cv2.INTER_CUBIC)
        return img
    rw, rh = profile.render
    src = render.source(frame.scene, math.ceil(rw / frame.pose.view * 1.05 / 256) * 256)
    if frame.subject:
        src = render.paste_subject(src, *frame.subject)
    img = render.warp_view(src, frame.pose, rw, rh)
    k = rw / render.REF_WIDTH
    if frame.blur_kind == "defocus":
        img = render.defocus(img, frame.blur * k)
    elif frame.blur_kind == "focus" and frame.depth and frame.focus is not None:
        depth = render.depth_map(rw, rh, frame.depth.angle, frame.depth.gamma)
        img = render.focus_blur(img, depth, frame.focus, frame.blur * k)
    elif frame.blur_kind == "motion":
        img = render.motion_blur(img, frame.blur * k, frame.blur_angle)
    img = render.exposure(img, frame.ev)
    if (rw, rh) != (out_w, out_h):
        img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return render.add_noise(img, ISO_NOISE[frame.iso], rng, tiled=out_w > 3000)


def _render_one(job: tuple[Frame, Profile, int, int, Path]) -> None:
    frame, profile, seed, index, card = job
    img = _pixels(frame, profile, np.random.default_rng([seed, index]))
    when = capture_time(frame)
    shot = Exposure(when, frame.shutter, Fraction(4), frame.iso, _bias(frame), frame.orientation)
    body = BODIES[frame.body] if frame.body else None
    if frame.jpeg:
        jpeg = card / f"{frame.stem}.JPG"
        write_jpeg(jpeg, img, profile.quality, camera_exif(body, shot) if body else None)
        set_card_mtime(jpeg, when)
    if frame.raw and body:
        dng = card / f"{frame.stem}.DNG"
        write_dng(dng, img, body, shot)
        set_card_mtime(dng, when)


def _bias(frame: Frame) -> Fraction:
    """The exposure bias as cameras write it: a rational in thirds or halves of a stop."""
    return Fraction(frame.exif_bias).limit_denominator(6)


def _subject_in_frame(frame: Frame) -> list[float] | None:
    """Where the pasted subject is in the frame (roll ignored): centre x and y as fractions of the
    frame's width and height, radius as a fraction of its width."""
    if not frame.subject or not frame.pose:
        return None
    _, sx, sy, radius = frame.subject
    p = frame.pose
    return [(sx - p.cx) / p.view + 0.5, (sy - p.cy) / (p.view / ASPECT) + 0.5, radius / p.view]


def file_names(frame: Frame) -> list[str]:
    return ([f"{frame.stem}.JPG"] if frame.jpeg else []) + ([f"{frame.stem}.DNG"] if frame.raw and frame.body else [])


def _ranks(frames: list[Frame]) -> dict[str, int | None]:
    """True rank per shot: competition ranking by equivalent sigma (ties share), or the known ranks."""
    if not frames[0].rankable:
        return {f.stem: None for f in frames}
    if frames[0].pose is None:
        return {f.stem: f.known_rank for f in frames}
    sigmas = {f.stem: f.equivalent_sigma or 0.0 for f in frames}
    return {s: 1 + sum(o < v - 1e-9 for o in sigmas.values()) for s, v in sigmas.items()}


def build_truth(frames: list[Frame], profile: Profile, seed: int) -> dict:
    """The truth file's content (see the module docstring)."""
    files: dict[str, dict] = {}
    bursts: dict[str, dict] = {}
    by_burst: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        by_burst[f.burst].append(f)
    for burst, members in by_burst.items():
        ranks = _ranks(members)
        names = [n for f in members for n in file_names(f)]
        sigmas = sorted(f.equivalent_sigma for f in members if f.equivalent_sigma is not None)
        margin = sigmas[1] - sigmas[0] if members[0].rankable and len(sigmas) >= 2 else None
        bursts[burst] = {
            "kind": members[0].kind, "situation": members[0].situation, "files": names, "shots": len(members),
            "rankable": members[0].rankable and len(members) > 1,
            "best": [n for f in members if ranks[f.stem] == 1 for n in file_names(f)],
            "clearly": margin is not None and margin >= CLEARLY_MARGIN, "margin": margin,
        }  # fmt: skip
        for f in members:
            for name in file_names(f):
                files[name] = {
                    "shot": f.stem, "burst": burst, "kind": f.kind, "situation": f.situation,
                    "body": BODIES[f.body].model if f.body else None, "exif": f.body is not None,
                    "time": capture_time(f).isoformat(timespec="milliseconds"),
                    "blur_kind": f.blur_kind if f.pose else None, "blur": f.blur if f.pose else None,
                    "equivalent_sigma": f.equivalent_sigma, "iso": f.iso, "ev": f.ev,
                    "bias": float(_bias(f)) if f.body else None,
                    "exposure_time": float(f.shutter) if f.body else None, "focus": f.focus,
                    "depth": {"angle": f.depth.angle, "gamma": f.depth.gamma} if f.depth else None,
                    "pose": [f.pose.cx, f.pose.cy, f.pose.view, f.pose.angle] if f.pose else None,
                    "subject": _subject_in_frame(f),
                    "rank": ranks[f.stem],
                }  # fmt: skip
    w, h = profile.out
    return {"version": VERSION, "profile": profile.name, "seed": seed, "width": w, "height": h,
            "quality": profile.quality, "clearly_margin": CLEARLY_MARGIN, "files": files, "bursts": bursts}  # fmt: skip


def _cached(truth_path: Path, profile: str, seed: int) -> dict | None:
    try:
        truth = json.loads(truth_path.read_text())
    except (OSError, ValueError):
        return None
    if (truth.get("version"), truth.get("profile"), truth.get("seed")) != (VERSION, profile, seed):
        return None
    card = truth_path.parent / "card"
    return truth if all((card / name).is_file() for name in truth["files"]) else None


def generate(root: Path, profile: str = "small", seed: int = 1, workers: int | None = None) -> tuple[Path, dict]:
    """Make (or reuse) the dataset; returns (card directory, truth). Truth is written last, so an
    interrupted generation is never mistaken for a complete one."""
    p = PROFILES[profile]
    dest = root / f"{profile}-seed{seed}"
    truth_path = dest / "truth.json"
    cached = _cached(truth_path, profile, seed)
    if cached is not None:
        return dest / "card", cached | {"reused": True}
    card = dest / "card"
    shutil.rmtree(card, ignore_errors=True)
    card.mkdir(parents=True)
    truth_path.unlink(missing_ok=True)
    started = time.perf_counter()
    frames = plan_card(seed, p.plan)
    if not p.raw:  # the same card, its RAW bursts shot as JPEG only
        frames = [replace(f, raw=False, jpeg=True, situation="burst") if f.raw else f for f in frames]
    jobs = [(f, p, seed, i, card) for i, f in enumerate(frames)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_render_one, jobs, chunksize=4))
    truth = build_truth(frames, p, seed)
    truth["generation_seconds"] = round(time.perf_counter() - started, 2)
    truth_path.write_text(json.dumps(truth, indent=1))
    return card, truth | {"reused": False}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.cardgen", description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    card, truth = generate(args.data, args.profile, args.seed)
    state = "reused" if truth["reused"] else f"generated in {truth['generation_seconds']} s"
    print(f"{card}: {len(truth['files'])} files, {len(truth['bursts'])} truth bursts, {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
