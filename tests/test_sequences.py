"""Sets told apart from bursts, on frames cut from real photographs and on the real sweeps and bursts.

Every frame here is a real JPEG (written once per module, then analysed by burstd's own per-file
worker), so the thumbnails and focus grids are what a scan sees: exposure brackets (by bias, by
shutter at a constant bias minutes apart, without EXIF), panoramas (a sliding view over a wide real
photo, seconds apart or at 10 fps), the real focus sweeps, and the look-alikes that must stay
bursts: the three real hand-held bursts, blurred hand-held bursts, auto-exposure drift, a reshoot, a
pan that follows a subject, a person crossing a still frame. What the camera declares (`Declared`) is made by hand: reading it is
another module's work.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from burstd.analysis.analyse import analyse_file
from burstd.grouping import GroupingParams, group_bursts, regroup
from burstd.models import Analysis, Declared, Face, Kind, Shot, TimeSource
from burstd.sequences import (
    STILL_MAX_GAP, STILL_SHARE, Link, classify, declared_link, focus_sweep, link, measure_shift, pair_shift, still_share,
    still_view, thumbs,
)
from tests.bench import render
from tests.bench.render import exposure, motion_blur
from tests.photos import DATA, SHARED, frame, load_rgb, write_jpeg

ASTRONAUT = DATA.parent / "faces" / "astronaut.png"  # a real person: Eileen Collins, public domain

T0 = datetime(2026, 11, 24, 14, 3, 7)
WIDE = SHARED / "bursts_fba" / "woods" / "REG_001.jpg"  # 3501 x 2201: room for a sweep
needs_shared = pytest.mark.skipif(not WIDE.is_file(), reason="needs ../shared/photos (real bursts and sweeps)")


def write(path: Path, rgb: np.ndarray, *, when: datetime | None, shutter: float = 1 / 250,
          bias: float | None = 0.0, iso: int = 100) -> Path:
    """A JPEG with a camera's EXIF: time, body, lens, shutter, aperture, ISO and exposure bias
    (no EXIF at all when `when` is None)."""
    exif = Image.Exif()
    if when is not None:
        exif[271], exif[272] = "NIKON CORPORATION", "NIKON Z 6_2"
        sub = exif.get_ifd(0x8769)
        sub[42033], sub[42036] = "6012345", "NIKKOR Z 24-70mm f/4 S"
        sub[33434], sub[33437], sub[34855] = shutter, 8.0, iso
        if bias is not None:
            sub[37380] = bias
        sub[36867] = when.strftime("%Y:%m:%d %H:%M:%S")
        sub[37521] = f"{when.microsecond // 10000:02d}"
        sub[36881] = "+01:00"  # as `tests.photos.write_jpeg` writes it: frames of both sort together
    Image.fromarray(rgb).save(path, "JPEG", quality=92, exif=exif.tobytes() if when is not None else b"")
    return path


def view(rgb: np.ndarray, x: float, y: float = 0.3, width: int = 1200, aspect: float = 1.5) -> np.ndarray:
    """A view `width` pixels wide whose left edge is at `x` (a fraction of the photo's width)."""
    h = round(width / aspect)
    left, top = round(x * rgb.shape[1]), round(y * (rgb.shape[0] - h))
    return rgb[top : top + h, left : left + width]


def shots_of(paths: list[Path]) -> list[Shot]:
    return [Shot(p, analyse_file(p, p.stat().st_mtime_ns)[1]) for p in paths]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Shot]]:
    """Every case's shots in capture order, analysed once."""
    root = tmp_path_factory.mktemp("sequences")
    built: dict[str, list[Shot]] = {}

    def case(name: str, frames: list[tuple[np.ndarray, dict]]) -> None:
        folder = root / name
        folder.mkdir()
        built[name] = shots_of([write(folder / f"DSC_{i:04d}.JPG", rgb, **kw) for i, (rgb, kw) in enumerate(frames)])

    flower = load_rgb(DATA / "IMG_5910.jpg")
    base = frame(flower, dx=0, dy=0, size=(900, 600), blur=0)
    rng = np.random.default_rng(3)

    def jitter(ev: float = 0.0, blur: float = 0.0, seed: int = 0) -> np.ndarray:
        dx, dy = (int(v) for v in np.random.default_rng(seed).integers(-6, 7, size=2))
        return exposure(frame(flower, dx=dx, dy=dy, size=(900, 600), blur=blur), ev)

    # Auto bracketing: the bias steps, hand-held, within a second.
    case("bracket_bias", [(jitter(ev, seed=i), {"when": T0 + timedelta(seconds=0.2 * i), "bias": ev,
                                                "shutter": 1 / 250 * 2**ev})
                          for i, ev in enumerate((0.0, -2.0, 2.0))])
    # A manual bracket on a tripod: the shutter steps at a constant bias, 40 s apart (more than max_gap).
    case("bracket_manual", [(exposure(base, ev), {"when": T0 + timedelta(seconds=40 * i), "shutter": 1 / 250 * 2**ev})
                            for i, ev in enumerate((-2.0, -1.0, 0.0, 1.0, 2.0))])
    # No EXIF at all: only the pixels say it.
    case("bracket_noexif", [(exposure(base, ev), {"when": None}) for ev in (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)])
    # Auto exposure drifting by a few tenths during a hand-held burst: a burst.
    case("ae_drift", [(jitter(ev, seed=i), {"when": T0 + timedelta(seconds=0.1 * i), "bias": 0.0,
                                            "shutter": 1 / 250 * 2**ev})
                      for i, ev in enumerate((0.0, 0.3, 0.0, -0.3, 0.2))])
    # A hand-held burst whose frames are blurred by different amounts (shake, missed focus): a burst.
    case("blurred_burst", [(jitter(blur=b, seed=i), {"when": T0 + timedelta(seconds=0.1 * i)})
                           for i, b in enumerate((2.0, 1.2, 0.0, 3.0, 0.5))])
    # Camera shake: frames motion-blurred along other directions, each sharper somewhere (like a focus
    # stack's frames), on a steady hand: a burst.
    case("shaken_burst", [(motion_blur(jitter(seed=i), length, angle), {"when": T0 + timedelta(seconds=0.1 * i)})
                          for i, (length, angle) in enumerate(((0, 0), (9, 0), (9, 90), (15, 45), (5, 135), (9, 60)))])
    # A second take 3 s later, reframed by 7 % and re-metered by 2/3 of a stop (at auto ISO, the EXIF
    # says ISO 100 then 3200): one burst, whatever the hashes say.
    case("reshoot_remetered", [(exposure(frame(flower, dx=dx, dy=dy, size=(900, 600), blur=0), ev),
                                {"when": T0 + timedelta(seconds=s), "shutter": 1 / 250, "iso": iso})
                               for dx, dy, s, ev, iso in ((0, 0, 0.0, 0.0, 100), (3, -2, 0.1, 0.0, 100),
                                                          (-2, 2, 0.2, 0.0, 100), (60, 30, 3.2, 0.67, 3200),
                                                          (62, 28, 3.3, 0.67, 3200))])
    # A hand-held burst with one frame badly shaken (an 81-px streak): one burst.
    case("one_frame_shaken", [(motion_blur(jitter(seed=i), length, 30), {"when": T0 + timedelta(seconds=0.1 * i)})
                              for i, length in enumerate((0, 0, 81, 0, 0))])
    # The same scene reshot a few seconds later, framed a little differently: a burst.
    case("reshoot", [(frame(flower, dx=dx, dy=dy, size=(900, 600), blur=0), {"when": T0 + timedelta(seconds=s)})
                     for dx, dy, s in ((0, 0, 0.0), (4, -3, 0.1), (40, 25, 4.0), (44, 22, 4.1))])
    # A person (head and shoulders, 60 % of the frame high) crossing a still view hand-held, a tenth
    # of the frame a frame at 10 fps, motion blurred in four frames of five: a burst, though the
    # hashes (0.68-0.79) and the overlap's correlation (0.57-0.67) say otherwise.
    case("person_crossing", [(rgb, {"when": T0 + timedelta(seconds=0.1 * i)}) for i, rgb in enumerate(crossing_frames(flower))])
    # A still view and the same view a pan's step (5 % of the frame) on; and another scene.
    case("pan_step", [(frame(flower, dx=dx, dy=0, size=(900, 600), blur=0), {"when": T0 + timedelta(seconds=0.1 * i)})
                      for i, dx in enumerate((0, 45))])
    case("other_scene", [(frame(load_rgb(DATA / "pcb_003.JPG"), dx=0, dy=0, size=(900, 600), blur=0), {"when": T0})])
    if WIDE.is_file():
        woods = load_rgb(WIDE)
        # A sweep over a static scene, 40 % steps with a little vertical jitter, 3 s apart and at 10 fps.
        steps = [(0.02 + 0.137 * i, 0.3 + float(rng.uniform(-0.03, 0.03))) for i in range(5)]
        case("pan_slow", [(view(woods, x, y), {"when": T0 + timedelta(seconds=3 * i)}) for i, (x, y) in enumerate(steps)])
        case("pan_fast", [(view(woods, x, y), {"when": T0 + timedelta(seconds=0.1 * i)}) for i, (x, y) in enumerate(steps)])
        # A slow sweep at 10 fps: 6 % of the frame a frame, 14 frames, a little hand-held jitter.
        case("pan_slow_steps", [(view(woods, 0.02 + 0.02 * i, 0.3 + float(rng.uniform(-0.005, 0.005))),
                                 {"when": T0 + timedelta(seconds=0.1 * i)}) for i in range(14)])
        # A burst whose framing drifts a little the same way, 1.5 % a frame: a burst.
        case("drifting_burst", [(view(woods, 0.3 + 0.005 * i), {"when": T0 + timedelta(seconds=0.1 * i)})
                                for i in range(8)])
        # 70 % steps: a thin overlap.
        case("pan_wide", [(view(woods, 0.02 + 0.24 * i), {"when": T0 + timedelta(seconds=2 * i)}) for i in range(3)])
        # A pan following a subject: the background slides, the subject (pasted, real) stays put.
        subject = frame(flower, dx=0, dy=0, size=(360, 360), blur=0)
        tracked = []
        for i in range(4):
            v = view(woods, 0.02 + 0.1 * i).copy()
            v[220:580, 420:780] = subject
            tracked.append((v, {"when": T0 + timedelta(seconds=0.1 * i)}))
        case("tracking_pan", tracked)
        # The same at 10 fps with a smaller subject (a fifth of the frame across), a little off aim from
        # frame to frame and motion blurred, the background sliding 6 % a frame over 12 frames (as
        # far as a slow sweep goes): a burst, however far the background slid, even across a frame
        # where the subject does not show.
        small = motion_blur(frame(flower, dx=0, dy=0, size=(240, 240), blur=0), 5, 0)
        aims = np.random.default_rng(7).integers(-3, 4, size=(12, 2))
        followed = []
        for i, (ax, ay) in enumerate(aims):
            v = view(woods, 0.02 + 0.06 * 1200 / woods.shape[1] * i).copy()
            if i != 6:  # in frame 6 the subject is hidden (behind a tree, out of the light)
                v[280 + ay : 520 + ay, 480 + ax : 720 + ax] = small
            followed.append((v, {"when": T0 + timedelta(seconds=0.1 * i)}))
        case("tracking_pan_small", followed)
        # A subject crossing a still frame, the camera on a tripod: a burst.
        crossing = []
        for i in range(6):
            v = view(woods, 0.3).copy()
            x = 100 + 120 * i
            v[300:560, x : x + 260] = subject[50:310, 50:310]
            crossing.append((v, {"when": T0 + timedelta(seconds=0.1 * i)}))
        case("moving_subject", crossing)
    return built


