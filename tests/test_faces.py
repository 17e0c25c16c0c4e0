"""Faces and eye state in real photos: `burstd.analysis.faces` and its place in `analyse_file`.

A real public-domain portrait (tests/data/faces/astronaut.png) is written as camera JPEGs, upright,
enlarged like a camera's file, and turned by each EXIF orientation; boxes must come back in the
stored pixels. The research data of ../shared/faces is read only by the benchmark tests at the end,
which skip without it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from burstd.analysis import faces
from burstd.analysis.analyse import analyse_file
from burstd.models import EyeState, Face

ROOT = Path(__file__).resolve().parents[1]
ASTRONAUT = ROOT / "tests" / "data" / "faces" / "astronaut.png"
FLOWER = ROOT / "tests" / "data" / "photos" / "flower.jpg"
# Eileen Collins' face in astronaut.png, by eye (brows to chin, ear to ear): x, y, w, h.
FACE = (180, 75, 85, 100)
# The stored pixels for each EXIF orientation: what a camera held that way writes, so that turning
# them by the orientation shows the portrait upright.
STORED = {
    1: lambda a: a,
    3: lambda a: np.rot90(a, 2),
    6: lambda a: np.rot90(a, 1),  # the viewer turns it 90 degrees clockwise
    8: lambda a: np.rot90(a, -1),
    2: lambda a: a[:, ::-1],
}


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def stored_box(box: tuple[int, int, int, int], orientation: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where a box of the upright portrait of `size` (w, h) lies in the stored pixels (turned by STORED)."""
    marker = np.zeros((size[1], size[0]), dtype=np.uint8)
    x, y, w, h = box
    marker[y : y + h, x : x + w] = 1
    ys, xs = np.nonzero(STORED[orientation](marker))
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def portrait(tmp_path: Path, orientation: int = 1, scale: int = 1, wide: bool = False) -> Path:
    """The portrait as a camera JPEG: stored turned for `orientation`, enlarged `scale` times, and
    with `wide` on a 768x512 frame (grey on the right), so that width and height differ."""
    rgb = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    if wide:
        rgb = np.concatenate([rgb, np.full((512, 256, 3), 128, dtype=np.uint8)], axis=1)
    if scale != 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"astronaut_o{orientation}_x{scale}{'_wide' * wide}.jpg"
    Image.fromarray(np.ascontiguousarray(STORED[orientation](rgb))).save(path, quality=92, exif=exif)
    return path


def faces_in(path: Path) -> tuple[Face, ...]:
    _, analysis, _ = analyse_file(path, path.stat().st_mtime_ns)
    assert analysis is not None
    return analysis.faces


def test_the_astronaut_has_one_face_with_open_eyes(tmp_path: Path) -> None:
    found = faces_in(portrait(tmp_path))
    assert len(found) == 1
    face = found[0]
    assert iou(face.box, FACE) > 0.6, face.box
    assert face.eyes is EyeState.OPEN
    assert face.openness is not None and face.openness > faces.CLOSED_BELOW
    assert face.sharpness is not None and face.sharpness > 0
    assert 0.5 < face.score <= 1


def test_boxes_are_in_the_full_images_pixels(tmp_path: Path) -> None:
    """A 2048-px file is analysed at 1/4 scale: its box is multiplied back up."""
    face = faces_in(portrait(tmp_path, scale=4))[0]
    assert iou(face.box, tuple(4 * v for v in FACE)) > 0.6, face.box
    assert face.eyes is EyeState.OPEN


@pytest.mark.parametrize("orientation", [3, 6, 8, 2])
def test_a_turned_photo_is_searched_upright_and_boxed_in_stored_pixels(tmp_path: Path, orientation: int) -> None:
    upright = faces_in(portrait(tmp_path))[0]
    found = faces_in(portrait(tmp_path, orientation))
    assert len(found) == 1, "YuNet finds upright faces only: the photo must be turned before detection"
    assert iou(found[0].box, stored_box(upright.box, orientation, (512, 512))) > 0.9, found[0].box
    assert found[0].eyes is EyeState.OPEN


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_turned_enlarged_oblong_photo_is_boxed_in_its_full_stored_pixels(tmp_path: Path, orientation: int) -> None:
    """3072x2048 stored on its side (2048x3072), analysed at 1/4: each axis is scaled back by its own."""
    found = faces_in(portrait(tmp_path, orientation, scale=4, wide=True))
    assert len(found) == 1
    expected = stored_box(tuple(4 * v for v in FACE), orientation, (3072, 2048))
    assert iou(found[0].box, expected) > 0.6, (found[0].box, expected)


