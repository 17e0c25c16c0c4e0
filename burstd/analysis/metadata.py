"""Turn raw EXIF values into the fields burstd uses. Pure: a mapping in, typed values out.

`decode` collects the tags (from Pillow for JPEG/PNG/TIFF/HEIF, from exiv2 for RAW files) into one
`ExifTags` mapping with short names, whatever their source format; this module interprets them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

# Short names for the tags burstd reads; `decode` fills them from either reader.
TAG_NAMES = (
    "make", "model", "serial", "lens", "datetime", "subsec", "offset",
    "exposure_time", "fnumber", "iso", "bias", "orientation",
)

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


@dataclass(frozen=True, slots=True)
class CaptureInfo:
    capture_time: float | None  # None: the file carries no usable capture time
    make: str = ""
    model: str = ""
    serial: str = ""
    lens: str = ""
    exposure_time: float | None = None
    aperture: float | None = None
    iso: int | None = None
    exposure_bias: float | None = None
    orientation: int = 1


def interpret(tags: dict[str, Any]) -> CaptureInfo:
    """Read capture time, camera, lens and exposure from short-named tags; bad values become None."""
    return CaptureInfo(
        capture_time=capture_time(tags.get("datetime"), tags.get("subsec"), tags.get("offset")),
        make=_text(tags.get("make")),
        model=_text(tags.get("model")),
        serial=_text(tags.get("serial")),
        lens=_text(tags.get("lens")),
        exposure_time=_number(tags.get("exposure_time")),
        aperture=_number(tags.get("fnumber")),
        iso=_integer(tags.get("iso")),
        exposure_bias=_number(tags.get("bias")),
        orientation=_integer(tags.get("orientation")) or 1,
    )


def capture_time(value: Any, subsec: Any = None, offset: Any = None) -> float | None:
    """Seconds for `YYYY:MM:DD HH:MM:SS` plus sub-seconds, shifted to UTC when an offset is known.

    Without an offset the local time is read as if it were UTC: good for ordering the shots of
    one camera, which is all burstd uses it for.
    """
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    tz = timezone.utc
    match = _OFFSET.match(_text(offset))
    if match:
        sign = 1 if match.group(1) == "+" else -1
        tz = timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    seconds = moment.replace(tzinfo=tz).timestamp()
    digits = "".join(ch for ch in _text(subsec) if ch.isdigit())
    if digits:
        seconds += int(digits) / 10 ** len(digits)
    return seconds


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "").strip()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
        if value is None:
            return None
    try:
        if isinstance(value, str):
            value = Fraction(value.split()[0])
        number = float(value)
    except (ValueError, ZeroDivisionError, TypeError, IndexError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
