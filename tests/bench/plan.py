"""The script of a synthetic card: which frames a photographer shot, when, of what, how blurred.

`plan_card(seed, kind)` is pure and deterministic: a seeded generator decides every event, and the
result is a list of `Frame`s that `cardgen` renders. The situations (issue 7) are the labels in
`SITUATIONS`; each frame carries its truth burst id and situation.

Blur truth: every synthetic frame has one blur of known strength, in reference pixels (`render.py`).
Its *equivalent sigma* orders frames by sharpness: a defocus blur counts its Gaussian sigma, a motion
blur of length L counts L / 4 (a box of length L has standard deviation L / sqrt(12) ~ L / 3.5 along
one axis and leaves the other axis sharp, so it hurts a focus measure somewhat less than a Gaussian of
that sigma). A burst's best frame is *clearly* sharper when the second-best frame's equivalent sigma
exceeds the best's by at least `CLEARLY_MARGIN` (1.0 reference pixel): a visible difference at 100 %.

Kinds (issue 15): every truth group has a `Frame.kind`, one of `burstd.models.Kind`'s values. A burst
is ranked; a set (bracket, focus stack, panorama) is shot to be merged and has no sharpness order:
- bracket: one framing at stepped exposures (`ev`), by exposure bias (EXIF bias = ev, hand-held,
  in continuous drive or a second apart), by shutter time at a constant bias of 0 (tripod, seconds
  apart), or without EXIF; 3, 5 or 7 frames, in the orders cameras use (0,-,+ or -,0,+ ...);
- focus stack: one framing (tripod, a little focus breathing) and exposure; the photo gets a depth
  map (`Depth`: a tilted plane, possibly curved) and each frame a focus plane (`focus`, 0 near .. 1
  far) swept near to far: each depth band is blurred by its distance from the frame's focus plane;
- panorama: a sliding view over a wide photo, 20-60 % overlap between consecutive frames, hand-held
  jitter in y and roll, seconds apart or at 10 fps (motion blur along the sweep); the slow 5 fps
  sweep across a static scene (`pan`) is one panorama too.
The look-alikes stay bursts: auto-exposure drift within a burst (`ae_drift`: ev wanders in 1/3
stops at a bias of 0), a quick reshoot seconds later, reframed and re-metered (`quick_reshoot`: one
burst), a pan tracking a moving subject (`tracking_pan`: the subject fixed in the frame, the
background sliding), and the real hand-held bursts of ../shared/photos/bursts_fba (`real_burst`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import numpy as np

from burstd.models import Kind
from tests.bench.render import REF_WIDTH, SHARED_SCENES, SKIMAGE_SCENES, Pose, source_size, view_fits

CLEARLY_MARGIN = 1.0
FOCUS_SIGMA = 5.0  # focus stacks: blur (Gaussian sigma, reference pixels) one full depth away from focus
ASPECT = 1.5
START = datetime(2024, 6, 15, 9, 12, 3, tzinfo=timezone(timedelta(hours=2)))
SITUATIONS = (
    "burst", "moving", "single", "scene_cut", "reshoot", "pan", "bracket",
    "focus_stack", "two_bodies", "no_exif", "raw_jpeg", "raw_only",
    "bracket_shutter", "bracket_noexif", "panorama", "ae_drift", "quick_reshoot", "tracking_pan", "real_burst",
)  # fmt: skip
# Wide real photos for panoramas and tracking pans: a sharp frame of each real burst of bursts_fba
# (3501 px wide) and Pillow's 2000-px test photo.
WIDE_SCENES = ("woods", "bookshelf", "tequila", "xmp_test")
FBA_BURSTS = {"bookshelf": 10, "tequila": 8, "woods": 13}  # frames REG_001 ... of each real burst
PCB_SECONDS = (0, 5, 9, 15, 19, 23, 27, 31, 34, 44)  # the real sweep's own DateTimeOriginal spacing
PAN_SOURCES = ("xmp_test", "IMG_5910")
SUBJECTS = ("chelsea", "astronaut", "coffee", "rocket")


@dataclass(frozen=True, slots=True)
class Depth:
    """A smooth depth map over the frame, 0 near .. 1 far: a plane whose depth grows towards `angle`
    (degrees, counter-clockwise from the frame's right; 90: bottom near, top far, a table seen from
    above), bent by `gamma` (1: flat). `render.depth_map` draws it."""

    angle: float
    gamma: float


@dataclass(frozen=True, slots=True)
class Frame:
    """One image file to render (two files when `raw`: a DNG beside the JPEG)."""

    stem: str  # DSC_0001
    body: str | None  # "A" or "B"; None: the file gets no EXIF at all
    t: float  # seconds after START
    scene: str  # a render.py source name, or "shared:<path>" for a real sequence used as is
    burst: str  # truth burst id
    situation: str
    pose: Pose | None = None  # None: the real photo as is, resized
    blur_kind: str = "none"  # none | defocus | motion | focus (by depth, `focus` and `depth`)
    blur: float = 0.0  # sigma or length, reference pixels
    blur_angle: float = 0.0
    iso: int = 100
    ev: float = 0.0
    subject: tuple[str, float, float, float] | None = None  # patch photo, cx, cy, radius (normalised)
    orientation: int = 1
    raw: bool = False  # write a DNG of the frame
    jpeg: bool = True  # write the JPEG (False with raw: a RAW-only shot)
    rankable: bool = True  # False: the burst has no sharpness order (sets)
    known_rank: int | None = None  # real sequences: rank known from their README (else None)
    kind: Kind = Kind.BURST  # the truth group's kind
    bias: float | None = None  # EXIF ExposureBiasValue when it is not `ev` (manual brackets, AE drift)
    focus: float | None = None  # focus stacks: the frame's focus plane, 0 near .. 1 far (`depth`)
    depth: Depth | None = None  # focus stacks: the scene's depth map
    exposure_time: float | None = None  # seconds; None: 1/250 s at ev 0, doubling per stop (`shutter`)

    @property
    def exif_bias(self) -> float:
        return self.ev if self.bias is None else self.bias

    @property
    def shutter(self) -> Fraction:
        """The EXIF exposure time: aperture priority at 1/250 s for ev 0, in the nominal values cameras
        write (1/n below a second)."""
        seconds = self.exposure_time or 2.0**self.ev / 250
        return Fraction(1, round(1 / seconds)) if seconds < 1 else Fraction(seconds).limit_denominator(10)

    @property
    def equivalent_sigma(self) -> float | None:
        if self.pose is None or self.blur_kind == "focus":  # no single sharpness: it varies with depth
            return None
        return self.blur / 4.0 if self.blur_kind == "motion" else self.blur


@dataclass(frozen=True, slots=True)
class Style:
    """A burst's shooting conditions."""

    fps: float
    iso: int
    clear: bool  # blur design guarantees a clearly sharpest frame


