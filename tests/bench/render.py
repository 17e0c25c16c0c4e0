"""Pixel work for the card generator: real source photos, camera pose, blur, exposure, sensor noise.

Everything here is a function from arrays (and small numbers) to arrays; `files.py` writes them out.
Poses are given in *normalised source coordinates* (multiples of the source photo's width), so one
plan renders at any output size. Blur amounts are in *reference pixels*: pixels of a 1200-pixel-wide
frame (`REF_WIDTH`), scaled to the actual render width, so a "sigma 2" frame looks alike in every profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REF_WIDTH = 1200
PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "photos"
if not PHOTOS.is_dir():  # the checkout may live elsewhere; /work/shared is where the lead keeps it
    PHOTOS = Path("/work/shared/photos")

# Real photographs: scikit-image's bundled images (no download needed) and ../shared/photos.
SKIMAGE_SCENES = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "motorcycle", "coins", "clock",
    "moon", "immunohistochemistry", "hubble_deep_field", "brick", "grass", "gravel",
)  # fmt: skip
SHARED_SCENES = ("IMG_5910", "flower", "sugarshack", "xmp_test")
SHARED_FILES = {
    "IMG_5910": "singles/IMG_5910.jpg",
    "flower": "singles/flower.jpg",
    "sugarshack": "singles/sugarshack.mpo",
    "xmp_test": "singles/xmp_test.jpg",
    # wide sources for panoramas (plan.WIDE_SCENES), not in the general pool
    "woods": "bursts_fba/woods/REG_001.jpg",  # one of the sharpest
    "bookshelf": "bursts_fba/bookshelf/REG_003.jpg",  # the sharpest of that shaken burst
    "tequila": "bursts_fba/tequila/REG_001.jpg",  # the sharpest
}


@dataclass(frozen=True, slots=True)
class Pose:
    """Where the camera looks: view centre and view width as fractions of the source width; roll in degrees."""

    cx: float
    cy: float
    view: float
    angle: float = 0.0


def _load_source(name: str) -> np.ndarray:
    """The named real photo as an RGB uint8 array, at its native size."""
    if name.startswith("shared:"):
        img = Image.open(PHOTOS / name.removeprefix("shared:"))
        img.seek(0)
        return np.asarray(img.convert("RGB"))
    if name in SHARED_FILES:
        return _load_source("shared:" + SHARED_FILES[name])
    import skimage.data

    arr = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])


@lru_cache(maxsize=8)
def source(name: str, width: int = 0) -> np.ndarray:
    """The photo, downscaled (area filter) to at most `width` pixels wide; 0 keeps it native."""
    arr = _load_source(name)
    if width and arr.shape[1] > width:
        height = round(arr.shape[0] * width / arr.shape[1])
        arr = cv2.resize(arr, (width, height), interpolation=cv2.INTER_AREA)
    return arr


def source_size(name: str) -> tuple[int, int]:
    """(width, height) of the native photo."""
    h, w = source(name).shape[:2]
    return w, h


def view_fits(pose: Pose, src_size: tuple[int, int], aspect: float) -> bool:
    """True when the rotated view rectangle lies inside the source: no border can show."""
    sw, sh = src_size
    half_w, half_h = pose.view * sw / 2, pose.view * sw / aspect / 2
    a = math.radians(pose.angle)
    ext_x = abs(half_w * math.cos(a)) + abs(half_h * math.sin(a))
    ext_y = abs(half_w * math.sin(a)) + abs(half_h * math.cos(a))
    cx, cy = pose.cx * sw, pose.cy * sw
    return ext_x <= cx <= sw - ext_x and ext_y <= cy <= sh - ext_y


def warp_view(src: np.ndarray, pose: Pose, out_w: int, out_h: int) -> np.ndarray:
    """Render the camera's view of `src` at out_w x out_h with one affine warp."""
    sw = src.shape[1]
    scale = out_w / (pose.view * sw)  # output pixels per source pixel
    a = math.radians(pose.angle)
    c, s = math.cos(a) / scale, math.sin(a) / scale
    cx, cy = pose.cx * sw, pose.cy * sw
    # destination -> source: src = centre + R/scale * (dst - out_centre)
    m = np.array(
        [[c, -s, cx - c * out_w / 2 + s * out_h / 2], [s, c, cy - s * out_w / 2 - c * out_h / 2]],
        dtype=np.float64,
    )
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(src, m, (out_w, out_h), flags=flags, borderMode=cv2.BORDER_REFLECT)


