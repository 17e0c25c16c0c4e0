"""What burstd measures in pixels (`burstd.analysis.features`), on real photos decoded by burstd.

The thumbnail is made by halving (2x2 averages) and one last area resize, not by OpenCV's general
area resize, which cost 3 ms on a 24 MP photo's reduced decode: it must still be a faithful small
copy of the photo, at the size the thumbnail promises, and the face detector's copies built the same
way must keep YuNet's multiples of 32.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from burstd.analysis.decode import decode, read_kind
from burstd.analysis.faces import shrink
from burstd.analysis.features import THUMB_LONG_SIDE, halve_towards, thumbnail

PHOTOS = Path(__file__).parent / "data" / "photos"


def grey_of(name: str) -> np.ndarray:
    path = PHOTOS / name
    return decode(path, read_kind(path)).grey


def enlarged(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A real photo at a camera-like reduced size (a 24 MP photo's 1/4 decode is 1500x1000)."""
    return cv2.resize(grey, size, interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("name", ["flower.jpg", "IMG_5910.jpg", "step0.jpg", "pcb_003.JPG"])
@pytest.mark.parametrize("size", [(1500, 1000), (1000, 1500), (875, 550), (200, 130)])
def test_the_thumbnail_is_a_faithful_small_copy(name: str, size: tuple[int, int]) -> None:
    grey = enlarged(grey_of(name), size)
    thumb = thumbnail(grey)
    w, h = size
    scale = THUMB_LONG_SIDE / max(w, h)
    expected = (round(h * scale), round(w * scale))
    assert thumb.shape == expected and thumb.dtype == np.uint8
    # Against the exact area average: the same picture, a few grey levels apart on average (the
    # halving's box filters blur edges a little differently, and an odd row or column dropped on the
    # way stretches the copy by up to half a thumbnail pixel at the far edge: 5.6 on the most
    # textured photo here).
    exact = cv2.resize(grey, (expected[1], expected[0]), interpolation=cv2.INTER_AREA).astype(np.float64)
    assert np.corrcoef(exact.ravel(), thumb.astype(np.float64).ravel())[0, 1] > 0.97
    assert np.abs(exact - thumb).mean() < 7


def test_halving_stops_within_a_factor_of_two_and_keeps_the_mean() -> None:
    grey = enlarged(grey_of("flower.jpg"), (1501, 1001))
    for target in (128, 384, 640, 2000):
        halved = halve_towards(grey, target)
        assert max(halved.shape) < 2 * target or halved is grey
        assert max(halved.shape) >= min(target, max(grey.shape))
        assert abs(float(halved.mean()) - float(grey.mean())) < 1.0
    assert halve_towards(grey, 128).shape == (125, 187)  # 1501x1001 -> 750x500 -> 375x250 -> 187x125


@pytest.mark.parametrize("size", [(1500, 1000), (1000, 1500), (875, 550), (300, 200)])
@pytest.mark.parametrize("long_side", [384, 640])
def test_the_face_detectors_copy_keeps_multiples_of_32(size: tuple[int, int], long_side: int) -> None:
    small = shrink(enlarged(grey_of("flower.jpg"), size), long_side)
    assert small.shape[0] % 32 == 0 and small.shape[1] % 32 == 0
    w, h = size
    scale = min(1.0, long_side / max(w, h))
    assert abs(small.shape[1] - w * scale) <= 16 and abs(small.shape[0] - h * scale) <= 16
