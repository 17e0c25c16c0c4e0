"""Make real JPEG files for tests: synthetic bursts cut from real photographs, with real EXIF.

Every file written here is a genuine JPEG that Pillow, exiftool and darktable can read: frames are
crops of a real photo (shifted like a hand-held burst), blurred by a known amount (so the sharpness
order is known), and carry DateTimeOriginal with SubSecTimeOriginal like a camera's burst.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data" / "photos"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "photos"


@dataclass(frozen=True)
class Camera:
    make: str = "NIKON CORPORATION"
    model: str = "NIKON Z 6_2"
    serial: str = "6012345"
    lens: str = "NIKKOR Z 24-70mm f/4 S"


def load_rgb(source: Path) -> np.ndarray:
    with Image.open(source) as im:
        return np.asarray(im.convert("RGB"))


def write_jpeg(path: Path, rgb: np.ndarray, *, when: datetime | None, camera: Camera | None = Camera(), quality: int = 92) -> Path:
    """Write `rgb` as a JPEG with camera-like EXIF (none at all when `when` and `camera` are None)."""
    image = Image.fromarray(rgb)
    exif = Image.Exif()
    if camera is not None:
        exif[271], exif[272], exif[274] = camera.make, camera.model, 1
        sub = exif.get_ifd(0x8769)
        sub[42033], sub[42036] = camera.serial, camera.lens
        sub[33434], sub[33437], sub[34855] = 1 / 1000, 4.0, 400
    if when is not None:
        sub = exif.get_ifd(0x8769)
        sub[36867] = when.strftime("%Y:%m:%d %H:%M:%S")
        sub[37521] = f"{when.microsecond // 10000:02d}"
        sub[36881] = "+01:00"
    image.save(path, "JPEG", quality=quality, exif=exif.tobytes() if len(exif) or camera else b"")
    return path


def frame(rgb: np.ndarray, *, dx: int, dy: int, size: tuple[int, int], blur: float, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A crop of `rgb` at offset (dx, dy), blurred with Gaussian sigma `blur`, plus sensor-like noise."""
    w, h = size
    cy, cx = (rgb.shape[0] - h) // 2 + dy, (rgb.shape[1] - w) // 2 + dx
    crop = rgb[cy : cy + h, cx : cx + w].astype(np.float32)
    if blur > 0:
        crop = cv2.GaussianBlur(crop, (0, 0), blur)
    if noise > 0:
        crop += np.random.default_rng(seed).normal(0, noise, crop.shape).astype(np.float32)
    return np.clip(crop, 0, 255).astype(np.uint8)


def make_burst(
    folder: Path,
    source: Path,
    blurs: list[float],
    *,
    start: datetime,
    first_number: int,
    prefix: str = "DSC_",
    fps: float = 10.0,
    camera: Camera | None = Camera(),
    size: tuple[int, int] = (960, 640),
    with_exif_time: bool = True,
    seed: int = 1,
) -> list[Path]:
    """Write one hand-held burst: frame i has blur sigma `blurs[i]` (0 = sharp); returns the paths."""
    rgb = load_rgb(source)
    rng = np.random.default_rng(seed)
    paths = []
    for i, blur in enumerate(blurs):
        dx, dy = (int(v) for v in rng.integers(-12, 13, size=2))
        when = start + timedelta(seconds=i / fps)
        path = folder / f"{prefix}{first_number + i:04d}.JPG"
        write_jpeg(path, frame(rgb, dx=dx, dy=dy, size=size, blur=blur), when=when if with_exif_time else None, camera=camera)
        paths.append(path)
    return paths


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(folder: Path, pattern: str = "*") -> dict[str, str]:
    """sha256 of every non-sidecar file in `folder`: proof that images were never written."""
    return {p.name: file_digest(p) for p in sorted(folder.glob(pattern)) if p.is_file() and p.suffix.lower() != ".xmp"}