def paste_subject(src: np.ndarray, patch_name: str, cx: float, cy: float, radius: float) -> np.ndarray:
    """A copy of `src` with a round, feathered cut-out of another photo centred at (cx, cy) (normalised)."""
    sw = src.shape[1]
    r = max(4, round(radius * sw))
    patch_src = source(patch_name)
    ph, pw = patch_src.shape[:2]
    side = min(ph, pw)
    crop = patch_src[(ph - side) // 2 : (ph + side) // 2, (pw - side) // 2 : (pw + side) // 2]
    patch = cv2.resize(crop, (2 * r, 2 * r), interpolation=cv2.INTER_AREA).astype(np.float32)
    yy, xx = np.mgrid[-r:r, -r:r] + 0.5
    mask = np.clip((r - np.hypot(xx, yy)) / 3.0, 0.0, 1.0)[:, :, None]
    out = src.copy()
    x0, y0 = round(cx * sw) - r, round(cy * sw) - r
    xs, ys = slice(max(x0, 0), min(x0 + 2 * r, sw)), slice(max(y0, 0), min(y0 + 2 * r, src.shape[0]))
    if xs.stop <= xs.start or ys.stop <= ys.start:
        return src
    px, py = slice(xs.start - x0, xs.stop - x0), slice(ys.start - y0, ys.stop - y0)
    region = out[ys, xs].astype(np.float32)
    out[ys, xs] = (region * (1 - mask[py, px]) + patch[py, px] * mask[py, px]).astype(np.uint8)
    return out


def defocus(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur, standing in for defocus; sigma in pixels of `img`."""
    return img if sigma < 0.05 else cv2.GaussianBlur(img, (0, 0), sigma)


def motion_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Linear motion blur: a box of `length` pixels along direction `angle` (degrees)."""
    if length < 1.0:
        return img
    size = int(math.ceil(length)) | 1
    k = np.zeros((size * 4, size * 4), np.float32)  # drawn 4x larger, then area-reduced: sub-pixel lengths
    c, half = size * 2, length * 2
    dx, dy = half * math.cos(math.radians(angle)), half * math.sin(math.radians(angle))
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 2, cv2.LINE_AA)
    k = cv2.resize(k, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def depth_map(width: int, height: int, angle: float, gamma: float) -> np.ndarray:
    """A smooth depth map, float32 0 (near) .. 1 (far): a plane whose depth grows towards `angle`
    (degrees, counter-clockwise from the frame's right), normalised over the frame, raised to `gamma`."""
    a = math.radians(angle)
    x = (np.arange(width, dtype=np.float32) - width / 2) / width
    y = (np.arange(height, dtype=np.float32) - height / 2) / width
    proj = x[None, :] * math.cos(a) - y[:, None] * math.sin(a)  # image y grows downwards
    lo, hi = float(proj.min()), float(proj.max())
    return ((proj - lo) / (hi - lo)) ** gamma


FOCUS_LEVELS = 9  # blur levels the depth-dependent blur interpolates between


def focus_blur(img: np.ndarray, depth: np.ndarray, focus: float, max_sigma: float) -> np.ndarray:
    """Depth-dependent defocus: each pixel blurred by a Gaussian of sigma `max_sigma` * |depth - focus|
    (pixels of `img`), interpolated per pixel between `FOCUS_LEVELS` uniformly blurred copies."""
    sigma = np.abs(depth - focus) * max_sigma
    top = float(sigma.max())
    if top < 0.05:
        return img
    levels = np.linspace(0.0, top, FOCUS_LEVELS)
    position = sigma / (levels[1] - levels[0])
    out = np.zeros(img.shape, np.float32)
    for j, s in enumerate(levels):
        weight = np.maximum(1.0 - np.abs(position - j), 0.0)  # linear between the two nearest levels
        if weight.any():
            out += defocus(img, float(s)).astype(np.float32) * weight[:, :, None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def exposure(img: np.ndarray, ev: float) -> np.ndarray:
    """Scale light by 2**ev in (approximately) linear space, through a 256-entry lookup table."""
    if ev == 0:
        return img
    x = np.arange(256, dtype=np.float64) / 255.0
    lut = np.clip((x**2.2 * 2.0**ev) ** (1 / 2.2), 0, 1) * 255.0
    return cv2.LUT(img, np.round(lut).astype(np.uint8))


@lru_cache(maxsize=8)
def _noise_tile(sigma: float, seed: int) -> np.ndarray:
    tile = np.empty((512, 768, 3), np.int16)
    cv2.setRNGSeed(seed)
    cv2.randn(tile, 0, sigma)
    return tile


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator, tiled: bool) -> np.ndarray:
    """Gaussian sensor noise of `sigma` grey levels. `tiled` repeats a shifted 768x512 tile: far cheaper
    at 24 MP and just as costly for the JPEG codec (the speed profile only needs realistic entropy)."""
    if sigma <= 0:
        return img
    h, w = img.shape[:2]
    if tiled:
        tile = np.roll(_noise_tile(sigma, 7), (int(rng.integers(512)), int(rng.integers(768))), (0, 1))
        noise = np.tile(tile, (-(-h // 512), -(-w // 768), 1))[:h, :w]
    else:
        noise = np.empty(img.shape, np.int16)
        noise[:] = np.round(rng.normal(0.0, sigma, img.shape))
    return cv2.add(img, noise, dtype=cv2.CV_8U)


def bayer_rggb(rgb: np.ndarray, white: int = 4095) -> np.ndarray:
    """A 12-bit linear RGGB mosaic (uint16) from an sRGB-ish uint8 image: the sensor data of a RAW."""
    lin = (rgb.astype(np.float32) / 255.0) ** 2.2 * white
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    out = np.empty((h, w), np.uint16)
    out[0::2, 0::2] = lin[0:h:2, 0:w:2, 0]
    out[0::2, 1::2] = lin[0:h:2, 1:w:2, 1]
    out[1::2, 0::2] = lin[1:h:2, 0:w:2, 1]
    out[1::2, 1::2] = lin[1:h:2, 1:w:2, 2]
    return out