class _Card:
    """Mutable state while planning: the clock, file counters, burst ids, scene rotation."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.t = 0.0
        self.counters = {"A": 0, "B": 0}
        self.frames: list[Frame] = []
        self.n_bursts = 0
        self.recent: list[str] = []

    def stem(self, body: str | None) -> str:
        key = "B" if body == "B" else "A"  # files without EXIF continue the main camera's numbering
        self.counters[key] += 1
        return f"{'IMG' if key == 'B' else 'DSC'}_{self.counters[key]:04d}"

    def burst_id(self, situation: str) -> str:
        self.n_bursts += 1
        return f"b{self.n_bursts:03d}-{situation}"

    def scene(self) -> str:
        """A photo not used by the last few events, so neighbouring events never share a scene."""
        pool = [s for s in SKIMAGE_SCENES + SHARED_SCENES if s not in self.recent and s != "xmp_test"]
        name = str(self.rng.choice(pool))
        self.recent = (self.recent + [name])[-4:]
        return name

    def gap(self, low: float = 20.0, high: float = 120.0) -> None:
        self.t += float(self.rng.uniform(low, high))

    def style(self, clear: bool | None = None, iso: int | None = None) -> Style:
        clear = bool(self.rng.random() < 0.5) if clear is None else clear
        iso = int(self.rng.choice([100, 400, 1600, 6400])) if iso is None else iso
        return Style(fps=float(self.rng.uniform(5, 15)), iso=iso, clear=clear)

    def base_pose(self, scene: str, view_scale: float = 1.0) -> Pose:
        sw, sh = source_size(scene)
        vmax = min(1.0, sh * ASPECT / sw)
        view = vmax * float(self.rng.uniform(0.6, 0.8)) * view_scale
        vh = view / ASPECT
        cx = float(self.rng.uniform(view / 2 + 0.05 * view, 1 - view / 2 - 0.05 * view))
        cy = float(self.rng.uniform(vh / 2 + 0.05 * vh, sh / sw - vh / 2 - 0.05 * vh))
        return Pose(cx, cy, view)

    def jitter(self, scene: str, base: Pose, prev: Pose, amount: float = 1.0) -> Pose:
        """Handheld: a small random step from the previous frame, pulled back towards the base pose."""
        size = source_size(scene)
        for _ in range(8):
            dx, dy = self.rng.normal(0, 0.006 * base.view * amount, 2)
            pose = Pose(
                0.7 * prev.cx + 0.3 * base.cx + float(dx),
                0.7 * prev.cy + 0.3 * base.cy + float(dy),
                base.view,
                float(np.clip(0.6 * prev.angle + self.rng.normal(0, 0.3 * amount), -1.5, 1.5)),
            )
            if view_fits(pose, size, ASPECT):
                return pose
            amount /= 2
        return replace(base, angle=0.0)

    def blurs(self, n: int, clear: bool) -> list[tuple[str, float, float]]:
        """(kind, amount, angle) per frame: a clearly sharpest frame, or a hard mix of soft frames."""
        out = []
        best = int(self.rng.integers(n))
        for i in range(n):
            angle = float(self.rng.uniform(0, 180))
            r = self.rng.random()
            if clear and i == best:
                out.append(("none", 0.0, 0.0))
            elif clear:
                if r < 0.5:
                    out.append(("defocus", float(self.rng.uniform(1.3, 3.5)), 0.0))
                else:
                    out.append(("motion", float(self.rng.choice([6, 9, 13, 17])), angle))
            elif r < 0.25:
                out.append(("none", 0.0, 0.0))
            elif r < 0.6:
                out.append(("defocus", float(self.rng.uniform(0.3, 0.9)), 0.0))  # slightly soft
            elif r < 0.8:
                out.append(("defocus", float(self.rng.uniform(1.0, 3.5)), 0.0))
            else:
                out.append(("motion", float(self.rng.choice([3, 5, 9, 15])), angle))
        return out


def _burst(card: _Card, situation: str, n: int, style: Style, scene: str | None = None,
           body: str | None = "A", moving: bool = False, pose: Pose | None = None,
           raw: bool = False, jpeg: bool = True, orientation: int = 1, start: float | None = None,
           evs: list[float] | None = None, join: str | None = None) -> str:  # fmt: skip
    """Shoot `n` frames at `style.fps`; returns the truth burst id (`join`: add them to that burst).
    `evs`: the metered exposure of each frame, at an exposure bias of 0 (auto-exposure at work)."""
    scene = scene or card.scene()
    base = pose or card.base_pose(scene)
    burst = join or card.burst_id(situation)
    t0 = card.t if start is None else start
    subject = None
    if moving:
        patch = str(card.rng.choice([s for s in SUBJECTS if s != scene]))
        heading = card.rng.uniform(0, 2 * math.pi)
        speed = 0.12 * base.view  # per second: stays in view
        subject = (patch, base.cx, base.cy, 0.09 * base.view, speed * math.cos(heading), speed * math.sin(heading))
    prev = base
    for i, (kind, amount, angle) in enumerate(card.blurs(n, style.clear)):
        t = t0 + i / style.fps + float(card.rng.uniform(-0.002, 0.002))
        prev = card.jitter(scene, base, prev)
        sub = None
        if subject:
            patch, sx, sy, radius, vx, vy = subject
            sub = (patch, sx + vx * (t - t0), sy + vy * (t - t0), radius)
        card.frames.append(Frame(
            stem=card.stem(body), body=body, t=t, scene=scene, burst=burst, situation=situation,
            pose=prev, blur_kind=kind, blur=amount, blur_angle=angle, iso=style.iso, subject=sub,
            orientation=orientation, raw=raw, jpeg=jpeg,
            ev=evs[i] if evs else 0.0, bias=0.0 if evs else None,
        ))  # fmt: skip
    card.t = max(card.t, t0 + (n - 1) / style.fps)
    return burst


def _single(card: _Card, body: str | None = "A", situation: str = "single") -> None:
    scene = card.scene()
    pose = card.base_pose(scene)
    blur = float(card.rng.uniform(0, 1.5))
    card.frames.append(Frame(
        stem=card.stem(body), body=body, t=card.t, scene=scene, burst=card.burst_id(situation),
        situation=situation, pose=pose, blur_kind="defocus", blur=blur, iso=int(card.rng.choice([100, 400])),
    ))  # fmt: skip


def _scene_cut(card: _Card, clear: bool | None = None) -> None:
    """A burst, then one second after its last frame a burst of another scene: must split."""
    _burst(card, "scene_cut", int(card.rng.integers(4, 11)), card.style(clear))
    card.t += 1.0
    _burst(card, "scene_cut", int(card.rng.integers(4, 11)), card.style(clear))


def _reshoot(card: _Card) -> None:
    """The same subject, framed alike, shot again a few minutes later: a separate burst."""
    scene = card.scene()
    pose = card.base_pose(scene)
    _burst(card, "reshoot", int(card.rng.integers(4, 11)), card.style(), scene=scene, pose=pose)
    card.gap(120, 300)
    _burst(card, "reshoot", int(card.rng.integers(4, 11)), card.style(), scene=scene, pose=pose)


def _quick_reshoot(card: _Card) -> None:
    """A burst, then 2-6 s later a second take of the same scene, reframed by 3-8 % of the view and
    re-metered by 1/3 or 2/3 stop: one burst (the photographer wants one pick of the moment), though
    the two takes differ like the frames of a two-step panorama or bracket."""
    scene = card.scene()
    base = card.base_pose(scene, view_scale=0.85)
    burst = _burst(card, "quick_reshoot", int(card.rng.integers(3, 7)), card.style(), scene=scene, pose=base)
    card.t += float(card.rng.uniform(2, 6))
    moved = base
    for reach in (0.08, 0.06, 0.04):
        heading = float(card.rng.uniform(0, 2 * math.pi))
        d = float(card.rng.uniform(0.03, reach)) * base.view
        candidate = replace(base, cx=base.cx + d * math.cos(heading), cy=base.cy + d * math.sin(heading))
        if view_fits(replace(candidate, view=candidate.view * 1.1), source_size(scene), ASPECT):
            moved = candidate
            break
    n = int(card.rng.integers(3, 7))
    ev = float(card.rng.choice([-2, -1, 1, 2])) / 3
    _burst(card, "quick_reshoot", n, card.style(), scene=scene, pose=moved, evs=[ev] * n, join=burst)


def _ae_drift(card: _Card) -> None:
    """A burst whose metering wanders as the light or the framing changes: the exposure moves in
    1/3 stops within +-2/3 stop, the exposure bias stays 0 (the shutter time follows)."""
    n = int(card.rng.integers(8, 13))
    ev, evs = float(card.rng.choice([-1, 1])) / 3, []
    for _ in range(n):
        evs.append(ev)
        ev = float(np.clip(ev + float(card.rng.choice([-1, 0, 0, 1])) / 3, -2 / 3, 2 / 3))
    _burst(card, "ae_drift", n, card.style(), evs=evs)


def _two_bodies(card: _Card, clear: bool | None = None) -> None:
    """Two cameras on one event, timestamps interleaved: one burst per body."""
    scene = card.scene()
    t0 = card.t
    wide = card.base_pose(scene)
    tight = replace(wide, view=wide.view * 0.8)
    _burst(card, "two_bodies", int(card.rng.integers(4, 13)), card.style(clear), scene, "A", pose=wide, start=t0)
    end_a = card.t
    _burst(card, "two_bodies", int(card.rng.integers(4, 13)), card.style(clear), scene, "B", pose=tight,
           start=t0 + 0.03)  # fmt: skip
    card.t = max(card.t, end_a)


def _pan(card: _Card, scene: str) -> None:
    """A slow sweep across a static wide photo: 20 frames at 5 fps, the view moving about one frame
    width (95 % overlap between neighbours). One panorama (issue 15), though shot in burst mode."""
    sw, sh = source_size(scene)
    view = min(0.5, 0.9 * sh * ASPECT / sw)
    x0, x1 = view / 2 + 0.02, 1 - view / 2 - 0.02
    cy = sh / sw / 2
    burst = card.burst_id("pan")
    for i in range(20):
        cx = x0 + (x1 - x0) * i / 19
        pose = Pose(cx, cy + float(card.rng.normal(0, 0.002)), view, float(card.rng.normal(0, 0.2)))
        if not view_fits(pose, (sw, sh), ASPECT):
            pose = Pose(cx, cy, view)
        card.frames.append(Frame(
            stem=card.stem("A"), body="A", t=card.t + i * 0.2, scene=scene, burst=burst,
            situation="pan", pose=pose, blur_kind="motion", blur=float(card.rng.uniform(1, 3)), iso=200,
            rankable=False, kind=Kind.PANORAMA,
        ))  # fmt: skip
    card.t += 19 * 0.2


def _sweep_pose(card: _Card, scene: str, cx: float, cy: float, view: float, amount: float) -> Pose:
    """A hand-held frame of a sweep at (cx, cy): jitter in y and roll, reduced until the view fits."""
    for scale in (1.0, 0.5, 0.25, 0.0):
        pose = Pose(cx, cy + float(card.rng.normal(0, amount * view / ASPECT)) * scale, view,
                    float(np.clip(card.rng.normal(0, 0.7), -1.5, 1.5)) * scale)  # fmt: skip
        if view_fits(pose, source_size(scene), ASPECT):
            return pose
    return Pose(cx, cy, view)


def _panorama(card: _Card, fast: bool, body: str | None = "A") -> None:
    """A hand-held sweep over a wide photo, shot to be stitched: 3-7 frames, 20-60 % overlap between
    neighbours, left to right or back; seconds apart, or at 10 fps (1/1000 s: a little motion blur
    along the sweep)."""
    scene = str(card.rng.choice(WIDE_SCENES))
    sw, sh = source_size(scene)
    n = int(card.rng.integers(3, 8))
    overlaps = [float(o) for o in card.rng.uniform(0.2, 0.6, n - 1)]
    view = min(0.94 / (1 + sum(1 - o for o in overlaps)), 0.8 * sh * ASPECT / sw)
    direction = int(card.rng.choice([-1, 1]))
    cx = view / 2 + 0.03 if direction > 0 else 1 - view / 2 - 0.03
    cy = sh / sw / 2
    burst = card.burst_id("panorama")
    t = card.t
    for i in range(n):
        step = 1 - overlaps[i - 1] if i else 0.0
        cx += direction * step * view
        t += (0.1 if fast else float(card.rng.uniform(1.5, 4.0))) if i else 0.0
        # at 10 fps the view crosses step * REF_WIDTH reference pixels in 0.1 s, 1/100 of that in 1/1000 s
        blur = ("motion", step * REF_WIDTH / 100) if fast else ("defocus", float(card.rng.uniform(0, 0.5)))
        card.frames.append(Frame(
            stem=card.stem(body), body=body, t=t, scene=scene, burst=burst, situation="panorama",
            pose=_sweep_pose(card, scene, cx, cy, view, 0.02), blur_kind=blur[0], blur=blur[1],
            rankable=False, kind=Kind.PANORAMA, exposure_time=0.001 if fast else None,
        ))  # fmt: skip
    card.t = t


def _tracking_pan(card: _Card) -> None:
    """The camera follows a moving subject at 10 fps: the subject stays where it is in the frame (give
    or take the photographer's aim), the background slides 4-8 % of the view per frame. A burst."""
    scene = str(card.rng.choice(WIDE_SCENES))
    sw, sh = source_size(scene)
    n = int(card.rng.integers(8, 13))
    step = float(card.rng.uniform(0.04, 0.08))
    view = min(0.9 / (1 + (n - 1) * step), 0.8 * sh * ASPECT / sw)
    direction = int(card.rng.choice([-1, 1]))
    cx = view / 2 + 0.04 if direction > 0 else 1 - view / 2 - 0.04
    cy = sh / sw / 2
    patch = str(card.rng.choice(SUBJECTS))
    u, v = float(card.rng.uniform(-0.15, 0.15)) * view, float(card.rng.uniform(-0.05, 0.05)) * view
    radius = 0.12 * view
    burst = card.burst_id("tracking_pan")
    style = card.style()
    for i, (kind, amount, angle) in enumerate(card.blurs(n, style.clear)):
        pose = _sweep_pose(card, scene, cx + direction * i * step * view, cy, view, 0.005)
        aim = card.rng.normal(0, 0.01 * view, 2)
        card.frames.append(Frame(
            stem=card.stem("A"), body="A", t=card.t + i * 0.1, scene=scene, burst=burst, situation="tracking_pan",
            pose=pose, blur_kind=kind, blur=amount, blur_angle=angle, iso=style.iso,
            subject=(patch, pose.cx + u + float(aim[0]), pose.cy + v + float(aim[1]), radius),
        ))  # fmt: skip
    card.t += (n - 1) * 0.1


def _bracket_evs(card: _Card, n: int) -> list[float]:
    """n exposures a step apart around the metered one, in an order cameras use: the metered frame
    first, then under and over (0, -1, +1, -2, +2, ...), or from darkest to brightest."""
    step = float(card.rng.choice([1.0, 2.0] if n == 3 else [2 / 3, 1.0]))
    if card.rng.random() < 0.5:
        return [0.0] + [sign * k * step for k in range(1, n // 2 + 1) for sign in (-1, 1)]
    return [k * step for k in range(-(n // 2), n // 2 + 1)]


def _bracket(card: _Card, n: int, mode: str) -> None:
    """An exposure bracket of `n` frames of one framing, no sharpness order. `mode`:
    "bias": auto bracketing (EXIF bias = ev, the shutter follows), hand-held, in continuous drive at
            5-10 fps or in single shot about a second apart;
    "shutter": manual, on a tripod: the shutter time steps at a bias of 0, 2-15 s apart;
    "noexif": no EXIF at all (exported or stripped), on a tripod, 1-5 s apart."""
    scene = card.scene()
    base = card.base_pose(scene)
    situation = {"bias": "bracket", "shutter": "bracket_shutter", "noexif": "bracket_noexif"}[mode]
    body = None if mode == "noexif" else str(card.rng.choice(["A", "B"]))
    burst = card.burst_id(situation)
    if mode == "bias" and card.rng.random() < 0.5:  # continuous drive
        spacing = (1 / float(card.rng.uniform(5, 10)),) * 2
    else:
        spacing = {"bias": (0.6, 1.5), "shutter": (2.0, 15.0), "noexif": (1.0, 5.0)}[mode]
    t, prev = card.t, base
    for i, ev in enumerate(_bracket_evs(card, n)):
        t += float(card.rng.uniform(*spacing)) if i else 0.0
        if mode == "bias":
            prev = card.jitter(scene, base, prev, amount=0.5)
        card.frames.append(Frame(
            stem=card.stem(body), body=body, t=t, scene=scene, burst=burst, situation=situation, pose=prev,
            iso=100, ev=ev, bias=0.0 if mode == "shutter" else None, rankable=False, kind=Kind.BRACKET,
        ))  # fmt: skip
    card.t = t


def _focus_sweep(card: _Card, n: int, fast: bool, body: str | None) -> None:
    """A synthetic focus stack of `n` frames: the photo gets a depth map (`Depth`) and the focus plane
    sweeps it near to far (from a little before the nearest point to a little beyond the farthest), on
    a tripod, with a little focus breathing (the view grows or shrinks up to 0.4 % a frame); in-camera
    focus bracketing (0.2-0.5 s apart) or by hand (2-6 s apart)."""
    scene = card.scene()
    base = card.base_pose(scene, view_scale=0.9)
    depth = Depth(angle=float(card.rng.uniform(0, 360)), gamma=float(card.rng.uniform(0.7, 1.4)))
    breathing = float(card.rng.uniform(-0.004, 0.004))
    burst = card.burst_id("focus_stack")
    t = card.t
    for i in range(n):
        t += (float(card.rng.uniform(0.2, 0.5) if fast else card.rng.uniform(2, 6))) if i else 0.0
        pose = replace(base, view=base.view * (1 + breathing * i))
        card.frames.append(Frame(
            stem=card.stem(body), body=body, t=t, scene=scene, burst=burst, situation="focus_stack",
            pose=pose if view_fits(pose, source_size(scene), ASPECT) else base, blur_kind="focus",
            blur=FOCUS_SIGMA, iso=100, rankable=False, kind=Kind.FOCUS_STACK,
            focus=-0.05 + 1.1 * i / (n - 1), depth=depth,
        ))  # fmt: skip
    card.t = t


def _real_sequence(card: _Card, situation: str, paths: list[str], seconds: list[float],
                   ranks: dict[int, int], body: str | None, kind: Kind = Kind.BURST) -> None:  # fmt: skip
    """A real photo sequence used as shot (resized), with the ranks its README states (bursts)."""
    burst = card.burst_id(situation)
    for i, (path, dt) in enumerate(zip(paths, seconds)):
        card.frames.append(Frame(
            stem=card.stem(body), body=body, t=card.t + dt, scene="shared:" + path, burst=burst,
            situation=situation, known_rank=ranks.get(i), kind=kind, rankable=kind == Kind.BURST,
        ))  # fmt: skip
    card.t += seconds[-1]


def _focus_stack(card: _Card) -> None:
    """The real focus sweep of a circuit board: a focus stack."""
    paths = [f"focus_pcb_depthmap/pcb_{i:03d}.JPG" for i in range(10)]
    _real_sequence(card, "focus_stack", paths, list(PCB_SECONDS), {}, "A", Kind.FOCUS_STACK)


def _real_burst(card: _Card, name: str) -> None:
    """A real hand-held burst of ../shared/photos/bursts_fba (no EXIF; no known sharpness order)."""
    paths = [f"bursts_fba/{name}/REG_{i:03d}.jpg" for i in range(1, FBA_BURSTS[name] + 1)]
    _real_sequence(card, "real_burst", paths, [i * 0.15 for i in range(len(paths))], {}, None)


def _no_exif(card: _Card) -> None:
    """Files stripped of EXIF: the real no-EXIF focus stack, a synthetic burst, two singletons."""
    paths = [f"focus_noexif/step{i}.jpg" for i in range(6)]
    _real_sequence(card, "no_exif", paths, [float(i) for i in range(6)], {}, None, Kind.FOCUS_STACK)
    card.gap()
    _burst(card, "no_exif", 8, card.style(clear=True), body=None)
    for _ in range(2):
        card.gap()
        _single(card, body=None, situation="no_exif")


def _sets_events(card: _Card) -> list[Callable[[], None]]:
    """One of each set and look-alike, small: the `sets` plan."""
    return [
        lambda: _bracket(card, 3, "bias"), lambda: _bracket(card, 5, "bias"), lambda: _bracket(card, 7, "bias"),
        lambda: _bracket(card, 5, "shutter"), lambda: _bracket(card, 3, "noexif"),
        lambda: _focus_sweep(card, 8, True, "A"), lambda: _focus_sweep(card, 6, False, None),
        lambda: _panorama(card, False), lambda: _panorama(card, True, "B"),
        lambda: _ae_drift(card), lambda: _quick_reshoot(card), lambda: _tracking_pan(card),
        lambda: _burst(card, "burst", 5, Style(8, 100, True)), lambda: _single(card),
    ]  # fmt: skip


def plan_card(seed: int, kind: str = "full") -> list[Frame]:
    """Every frame of a card, in shooting order. `kind` "full" (~500 files), "tiny" (~35 easy bursts)
    or "sets" (~70 files: one of each set and look-alike, see `_sets_events`)."""
    card = _Card(seed)
    if kind in ("tiny", "sets"):
        events = _sets_events(card) if kind == "sets" else [
            lambda: _burst(card, "burst", 5, Style(8, 100, True)), lambda: _single(card),
            lambda: _burst(card, "burst", 4, Style(10, 100, True)), lambda: _scene_cut(card, clear=True),
            lambda: _two_bodies(card, clear=True), lambda: _single(card),
            lambda: _burst(card, "burst", 6, Style(6, 100, True), body="B"),
        ]  # fmt: skip
        for event in events:
            event()
            card.gap(40, 60)
        return card.frames
    sizes = [3, 4, 5, 6, 8, 10, 12, 15, 20, 30]
    events = [lambda: _burst(card, "burst", int(card.rng.choice(sizes)), card.style()) for _ in range(10)]
    events += [lambda: _burst(card, "burst", int(card.rng.choice(sizes)), card.style(), body="B")]
    events += [lambda: _burst(card, "moving", int(card.rng.integers(6, 16)), card.style(), moving=True)] * 3
    events += [lambda: _single(card)] * 8 + [lambda: _scene_cut(card)] * 2 + [lambda: _reshoot(card)] * 2
    events += [lambda s=s: _pan(card, s) for s in PAN_SOURCES]
    events += [lambda: _focus_stack(card), lambda: _no_exif(card)] + [lambda: _two_bodies(card)] * 2
    events += [lambda: _burst(card, "raw_jpeg", 6, card.style(clear=True), raw=True)]
    events += [lambda: _burst(card, "raw_only", 5, card.style(clear=True), raw=True, jpeg=False)]
    events += [lambda: _burst(card, "burst", 8, card.style(clear=True), orientation=6)]
    # issue 15: sets, and the look-alikes that must stay bursts
    events += [lambda: _bracket(card, 3, "bias")] * 3 + [lambda n=n: _bracket(card, n, "bias") for n in (5, 7)]
    events += [lambda n=n, m=m: _bracket(card, n, m) for m in ("shutter", "noexif") for n in (3, 5, 7)]
    events += [lambda: _focus_sweep(card, 10, True, "A"), lambda: _focus_sweep(card, 6, False, "B"),
               lambda: _focus_sweep(card, 15, True, "A"), lambda: _focus_sweep(card, 7, False, None)]  # fmt: skip
    events += [lambda fast=fast: _panorama(card, fast) for fast in (False, False, True, True)]
    events += [lambda: _ae_drift(card)] * 2 + [lambda: _quick_reshoot(card)] * 2 + [lambda: _tracking_pan(card)] * 2
    events += [lambda s=s: _real_burst(card, s) for s in FBA_BURSTS]
    for i in card.rng.permutation(len(events)):
        events[i]()
        card.gap()
    return card.frames


def capture_time(frame: Frame) -> datetime:
    """Local wall-clock capture time of a frame (body B's clock runs 0 s off: interleaving is exact)."""
    return START + timedelta(seconds=frame.t)
