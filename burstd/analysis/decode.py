"""Read one image file into a reduced grey array and its EXIF tags: the only module that decodes.

It also gives the review page its small upright colour pictures (`reduced_rgb`, `raw_preview`), by
the same rules: the smallest DCT scale that will do, a RAW's embedded preview before any demosaic.

JPEG is decoded once, straight to grey at a reduced DCT scale (`Image.draft`): the entropy decoding
is the unavoidable cost, everything else is made small. RAW files give their embedded JPEG preview
(`extract_thumb`, well under a millisecond) and only fall back to a half-size demosaic when they
have none. Any failure becomes an `ImageError` naming the file and the reason.
"""

from __future__ import annotations

import errno
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rawpy
from PIL import Image, ImageOps, UnidentifiedImageError

from burstd import exiv2
from burstd.analysis.makernotes import apple_makernote, wants_exiv2
from burstd.errors import ImageError
from burstd.naming import is_raw_name

try:  # HEIF/HEIC support is the optional `heif` extra.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_SUPPORTED = False

# The reduced image keeps at least this many pixels on its long side; 1/4 is the preferred scale
# (the sharpness order of a burst holds there; at full size sensor noise dominates).
MIN_LONG_SIDE = 400
PREFERRED_FACTOR = 4

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1", b"avif"}


@dataclass(frozen=True, slots=True)
class Decoded:
    grey: np.ndarray  # 2-D uint8
    width: int  # the full image's size
    height: int
    tags: dict[str, Any]  # short names, see metadata.TAG_NAMES
    source: str  # e.g. "jpeg/4", "raw-preview/2", "raw-halfsize"
    # Makernote values as exiv2 names and prints them (`Exif.CanonCs.DriveMode`: "1"), for
    # `makernotes.declare`; only for the makes whose makernote says something burstd reads.
    maker: dict[str, str] = field(default_factory=dict)


