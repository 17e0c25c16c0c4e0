"""What burstd measures in pixels: perceptual hashes, a per-tile focus measure, ORB descriptors.

Pure computation on a reduced grey image (a 2-D uint8 array); the decoding lives in `decode`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
from PIL import Image

# Tiles across the long side of the image; the short side gets proportionally fewer.
TILES_LONG_SIDE = 8
HASH_BITS = 64
# The long side of `Analysis.thumb`: enough to measure a panorama's shift to about 1 % of the frame
# and to see a moving subject, small enough (about 11 KB) to keep in the cache for every file.
THUMB_LONG_SIDE = 128


@dataclass(frozen=True, slots=True)
class PixelFeatures:
    phash: int
    dhash: int
    tiles: tuple[float, ...]
    grid: tuple[int, int]
    thumb: bytes
    thumb_size: tuple[int, int]  # width, height


def measure(grey: np.ndarray) -> PixelFeatures:
    """Hashes and focus tiles of one reduced grey image."""
    h, w = grey.shape
    # Cropping to whole multiples of 64 lets OpenCV take its fast integer-area path (5x faster).
    small = cv2.resize(grey[: max(64, h // 64 * 64), : max(64, w // 64 * 64)], (64, 64), interpolation=cv2.INTER_AREA)
    hashed = Image.fromarray(small)
    tiles, grid = focus_tiles(grey)
    thumb = thumbnail(grey)
    return PixelFeatures(
        phash=_hash_int(imagehash.phash(hashed)),
        dhash=_hash_int(imagehash.dhash(hashed)),
        tiles=tiles,
        grid=grid,
        thumb=thumb.tobytes(),
        thumb_size=(thumb.shape[1], thumb.shape[0]),
    )


def thumbnail(grey: np.ndarray, long_side: int = THUMB_LONG_SIDE) -> np.ndarray:
    """The reduced grey image shrunk (area average) to `long_side` pixels on its long side."""
    h, w = grey.shape
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(halve_towards(grey, long_side), size, interpolation=cv2.INTER_AREA)


def halve_towards(grey: np.ndarray, long_side: int) -> np.ndarray:
    """`grey` halved (2x2 averages) while its long side stays at least twice `long_side`: what is
    left for an exact resize is a factor under two. OpenCV averages by exactly two in one fast pass
    (0.2 ms for a 24 MP photo's 1500x1000 reduced decode), while its general area resize to the
    128-px thumbnail took 3 ms, about 5 % of that photo's whole analysis; an odd last row or column
    is dropped on the way (under 1 % of a side: no matter to a thumbnail or a face detector)."""
    h, w = grey.shape
    while max(h, w) >= 2 * long_side and min(h, w) >= 4:
        h, w = h // 2, w // 2
        grey = cv2.resize(grey[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    return grey


def thumb_array(thumb: bytes, size: tuple[int, int]) -> np.ndarray:
    """`Analysis.thumb` back as a 2-D uint8 array (empty when the analysis has none)."""
    w, h = size
    if not thumb or w * h != len(thumb):
        return np.zeros((0, 0), dtype=np.uint8)
    return np.frombuffer(thumb, dtype=np.uint8).reshape(h, w)


def focus_tiles(grey: np.ndarray) -> tuple[tuple[float, ...], tuple[int, int]]:
    """Mean squared Laplacian per tile, normalised by the tile's contrast.

    The image arrives already reduced (DCT scaling averages sensor noise away, which is why the
    ranking holds at 1/4 scale and not at full size). A light Gaussian removes what noise is left
    before the Laplacian, and each tile's energy is divided by its local brightness variance plus
    a floor so that a brighter or more contrasted frame of a bracket does not look sharper.
    """
    h, w = grey.shape
    if w >= h:
        cols, rows = TILES_LONG_SIDE, max(1, round(TILES_LONG_SIDE * h / w))
    else:
        rows, cols = TILES_LONG_SIDE, max(1, round(TILES_LONG_SIDE * w / h))
    th, tw = h // rows, w // cols
    # Whole tiles only: the few edge pixels left over are not worth a slower, uneven reduction.
    blurred = cv2.GaussianBlur(grey[: th * rows, : tw * cols], (3, 3), 0.8)
    lap = cv2.Laplacian(blurred, cv2.CV_16S, ksize=1)
    normalised = np.empty((rows, cols), dtype=np.float64)
    for r in range(rows):
        for c in range(cols):
            tile = (slice(r * th, (r + 1) * th), slice(c * tw, (c + 1) * tw))
            normalised[r, c] = _normalised_focus(lap[tile], blurred[tile])
    return tuple(float(v) for v in normalised.ravel()), (rows, cols)


def region_focus(grey: np.ndarray) -> float:
    """The focus measure of `focus_tiles` over one region (a face's eyes), as one number."""
    blurred = cv2.GaussianBlur(grey, (3, 3), 0.8)
    return _normalised_focus(cv2.Laplacian(blurred, cv2.CV_16S, ksize=1), blurred)


def _normalised_focus(lap: np.ndarray, blurred: np.ndarray) -> float:
    """Mean squared Laplacian over the region's contrast (plus a floor for flat regions)."""
    mean, sd = cv2.meanStdDev(lap)
    energy = sd[0, 0] ** 2 + mean[0, 0] ** 2
    _, contrast = cv2.meanStdDev(blurred)
    return float(energy / np.sqrt(contrast[0, 0] ** 2 + 25.0))


def orb_descriptors(grey: np.ndarray, n_features: int = 500) -> bytes:
    """ORB descriptors (32 bytes each) of the image at most 640 pixels wide, for `-f` grouping."""
    h, w = grey.shape
    scale = min(1.0, 640 / max(h, w))
    img = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else grey
    orb = cv2.ORB_create(nfeatures=n_features)
    _, desc = orb.detectAndCompute(img, None)
    return b"" if desc is None else desc.tobytes()


def hash_similarity(a: int, b: int) -> float:
    """1.0 for identical 64-bit hashes, about 0.5 for unrelated images."""
    return 1.0 - (a ^ b).bit_count() / HASH_BITS


def orb_similarity(a: bytes, b: bytes) -> float:
    """Share of descriptors with a clear best match (Lowe's ratio test), 0..1."""
    if not a or not b:
        return 0.0
    da = np.frombuffer(a, dtype=np.uint8).reshape(-1, 32)
    db = np.frombuffer(b, dtype=np.uint8).reshape(-1, 32)
    if len(da) < 2 or len(db) < 2:
        return 0.0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    good = 0
    for pair in matcher.knnMatch(da, db, k=2):
        if len(pair) == 2 and pair[0].distance < 0.75 * pair[1].distance:
            good += 1
    # Over the larger set: a frame with few features must not look like a perfect match.
    return good / max(len(da), len(db))


def _hash_int(h: imagehash.ImageHash) -> int:
    return int(str(h), 16)