def test_orientation_turns_and_their_inverse_agree() -> None:
    """to_upright moves a pixel where from_upright's map says, for every EXIF orientation."""
    stored = np.zeros((30, 50), dtype=np.uint8)
    stored[7, 11] = 255  # row 7, column 11
    for orientation in range(1, 9):
        view = faces.to_upright(stored, orientation)
        vy, vx = (int(v[0]) for v in np.nonzero(view))
        x, y, w, h = faces.from_upright((vx, vy, 1, 1), orientation, (view.shape[1], view.shape[0]))
        assert (round(x), round(y), round(w), round(h)) == (11, 7, 1, 1), orientation


def test_two_threads_at_once_see_the_same_faces(tmp_path: Path) -> None:
    paths = [portrait(tmp_path), portrait(tmp_path, 6), portrait(tmp_path, 3), portrait(tmp_path, scale=2)] * 3
    alone = [faces_in(p) for p in paths[:4]] * 3
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(faces_in, paths))
    assert together == alone


def framed_from(tmp_path: Path, top: int) -> Path:
    """The portrait enlarged three times and framed from `top` down (the astronaut's eyes lie about
    310 px down at that scale), as a camera JPEG."""
    rgb = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    big = cv2.resize(rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    path = tmp_path / f"framed_from_{top}.jpg"
    Image.fromarray(np.ascontiguousarray(big[top : top + 900, 100:1450])).save(path, quality=92)
    return path


@pytest.mark.parametrize("top", [300, 312, 336, 348])
def test_eyes_cut_by_the_frame_are_not_read(tmp_path: Path, top: int) -> None:
    # The face is still found from the nose down, its eyes placed at or beyond the frame's top edge:
    # the mesh read the mouth there, "closed" at every one of these cuts before.
    found = faces_in(framed_from(tmp_path, top))
    assert found, "the face from the nose down is still a face"
    assert all(f.eyes is EyeState.UNKNOWN and f.openness is None and f.sharpness is None for f in found)


def test_eyes_just_inside_the_frame_are_read(tmp_path: Path) -> None:
    face = faces_in(framed_from(tmp_path, 240))[0]
    assert face.eyes is EyeState.OPEN and face.sharpness is not None


def test_a_photo_without_people_has_no_faces() -> None:
    assert faces_in(FLOWER) == ()


def test_the_models_ship_with_their_licence_and_sources() -> None:
    folder = resources.files("burstd.analysis").joinpath(faces.MODELS)
    notice = folder.joinpath("NOTICE").read_text()
    assert "Apache License" in folder.joinpath("LICENSE-Apache-2.0.txt").read_text()
    for name in (faces.DETECTOR_FILE, faces.MESH_FILE, faces.IRIS_FILE):
        digest = hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest()
        assert name in notice and digest in notice


@pytest.mark.slow
def test_the_models_load_from_the_built_package(tmp_path: Path) -> None:
    """The package data carries the models: setuptools' build_py (what a wheel is made of) copies
    them, and burstd imported from that build, away from the checkout, finds and runs them."""
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files", "pyproject.toml", "README.md", "burstd"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((ROOT / name).read_bytes())
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "--build-lib", str(site)],
                   cwd=source, check=True, capture_output=True, timeout=120)  # fmt: skip
    shipped = {p.name for p in (site / "burstd" / "analysis" / "models").iterdir()}
    assert {faces.DETECTOR_FILE, faces.MESH_FILE, faces.IRIS_FILE, "NOTICE", "LICENSE-Apache-2.0.txt"} <= shipped
    code = (
        "import cv2, burstd.analysis.faces as f; "
        f"assert f.__file__.startswith({str(site)!r}), f.__file__; "
        f"g = cv2.imread({str(ASTRONAUT)!r}, cv2.IMREAD_GRAYSCALE); "
        "print(len(f.find_faces(g, (512, 512))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


# Benchmark tests: the research data of ../shared/faces, read in place (never copied).
SHARED_FACES = ROOT.parent / "shared" / "faces"
needs_shared = pytest.mark.skipif(not SHARED_FACES.is_dir(), reason=f"needs the research faces in {SHARED_FACES}")


@pytest.mark.slow
@needs_shared
def test_bench_every_labelled_face_is_found() -> None:
    from tests.bench.faces import score_scenes

    scenes = score_scenes()
    assert scenes.found / scenes.labelled >= 0.98
    assert scenes.false_positives <= 2


@pytest.mark.slow
@needs_shared
def test_bench_eye_state_on_a_fixed_subset() -> None:
    from tests.bench.faces import eye_crops, eye_figures, read_eye_crops

    crops = eye_crops(limit=40)
    results = read_eye_crops(crops[EyeState.OPEN], EyeState.OPEN) + read_eye_crops(crops[EyeState.CLOSED], EyeState.CLOSED)
    figures = eye_figures(results)
    assert figures["accuracy"] >= 0.9, figures
    assert figures["open_called_closed"] <= 0.05, figures