def sniff(head: bytes, name: str) -> str | None:
    """The kind of image these first bytes start, or None: "jpeg", "png", "tiff", "heif", "raw"."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"crx ":
            return "raw"  # Canon CR3
        if brand in _HEIF_BRANDS:
            return "heif"
        return None
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "raw" if is_raw_name(name) else "tiff"
    if head.startswith((b"IIRO", b"IIRS", b"MMOR", b"IIU\x00", b"FUJIFILMCCD-RAW", b"FOVb", b"\x00MRM")):
        return "raw"
    if head.startswith(b"II\x1a\x00\x00\x00HEAPCCDR"):
        return "raw"
    if is_raw_name(name) and len(head) >= 16:
        return "raw"  # LibRaw knows formats without a fixed signature; let it decide
    return None


def read_kind(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            head = f.read(32)
    except OSError as exc:
        raise ImageError(path, _os_reason(exc)) from exc
    if not head:
        raise ImageError(path, "empty file (0 bytes)")
    return sniff(head, path.name)


def decode(path: Path, kind: str) -> Decoded:
    """Decode `path` (of the sniffed `kind`) to a reduced grey image plus EXIF tags."""
    try:
        if kind == "raw":
            return _decode_raw(path)
        return _decode_pillow(path, kind)
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageError(path, "vanished while being read") from exc
    except OSError as exc:
        raise ImageError(path, _os_reason(exc)) from exc
    except rawpy.LibRawIOError as exc:
        raise ImageError(path, raw_io_reason(path)) from exc
    except (rawpy.LibRawError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageError(path, f"cannot decode {kind.upper()}: {_exc_text(exc)}") from exc


def reduced_grey(path: Path) -> np.ndarray:
    """Only the reduced grey decode of a JPEG, nothing else: the floor benchmarks compare with."""
    with Image.open(path) as im:
        return _grey_reduced(im)[0]


def reduce_factor(width: int, height: int) -> int:
    factor = PREFERRED_FACTOR
    while factor > 1 and max(width, height) / factor < MIN_LONG_SIDE:
        factor //= 2
    return factor


def _decode_pillow(path: Path, kind: str) -> Decoded:
    if kind == "heif" and not HEIF_SUPPORTED:
        raise ImageError(path, "HEIF/HEIC needs the optional extra: pip install 'burstd[heif]'")
    with Image.open(path) as im:
        width, height = im.size
        tags = _pillow_tags(im)
        maker = _pillow_maker(im, tags)
        grey, factor = _grey_reduced(im)
    return Decoded(grey, width, height, tags, f"{kind}/{factor}", maker)


def _grey_reduced(im: Image.Image) -> tuple[np.ndarray, int]:
    width, height = im.size
    factor = reduce_factor(width, height)
    if im.format in ("JPEG", "MPO"):
        # draft() picks the DCT scale and decodes straight to grey: no full-size pixels ever exist.
        im.draft("L", (width // factor, height // factor))
        im.load()
        grey = im if im.mode == "L" else im.convert("L")
        if grey.size != (width // factor, height // factor) and grey.width > width // factor + 1:
            grey = grey.reduce(max(1, grey.width // max(1, width // factor)))
    else:
        im.load()
        grey = im.convert("L")
        if factor > 1:
            grey = grey.reduce(factor)
    return np.asarray(grey), factor


def _decode_raw(path: Path) -> Decoded:
    with rawpy.imread(str(path)) as raw:
        width, height = raw.sizes.width, raw.sizes.height
        im, _orientation, source = _raw_pixels(raw)
    with im:
        grey, factor = _grey_reduced(im)
    tags, maker = _raw_tags(path)
    return Decoded(grey, width, height, tags, f"{source}/{factor}", maker)


def raw_preview(path: Path) -> tuple[Image.Image, int]:
    """A RAW's embedded preview (or, without one, its half-size demosaic) and the EXIF orientation
    that shows it upright (0 when LibRaw already turned the pixels)."""
    with rawpy.imread(str(path)) as raw:
        im, orientation, _source = _raw_pixels(raw)
    return im, orientation


def _raw_pixels(raw: rawpy.RawPy) -> tuple[Image.Image, int, str]:
    """The cheapest full picture a RAW offers: its embedded JPEG, a bitmap preview, or only as a
    fallback a half-size demosaic (LibRaw then applies the rotation itself)."""
    orientation = _RAW_FLIP.get(raw.sizes.flip, 0)
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        thumb = None
    if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
        return Image.open(io.BytesIO(thumb.data)), orientation, "raw-preview"
    if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
        return Image.fromarray(thumb.data), orientation, "raw-preview-bitmap"
    rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8, no_auto_bright=False)
    return Image.fromarray(rgb), 0, "raw-halfsize"


def reduced_rgb(path: Path, kind: str, long_side: int) -> Image.Image:
    """An upright RGB image at most `long_side` pixels, decoded at the smallest scale that allows it."""
    if kind == "raw":
        im, orientation = raw_preview(path)
    else:
        im, orientation = Image.open(path), 0
    with im:
        if im.format in ("JPEG", "MPO"):
            # draft() picks the smallest DCT scale still at least this large: no full-size pixels.
            scale = long_side / max(im.size)
            im.draft("RGB", (math.ceil(im.width * scale), math.ceil(im.height * scale)))
        upright = ImageOps.exif_transpose(im) if not orientation else im.transpose(UPRIGHT[orientation])
        rgb = upright.convert("RGB")
    rgb.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return rgb


# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose does).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}
_RAW_FLIP = {3: 3, 5: 8, 6: 6}  # LibRaw's `flip` -> the EXIF orientation it means


_PILLOW_BASE = {271: "make", 272: "model", 274: "orientation"}
_PILLOW_EXIF = {
    36867: "datetime", 37521: "subsec", 36881: "offset", 33434: "exposure_time", 33437: "fnumber",
    34855: "iso", 37380: "bias", 42033: "serial", 42036: "lens",
}


def _pillow_tags(im: Image.Image) -> dict[str, Any]:
    try:
        return _exif_tags(im.getexif())
    except Exception:  # a broken EXIF block must not cost the pixels; the time falls back to mtime
        return {}


_MAKER_NOTE = 0x927C
_EXPOSURE_MODE = 0xA402  # EXIF's own ExposureMode: 2 is "Auto bracket", whatever the make


def _pillow_maker(im: Image.Image, tags: dict[str, Any]) -> dict[str, str]:
    """The makernote fields `makernotes.declare` reads, from the EXIF block Pillow already holds.

    exiv2 parses only that block (wrapped as a tiny JPEG), never the file again, and only for the
    makes it is worth it for and when a makernote is there at all: well under a millisecond a file.
    Apple's makernote, which exiv2 does not decode, is read from Pillow's bytes directly.
    """
    try:
        sub = im.getexif().get_ifd(0x8769)
        note, exposure_mode = sub.get(_MAKER_NOTE), sub.get(_EXPOSURE_MODE)
    except Exception:  # a broken EXIF block: nothing declared, the pixels still count
        return {}
    maker = {"Exif.Photo.ExposureMode": str(exposure_mode)} if exposure_mode is not None else {}
    make = str(tags.get("make") or "")
    if isinstance(note, bytes) and note.startswith(b"Apple iOS"):
        maker.update(apple_makernote(note))
    elif note and wants_exiv2(make) and isinstance(block := im.info.get("exif"), bytes):
        maker.update(_exiv2_block(block))
    return maker


def _exiv2_block(block: bytes) -> dict[str, str]:
    """Every tag exiv2 reads in an EXIF block (APP1's payload, `Exif\\0\\0` and all)."""
    if not block.startswith(b"Exif\x00\x00"):
        block = b"Exif\x00\x00" + block  # pillow-heif gives HEIF's EXIF without the JPEG header
    if len(block) + 2 > 0xFFFF:
        return {}  # cannot be one APP1 segment; a camera's never is
    jpeg = b"\xff\xd8\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block + b"\xff\xd9"
    try:
        return _as_maker(exiv2.read_exif(jpeg))
    except exiv2.Exiv2Error:
        return {}


def _exif_tags(exif: Image.Exif) -> dict[str, Any]:
    sub = exif.get_ifd(0x8769)
    tags = {name: exif.get(tag) for tag, name in _PILLOW_BASE.items() if exif.get(tag) is not None}
    tags.update({name: sub.get(tag) for tag, name in _PILLOW_EXIF.items() if sub.get(tag) is not None})
    if "datetime" not in tags and exif.get(306):  # DateTime, when DateTimeOriginal is missing
        tags["datetime"] = exif.get(306)
    return tags


_EXIV2_KEYS = {
    "Exif.Image.Make": "make", "Exif.Image.Model": "model", "Exif.Image.Orientation": "orientation",
    "Exif.Photo.DateTimeOriginal": "datetime", "Exif.Photo.SubSecTimeOriginal": "subsec",
    "Exif.Photo.OffsetTimeOriginal": "offset", "Exif.Photo.ExposureTime": "exposure_time",
    "Exif.Photo.FNumber": "fnumber", "Exif.Photo.ISOSpeedRatings": "iso",
    "Exif.Photo.ExposureBiasValue": "bias", "Exif.Photo.BodySerialNumber": "serial",
    "Exif.Photo.LensModel": "lens", "Exif.Image.DateTimeOriginal": "datetime",
}


# TIFF-based RAW files (CR2, NEF, ARW, DNG, PEF, ...) keep IFD0 and the EXIF IFD near the start.
_RAW_HEAD_BYTES = 1 << 20


def _raw_tags(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """EXIF of a RAW file: Pillow's TIFF reader on the file's head when it is TIFF-based (fast,
    parallel), exiv2 otherwise or when that finds no capture time (CR3, ORF, RW2, RAF, ...); and
    its makernote values (see `Decoded.maker`)."""
    with path.open("rb") as f:
        head = f.read(_RAW_HEAD_BYTES)
    if head.startswith((b"II*\x00", b"MM\x00*")):
        try:
            exif = Image.Exif()
            exif.load(head)
            tags = _exif_tags(exif)
            if tags.get("datetime"):
                # The makernote, when worth reading and where exiv2 finds it (in the EXIF IFD: a DNG
                # keeps the camera's in DNGPrivateData, which exiv2 does not decode), through exiv2.
                if _MAKER_NOTE in exif.get_ifd(0x8769) and wants_exiv2(str(tags.get("make") or "")):
                    return tags, _as_maker(_exiv2_all(path))
                return tags, {}
        except Exception:  # odd IFD layout: exiv2 knows more makers' quirks
            pass
    everything = _exiv2_all(path)
    tags = {name: everything[key] for key, name in _EXIV2_KEYS.items() if key in everything}
    return tags, (_as_maker(everything) if wants_exiv2(str(tags.get("make") or "")) else {})


def _exiv2_all(path: Path) -> dict[str, Any]:
    try:
        return exiv2.read_exif(path)
    except exiv2.Exiv2Error:  # RAW metadata is a bonus: the preview decoded, so the shot is usable
        return {}


def _as_maker(exif: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in exif.items()}


def raw_io_reason(path: Path) -> str:
    """Why LibRaw said "Input/output error": it says so both when the disk fails to read and when
    the file ends before the data its header describes. Reading the file through the OS tells them
    apart: a disk or card that fails says so there too; a file that reads to its end is damaged."""
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                size += len(chunk)
    except OSError as exc:
        return _os_reason(exc)
    return f"truncated or damaged RAW file: it ends before the image data its header describes ({size:,} bytes)"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished while being read"
    if exc.errno == errno.EIO:  # the device itself failed: a card or disk going bad, or pulled out
        return f"read error: the disk or card could not read it ({exc.strerror})"
    text = exc.strerror or _exc_text(exc)
    if "truncated" in text:
        return "truncated file (" + text + ")"
    return text


def _exc_text(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text) or type(exc).__name__
