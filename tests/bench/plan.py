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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from tests.bench.render import SHARED_SCENES, SKIMAGE_SCENES, Pose, source_size, view_fits

CLEARLY_MARGIN = 1.0
ASPECT = 1.5
START = datetime(2024, 6, 15, 9, 12, 3, tzinfo=timezone(timedelta(hours=2)))
SITUATIONS = (
    "burst", "moving", "single", "scene_cut", "reshoot", "pan", "bracket",
    "focus_stack", "two_bodies", "no_exif", "raw_jpeg", "raw_only",
)  # fmt: skip
PCB_SECONDS = (0, 5, 9, 15, 19, 23, 27, 31, 34, 44)  # the real sweep's own DateTimeOriginal spacing
PAN_SOURCES = ("xmp_test", "IMG_5910")
SUBJECTS = ("chelsea", "astronaut", "coffee", "rocket")


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
    blur_kind: str = "none"  # none | defocus | motion
    blur: float = 0.0  # sigma or length, reference pixels
    blur_angle: float = 0.0
    iso: int = 100
    ev: float = 0.0
    subject: tuple[str, float, float, float] | None = None  # patch photo, cx, cy, radius (normalised)
    orientation: int = 1
    raw: bool = False  # write a DNG of the frame
    jpeg: bool = True  # write the JPEG (False with raw: a RAW-only shot)
    rankable: bool = True  # False: the burst has no sharpness order (brackets, pans)
    known_rank: int | None = None  # real sequences: rank known from their README (else None)
    pan: tuple[str, float] | None = None  # pan id, offset from the pan's first frame in frame widths

    @property
    def equivalent_sigma(self) -> float | None:
        if self.pose is None:
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
           raw: bool = False, jpeg: bool = True, orientation: int = 1, start: float | None = None) -> str:  # fmt: skip
    """Shoot `n` frames at `style.fps`; returns the truth burst id."""
    scene = scene or card.scene()
    base = pose or card.base_pose(scene)
    burst = card.burst_id(situation)
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
    """A slow pan across a wide photo: 20 frames at 5 fps, the view moving about one frame width."""
    sw, sh = source_size(scene)
    view = min(0.5, 0.9 * sh * ASPECT / sw)
    x0, x1 = view / 2 + 0.02, 1 - view / 2 - 0.02
    cy = sh / sw / 2
    pan_id = f"pan{card.n_bursts + 1:03d}"
    for i in range(20):
        cx = x0 + (x1 - x0) * i / 19
        pose = Pose(cx, cy + float(card.rng.normal(0, 0.002)), view, float(card.rng.normal(0, 0.2)))
        if not view_fits(pose, (sw, sh), ASPECT):
            pose = Pose(cx, cy, view)
        card.frames.append(Frame(
            stem=card.stem("A"), body="A", t=card.t + i * 0.2, scene=scene, burst=card.burst_id("pan"),
            situation="pan", pose=pose, blur_kind="motion", blur=float(card.rng.uniform(1, 3)), iso=200,
            rankable=False, pan=(pan_id, (cx - x0) / view),
        ))  # fmt: skip
    card.t += 19 * 0.2


def _bracket(card: _Card) -> None:
    """-2 / 0 / +2 EV of one framing at 5 fps: one burst, no sharpness order."""
    scene = card.scene()
    base = card.base_pose(scene)
    burst = card.burst_id("bracket")
    prev = base
    for i, ev in enumerate((0.0, -2.0, 2.0)):  # cameras shoot the metered frame first
        prev = card.jitter(scene, base, prev, amount=0.5)
        card.frames.append(Frame(
            stem=card.stem("A"), body="A", t=card.t + i * 0.2, scene=scene, burst=burst, situation="bracket",
            pose=prev, iso=100, ev=ev, rankable=False,
        ))  # fmt: skip
    card.t += 0.4


def _real_sequence(card: _Card, situation: str, paths: list[str], seconds: list[float],
                   ranks: dict[int, int], body: str | None) -> None:  # fmt: skip
    """A real photo sequence used as shot (resized), with the ranks its README states."""
    burst = card.burst_id(situation)
    for i, (path, dt) in enumerate(zip(paths, seconds)):
        card.frames.append(Frame(
            stem=card.stem(body), body=body, t=card.t + dt, scene="shared:" + path, burst=burst,
            situation=situation, known_rank=ranks.get(i),
        ))  # fmt: skip
    card.t += seconds[-1]


def _focus_stack(card: _Card) -> None:
    paths = [f"focus_pcb_depthmap/pcb_{i:03d}.JPG" for i in range(10)]
    _real_sequence(card, "focus_stack", paths, list(PCB_SECONDS), {4: 1, 3: 2, 9: 10}, "A")


def _no_exif(card: _Card) -> None:
    """Files stripped of EXIF: the real no-EXIF focus stack, a synthetic burst, two singletons."""
    paths = [f"focus_noexif/step{i}.jpg" for i in range(6)]
    _real_sequence(card, "no_exif", paths, [float(i) for i in range(6)], {1: 1, 5: 6}, None)
    card.gap()
    _burst(card, "no_exif", 8, card.style(clear=True), body=None)
    for _ in range(2):
        card.gap()
        _single(card, body=None, situation="no_exif")


def plan_card(seed: int, kind: str = "full") -> list[Frame]:
    """Every frame of a card, in shooting order. `kind` "full" (~300 files) or "tiny" (~35 easy ones)."""
    card = _Card(seed)
    if kind == "tiny":
        for event in (
            lambda: _burst(card, "burst", 5, Style(8, 100, True)), lambda: _single(card),
            lambda: _burst(card, "burst", 4, Style(10, 100, True)), lambda: _scene_cut(card, clear=True),
            lambda: _two_bodies(card, clear=True), lambda: _single(card),
            lambda: _burst(card, "burst", 6, Style(6, 100, True), body="B"),
        ):  # fmt: skip
            event()
            card.gap(40, 60)
        return card.frames
    sizes = [3, 4, 5, 6, 8, 10, 12, 15, 20, 30]
    events = [lambda: _burst(card, "burst", int(card.rng.choice(sizes)), card.style()) for _ in range(10)]
    events += [lambda: _burst(card, "burst", int(card.rng.choice(sizes)), card.style(), body="B")]
    events += [lambda: _burst(card, "moving", int(card.rng.integers(6, 16)), card.style(), moving=True)] * 3
    events += [lambda: _single(card)] * 8 + [lambda: _scene_cut(card)] * 2 + [lambda: _reshoot(card)] * 2
    events += [lambda s=s: _pan(card, s) for s in PAN_SOURCES] + [lambda: _bracket(card)] * 3
    events += [lambda: _focus_stack(card), lambda: _no_exif(card)] + [lambda: _two_bodies(card)] * 2
    events += [lambda: _burst(card, "raw_jpeg", 6, card.style(clear=True), raw=True)]
    events += [lambda: _burst(card, "raw_only", 5, card.style(clear=True), raw=True, jpeg=False)]
    events += [lambda: _burst(card, "burst", 8, card.style(clear=True), orientation=6)]
    for i in card.rng.permutation(len(events)):
        events[i]()
        card.gap()
    return card.frames


def capture_time(frame: Frame) -> datetime:
    """Local wall-clock capture time of a frame (body B's clock runs 0 s off: interleaving is exact)."""
    return START + timedelta(seconds=frame.t)
