"""Analyse one image file: sniff, decode reduced, read EXIF, measure. The per-file worker.

Runs in worker threads (the decoders release the GIL), touches nothing but the file it reads, and
either returns a complete `Analysis` or raises `ImageError` naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from burstd.analysis.decode import decode, read_kind
from burstd.analysis.faces import find_faces
from burstd.errors import ImageError
from burstd.analysis.features import measure, orb_descriptors
from burstd.analysis.makernotes import declare
from burstd.analysis.metadata import interpret
from burstd.models import Analysis, TimeSource
from burstd.naming import has_image_extension

# burstd runs one analysis per core already; OpenCV's own threads would only fight them.
cv2.setNumThreads(1)


def analyse_file(path: Path, mtime_ns: int, *, with_orb: bool = False) -> tuple[str | None, Analysis | None, bytes | None]:
    """(kind, analysis, orb descriptors); kind None means "not an image" (silently skipped).

    A file whose name promises an image but whose content is none raises `ImageError`.
    """
    kind = read_kind(path)
    if kind is None:
        if has_image_extension(path.name):
            raise ImageError(path, f"not an image: its content does not match its {path.suffix} name")
        return None, None, None
    decoded = decode(path, kind)
    if decoded.grey.size == 0 or min(decoded.grey.shape) < 8:
        raise ImageError(path, "image too small to analyse")
    info = interpret(decoded.tags)
    features = measure(decoded.grey)
    # A RAW without a preview is demosaiced by LibRaw, which has already turned it upright.
    upright = decoded.source.startswith("raw-halfsize")
    faces = find_faces(decoded.grey, (decoded.width, decoded.height), info.orientation, upright=upright)
    if info.capture_time is not None:
        capture_time, source = info.capture_time, TimeSource.EXIF
    else:
        capture_time, source = mtime_ns / 1e9, TimeSource.MTIME
    analysis = Analysis(
        width=decoded.width,
        height=decoded.height,
        capture_time=capture_time,
        time_source=source,
        make=info.make,
        model=info.model,
        serial=info.serial,
        lens=info.lens,
        exposure_time=info.exposure_time,
        aperture=info.aperture,
        iso=info.iso,
        exposure_bias=info.exposure_bias,
        orientation=info.orientation,
        phash=features.phash,
        dhash=features.dhash,
        tiles=features.tiles,
        grid=features.grid,
        source=decoded.source,
        thumb=features.thumb,
        thumb_size=features.thumb_size,
        declared=declare(info.make, info.model, decoded.maker),
        faces=faces,
    )
    orb = orb_descriptors(decoded.grey) if with_orb else None
    return kind, analysis, orb