def crossing_frames(background: np.ndarray, places: range = range(5)) -> list[np.ndarray]:
    """Frames of a person (astronaut.png's head and shoulders, feathered) crossing a still view of
    `background` from left to right, 90 px (a tenth of the frame) a frame; the camera hand-held (up
    to 6 px), the person motion blurred in every frame but the third."""
    person = load_rgb(ASTRONAUT)[20:400, 60:450]
    person = cv2.resize(person, (370, 360), interpolation=cv2.INTER_AREA)  # 60 % of the frame's height
    ph, pw = person.shape[:2]
    mask = np.zeros((ph, pw), np.float32)
    cv2.ellipse(mask, (pw // 2, ph // 2), (pw // 2, ph // 2), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 4)
    shake = np.random.default_rng(5).integers(-6, 7, size=(len(places), 2))
    frames = []
    for i, length, (dx, dy) in zip(places, (18, 8, 0, 24, 30), shake, strict=False):
        still = frame(background, dx=int(dx), dy=int(dy), size=(900, 600), blur=0)
        layer, alpha = np.zeros_like(still), np.zeros((600, 900), np.float32)
        left, top = 90 + 90 * i, (600 - ph) // 2
        layer[top : top + ph, left : left + pw], alpha[top : top + ph, left : left + pw] = person, mask
        if length:  # the layer and its mask blurred alike: the layer stays premultiplied
            layer, alpha = motion_blur(layer, length, 0), motion_blur(alpha, length, 0)
        frames.append((layer * alpha[..., None] + still * (1 - alpha[..., None])).round().clip(0, 255).astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def real() -> dict[str, list[Shot]]:
    """The real focus sweeps and hand-held bursts of ../shared/photos, analysed once."""
    found = {f"real_{name}": shots_of(sorted((SHARED / "bursts_fba" / name).glob("*.jpg")))
             for name in ("bookshelf", "tequila", "woods")}
    found["real_pcb"] = shots_of(sorted((SHARED / "focus_pcb_depthmap").glob("*.JPG")))
    found["real_noexif"] = shots_of(sorted((SHARED / "focus_noexif").glob("*.jpg")))
    return found


def kinds(shots: list[Shot], params: GroupingParams = GroupingParams()) -> list[tuple[str, int]]:
    return [(g.kind.value, len(g.shots)) for g in group_bursts(shots, params)]


@pytest.mark.parametrize(("name", "expected"), [
    ("bracket_bias", [("bracket", 3)]),
    ("bracket_manual", [("bracket", 5)]),
    ("bracket_noexif", [("bracket", 7)]),
    ("ae_drift", [("burst", 5)]),
    ("blurred_burst", [("burst", 5)]),
    ("shaken_burst", [("burst", 6)]),
    ("reshoot_remetered", [("burst", 5)]),
    ("one_frame_shaken", [("burst", 5)]),
])
def test_brackets_and_their_look_alikes(cases: dict[str, list[Shot]], name: str, expected: list) -> None:
    assert kinds(cases[name]) == expected


def test_a_reshoot_seconds_later_is_no_set(cases: dict[str, list[Shot]]) -> None:
    assert all(kind == "burst" for kind, _ in kinds(cases["reshoot"]))


@needs_shared
@pytest.mark.parametrize(("name", "expected"), [
    ("pan_slow", [("panorama", 5)]),
    ("pan_fast", [("panorama", 5)]),
    ("pan_wide", [("panorama", 3)]),
    ("pan_slow_steps", [("panorama", 14)]),
    ("drifting_burst", [("burst", 8)]),
])
def test_sweeps_are_panoramas_seconds_apart_or_at_10_fps(cases: dict[str, list[Shot]], name: str, expected: list) -> None:
    assert kinds(cases[name]) == expected


@pytest.mark.slow  # decodes 47 real photos of up to 3501 x 2201
@needs_shared
@pytest.mark.parametrize(("name", "expected"), [
    ("real_pcb", [("focus-stack", 10)]),
    ("real_noexif", [("focus-stack", 6)]),
    ("real_bookshelf", [("burst", 10)]),
    ("real_tequila", [("burst", 8)]),
    ("real_woods", [("burst", 13)]),
])
def test_real_focus_sweeps_are_focus_stacks_and_real_bursts_stay_bursts(
    real: dict[str, list[Shot]], name: str, expected: list
) -> None:
    assert kinds(real[name]) == expected
    if expected[0][0] == "burst":  # nor does any run of three of its frames look like a set
        shots = real[name]
        assert {classify([s.analysis for s in shots[i : i + 3]]) for i in range(len(shots) - 2)} == {Kind.BURST}


@needs_shared
def test_a_subject_crossing_a_still_frame_is_no_focus_stack(cases: dict[str, list[Shot]]) -> None:
    assert {kind for kind, _ in kinds(cases["moving_subject"])} == {"burst"}


def test_a_person_crossing_a_still_frame_is_one_burst(cases: dict[str, list[Shot]]) -> None:
    """The people benchmark's moving bursts fell apart into single shots: the person changes too
    much of the frame for the hashes, the background stays where it was (`still_view`)."""
    assert kinds(cases["person_crossing"]) == [("burst", 5)]


def test_a_still_view_is_its_background_in_place(cases: dict[str, list[Shot]]) -> None:
    """Real pixels: each step of the crossing keeps most of its textured background in place (the
    people cards' steps 0.67-0.84); the same view panned by 5 %, another scene and the same frame
    two stops brighter do not make a still view."""
    frames = [s.analysis for s in cases["person_crossing"]]
    for a, b in zip(frames, frames[1:]):
        ta, tb = thumbs(a, b)
        assert ta is not None and tb is not None
        assert still_share(ta, tb) >= STILL_SHARE + 0.15
        assert still_view(a, b)
    still, bright = cases["bracket_manual"][2].analysis, cases["bracket_manual"][4].analysis  # a tripod's frame, 2 stops apart
    assert still_view(still, frames[0])  # the same view before the person came in
    assert not still_view(still, bright)
    panned = [s.analysis for s in cases["pan_step"]]  # the 24mp card's pans step 5 % a frame: at most 0.09
    assert still_share(*thumbs(*panned)) < STILL_SHARE / 2 and not still_view(*panned)
    assert not still_view(still, cases["other_scene"][0].analysis)


def test_a_still_view_joins_only_at_a_bursts_pace_and_not_under_d(cases: dict[str, list[Shot]]) -> None:
    """The pixels of a reshoot minutes later keep the background in place as well: time tells. And
    with `-d`, similarity alone makes bursts."""
    crossing = cases["person_crossing"]
    slow = [Shot(s.primary, replace(s.analysis, capture_time=s.analysis.capture_time + i * (STILL_MAX_GAP + 0.5)))
            for i, s in enumerate(crossing)]
    assert len(kinds(slow)) > 1
    assert len(kinds(crossing, GroupingParams(threshold=0.76))) > 1


@needs_shared
def test_a_sharp_region_that_moves_with_the_content_is_no_focus_stack(cases: dict[str, list[Shot]]) -> None:
    """Focus measures that sweep the frame band by band, as a focus stack's do: with a still frame's
    thumbnails a focus stack; with those of a subject crossing the frame (directional motion blur
    makes a burst's tiles cross too, as the benchmark card showed) a burst."""
    def sweep(thumbs: list[Analysis]) -> list[Analysis]:
        rows, cols = 6, 8
        return [replace(t, grid=(rows, cols), tiles=tuple(5.0 if r in (i, i + 1) else 1.0 for r in range(rows) for _ in range(cols)))
                for i, t in enumerate(thumbs)]

    still = [cases["bracket_manual"][2].analysis] * 5
    moving = [s.analysis for s in cases["moving_subject"][:5]]
    assert classify(sweep(still)) is Kind.FOCUS_STACK
    assert classify(sweep(moving)) is Kind.BURST


def test_a_face_in_every_frame_is_no_focus_stack(cases: dict[str, list[Shot]]) -> None:
    """A portrait burst whose focus wavers between the face and the background crosses as a focus
    stack does; a person's face in every frame makes it a burst (a tiny face does not)."""
    rows, cols = 6, 8
    still = cases["bracket_manual"][2].analysis
    sweep = [replace(still, grid=(rows, cols), tiles=tuple(5.0 if r in (i, i + 1) else 1.0 for r in range(rows) for _ in range(cols)))
             for i in range(5)]
    assert classify(sweep) is Kind.FOCUS_STACK
    side = max(still.width, still.height)

    def with_face(share: float) -> list[Analysis]:
        return [replace(a, faces=(Face((100, 100, round(share * side), round(share * side)), 0.9),)) for a in sweep]

    assert classify(with_face(0.1)) is Kind.BURST
    assert classify(with_face(0.02)) is Kind.FOCUS_STACK


def test_one_frame_sharpest_nearly_everywhere_is_no_focus_stack(cases: dict[str, list[Shot]]) -> None:
    """A still camera, one sharp frame, the others shaken along other directions: the soft frames
    cross each other as a focus stack's do (each sharper where its blur runs along the edges), but
    the focus plane never moves: one frame is the sharpest everywhere (the benchmark card's bursts
    whose frames are blurred 0-4 px along random directions did this)."""
    rows, cols = 6, 8
    still = cases["bracket_manual"][2].analysis

    def frames(sharp: float) -> list[Analysis]:
        soft = [tuple(3.0 if c % 4 == k else 1.0 for _ in range(rows) for c in range(cols)) for k in range(4)]
        return [replace(still, grid=(rows, cols), tiles=t) for t in [tuple([sharp] * rows * cols), *soft]]

    assert classify(frames(sharp=10.0)) is Kind.BURST
    # The same soft frames with a sharp one that is not sharper everywhere: the sharp region moves.
    moving = frames(sharp=2.0)
    assert classify(moving) is Kind.FOCUS_STACK


def test_a_similarity_the_photographer_sets_decides_bursts_alone(cases: dict[str, list[Shot]]) -> None:
    # The re-metered reshoot joins its burst by its view; with `-d` set, by similarity alone.
    assert kinds(cases["reshoot_remetered"]) == [("burst", 5)]
    assert len(kinds(cases["reshoot_remetered"], GroupingParams(threshold=0.999))) > 1


def test_a_weak_crossing_needs_stiller_frames(cases: dict[str, list[Shot]]) -> None:
    """Frames whose sharp band moves over a sixth of the frame cross weakly, as a moving subject's
    burst can: a focus stack on a tripod's still frames, a burst on hand-held ones (6 px of shake on
    900). Two bands each cross clearly: a focus stack on those hand-held frames too."""
    def sweep(thumbs: list[Analysis], band: int) -> list[Analysis]:
        rows, cols = 6, 8
        return [replace(t, grid=(rows, cols), tiles=tuple(3.0 if band * i <= r < band * (i + 1) else 1.0
                                                          for r in range(rows) for _ in range(cols)))
                for i, t in enumerate(thumbs)]

    still = [cases["bracket_manual"][1].analysis] * 3
    handheld = [s.analysis for s in cases["blurred_burst"][:3]]
    assert classify(sweep(still, band=1)) is Kind.FOCUS_STACK
    assert classify(sweep(handheld, band=1)) is Kind.BURST
    assert classify(sweep(handheld, band=2)) is Kind.FOCUS_STACK


@pytest.mark.slow  # writes and decodes twelve 24 MP JPEGs
def test_a_focus_stack_of_an_enlarged_photo_on_a_24_mp_card_is_a_focus_stack(tmp_path: Path) -> None:
    """Rendered as the benchmark's 24 MP card renders its focus stacks: a view of 0.6 of a small real
    photo (480 px) enlarged to 1500 x 1000, blurred by depth around a focus plane that sweeps it
    (6.25 px one full depth away), enlarged to 6000 x 4000 with sensor noise, written at quality 95,
    read at a 1/4 decode. The analysed pixels hold no detail as fine as the focus grid measures, so
    the grid does not see the sharp region move (the card's stacks b023 and b066 crossed 0.03); the
    thumbnail does. The same tripod frames blurred as a whole by different amounts stay a burst."""
    view = render.warp_view(load_rgb(DATA / "flower.jpg"), render.Pose(0.5, 0.375, 0.6), 1500, 1000)
    depth = render.depth_map(1500, 1000, angle=150.0, gamma=1.2)

    def analysed(name: str, frames: list[np.ndarray]) -> list[Analysis]:
        shots = []
        for i, img in enumerate(frames):
            big = render.add_noise(cv2.resize(img, (6000, 4000), interpolation=cv2.INTER_LINEAR), 1.0,
                                   np.random.default_rng(i), tiled=True)
            path = write_jpeg(tmp_path / f"{name}_{i}.JPG", big, when=T0 + timedelta(seconds=3 * i), quality=95)
            shots.append(analyse_file(path, path.stat().st_mtime_ns)[1])
        return shots

    stack = analysed("stack", [render.focus_blur(view, depth, -0.05 + 0.22 * i, 6.25) for i in range(6)])
    assert stack[0].width == 6000 and stack[0].grid == (5, 8)
    assert focus_sweep(stack)
    still_burst = analysed("burst", [render.defocus(view, sigma) for sigma in (0.0, 2.0, 4.0, 1.0, 3.0, 6.0)])
    assert not focus_sweep(still_burst)


@needs_shared
def test_a_pan_following_a_subject_is_no_panorama(cases: dict[str, list[Shot]]) -> None:
    shots = cases["tracking_pan"]
    assert all(link(a.analysis, b.analysis) is None for a, b in zip(shots, shots[1:]))
    assert "panorama" not in {kind for kind, _ in kinds(shots)}


@needs_shared
def test_a_pan_following_a_small_subject_at_10_fps_is_one_burst(cases: dict[str, list[Shot]]) -> None:
    shots = cases["tracking_pan_small"]
    assert all((link(a.analysis, b.analysis) or (None,))[0] is not Link.PANORAMA for a, b in zip(shots, shots[1:]))
    assert kinds(shots) == [("burst", len(shots))]


@needs_shared
def test_a_sweep_grows_in_one_direction_only(cases: dict[str, list[Shot]]) -> None:
    """Sweeping back over the same frames is a second panorama, not more of the first."""
    pan = cases["pan_slow"]
    back = [Shot(s.primary.with_name("Z" + s.primary.name), replace(s.analysis, capture_time=s.analysis.capture_time + 20))
            for s in reversed(pan[:3])]
    assert kinds([*pan, *back]) == [("panorama", 5), ("panorama", 3)]


def test_a_bracket_a_minute_after_a_burst_of_the_same_scene_is_a_group_of_its_own(cases: dict[str, list[Shot]]) -> None:
    """Its first frame has the burst's exposure: no step links it to the burst, and the pause cuts."""
    later = [Shot(s.primary.with_name("B" + s.primary.name), replace(s.analysis, capture_time=s.analysis.capture_time + 60))
             for s in cases["bracket_bias"]]
    assert kinds([*cases["ae_drift"], *later]) == [("burst", 5), ("bracket", 3)]


def with_declared(shots: list[Shot], **fields: object) -> list[Shot]:
    return [Shot(s.primary, replace(s.analysis, declared=Declared(sequence=i + 1, **fields))) for i, s in enumerate(shots)]


def test_what_the_camera_declares_wins(cases: dict[str, list[Shot]]) -> None:
    # A focus bracket the content alone would call a burst (a blurred burst looks like it).
    assert kinds(with_declared(cases["blurred_burst"], bracket="focus")) == [("focus-stack", 5)]
    # A burst the content alone would call a bracket: continuous drive, consecutive frame numbers.
    assert kinds(with_declared(cases["bracket_noexif"], drive="continuous")) == [("burst", 7)]
    # An exposure bracket declared with its step.
    assert kinds(with_declared(cases["ae_drift"], bracket="exposure", bracket_step=0.3)) == [("bracket", 5)]


def test_declared_links() -> None:
    assert declared_link(Declared(bracket="exposure", sequence=1), Declared(bracket="exposure", sequence=2)) is Link.DECLARED_BRACKET
    # A new series starts: its numbering starts again.
    assert declared_link(Declared(bracket="exposure", sequence=3), Declared(bracket="exposure", sequence=1)) is None
    assert declared_link(Declared(group_id="A1"), Declared(group_id="A1")) is Link.DECLARED_BURST
    assert declared_link(Declared(group_id="A1"), Declared(group_id="B2")) is None
    assert declared_link(Declared(drive="continuous", sequence=4), Declared(drive="continuous", sequence=5)) is Link.DECLARED_BURST
    assert declared_link(Declared(drive="continuous", sequence=4), Declared(drive="continuous", sequence=9)) is None
    assert declared_link(Declared(), Declared()) is None


def test_kept_groups_keep_their_kind_when_regrouped(cases: dict[str, list[Shot]]) -> None:
    """The daemon keeps earlier groups as they were: their kind comes back from their members."""
    later = [Shot(s.primary.with_name("B" + s.primary.name), replace(s.analysis, capture_time=s.analysis.capture_time + 1000))
             for s in cases["ae_drift"]]
    shots = [*cases["bracket_manual"], *later]
    first = group_bursts(cases["bracket_manual"], GroupingParams())
    previous = [[str(s.primary) for s in g.shots] for g in first]
    groups, kept = regroup(shots, GroupingParams(), previous + [[str(later[0].primary)]])
    assert [(g.kind.value, len(g.shots)) for g in groups] == [("bracket", 5), ("burst", 5)]
    assert groups[0].id in kept and groups[0].kind is Kind.BRACKET


def test_a_group_of_one_is_a_burst_and_frames_without_thumbnails_link_to_nothing() -> None:
    bare = Analysis(0, 0, 0.0, TimeSource.EXIF)
    assert classify([bare]) is Kind.BURST
    assert link(bare, bare) is None


def test_shifts_measured_from_remembered_spectra_are_measured_anew(cases: dict[str, list[Shot]]) -> None:
    # `pair_shift` reuses each thumbnail's spectrum for both of its pairs (and out of order here):
    # the shifts must be those `measure_shift` finds from the thumbnails themselves.
    frames = [s.analysis for name in ("pan_wide", "tracking_pan", "bracket_noexif", "reshoot") if name in cases
              for s in cases[name]]
    pairs = list(zip(frames, frames[1:])) + list(zip(frames[::2], frames[1::2]))[::-1]
    pair_shift.cache_clear()
    for a, b in pairs:
        ta, tb = thumbs(a, b)
        assert ta is not None and tb is not None
        assert pair_shift(a, b) == measure_shift(ta, tb)
