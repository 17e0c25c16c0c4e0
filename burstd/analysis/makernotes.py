"""What the camera declares about how a frame was shot: makernote values in, `Declared` out. Pure.

`decode` reads the makernote with exiv2 (as strings keyed the way exiv2 names them:
`Exif.CanonCs.DriveMode`, `Exif.Panasonic.AFPointPosition`, ...) and Apple's, which exiv2 does not
decode, with `apple_makernote` here. `declare` turns those values into burstd's words. Value meanings
follow exiftool's tag tables (lib/Image/ExifTool/*.pm) and exiv2's (src/*mn_int.cpp); README's "What
the camera declares" says which are proven on which real file.

The AF point is the centre of the points the camera reports in focus (or, where it says nothing of
focus, the point selected), as fractions (x, y) of the stored image's width and height: the pixels as
stored, before any EXIF orientation, which is the frame makernote coordinates are given in.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import replace
from fractions import Fraction

from burstd.models import Declared

CONTINUOUS = "continuous"
SINGLE = "single"
PANORAMA = "panorama"  # frames shot in the camera's panorama assist mode, to be stitched
EXPOSURE = "exposure"
FOCUS = "focus"

# Makes whose makernote holds fields worth the cost of reading it with exiv2 (lower-case prefixes).
EXIV2_MAKES = ("canon", "nikon", "sony", "fujifilm", "olympus", "om digital", "panasonic", "pentax", "ricoh")

Tags = Mapping[str, str]


def declare(make: str, model: str, tags: Tags) -> Declared:
    """What the camera says about this frame; an empty `Declared` when it says nothing burstd reads."""
    brand = _BRANDS.get(_brand(make))
    found = brand(tags, model) if brand else Declared()
    if not found.bracket and _int(tags.get("Exif.Photo.ExposureMode")) == 2:  # EXIF's own "Auto bracket"
        found = replace(found, bracket=EXPOSURE)
    return found


def wants_exiv2(make: str) -> bool:
    """True for the makes whose makernote burstd reads through exiv2."""
    return _brand(make) in _BRANDS and _brand(make) != "apple"


def _brand(make: str) -> str:
    lowered = make.strip().lower()
    if lowered.startswith("apple"):
        return "apple"
    return next((prefix for prefix in EXIV2_MAKES if lowered.startswith(prefix)), "")


# --- Canon ------------------------------------------------------------------------------------

_CANON_CONTINUOUS = {1, 3, 4, 5, 8, 10}  # ContinuousDrive: Continuous, Speed priority, Low, High, High+, Silent
_CANON_SINGLE = {0, 6, 9}  # Single, Silent single, Single silent (2 is Movie)
_CANON_MANUAL_FOCUS = {3, 6}  # CameraSettings' FocusMode: the selected AF point says nothing of focus
# AFInfo (makernote tag 0x12), which exiv2 calls CanonPi: the indices it names.
_CANON_PI_NAMES = {"ImageWidth": 2, "ImageHeight": 3, "ImageWidthAsShot": 4, "ImageHeightAsShot": 5,
                   "AFPointsUsed": 22, "AFPointsUsed20D": 26}


def _canon(tags: Tags, model: str) -> Declared:
    drive_mode = _int(tags.get("Exif.CanonCs.DriveMode"))
    drive = CONTINUOUS if drive_mode in _CANON_CONTINUOUS else SINGLE if drive_mode in _CANON_SINGLE else ""
    # AutoExposureBracketing: -1 on, 0 off, 1..3 on and this is shot 1..3 (int16s, read unsigned by exiv2)
    aeb = _signed16(_int(tags.get("Exif.CanonSi.AutoExposureBracketing")))
    bracket_mode = _int(tags.get("Exif.CanonFi.BracketMode"))  # 1 AEB (2 FEB, 3 ISO, 4 WB: not exposure sets)
    bracket = EXPOSURE if (aeb not in (None, 0) or bracket_mode == 1) else ""
    sequence = aeb if aeb in (1, 2, 3) else None
    shot = _int(tags.get("Exif.CanonFi.BracketShotNumber"))
    if bracket and sequence is None and shot:
        sequence = shot
    step = _canon_ev(_signed16(_int(tags.get("Exif.CanonSi.AEBBracketValue"))))
    return Declared(drive=drive, sequence=sequence, bracket=bracket,
                    bracket_step=abs(step) if bracket and step else None,
                    af_point=_canon_af_point(tags, model))


def _canon_ev(value: int | None) -> float | None:
    """Canon's EV encoding (exiftool's CanonEv): 1/32 EV units, with 0x0c and 0x14 meaning 1/3 and 2/3."""
    if value is None:
        return None
    sign, value = (-1, -value) if value < 0 else (1, value)
    frac = value & 0x1F
    whole = value - frac
    part = {0x0C: Fraction(32, 3), 0x14: Fraction(64, 3)}.get(frac, Fraction(frac))
    return round(float(sign * (whole + part) / 32), 3)


def _canon_af_point(tags: Tags, model: str) -> tuple[float, float] | None:
    layout = _canon_af_info2(tags) or _canon_af_info(tags)
    if layout is None:
        # D30, D60 and PowerShots: ShotInfo's AFPointsInFocus names three points; only "Center"
        # (0x3002) has a position that does not depend on the body's layout.
        return (0.5, 0.5) if _int(tags.get("Exif.CanonSi.AFPointUsed")) == 0x3002 else None
    width, height, xs, ys, chosen = layout
    if not chosen or width <= 0 or height <= 0:
        return None
    # exiftool: 0,0 is the image centre; Y points up for EOS bodies and down for PowerShots.
    up = -1 if "EOS" in model.upper() else 1
    x = sum(xs[i] for i in chosen) / len(chosen)
    y = sum(ys[i] for i in chosen) / len(chosen)
    return _fraction_point(0.5 + x / width, 0.5 + up * y / height)


_Layout = tuple[int, int, list[int], list[int], list[int]]


def _canon_af_info2(tags: Tags) -> _Layout | None:
    """AFInfo2 (makernote tag 0x26, newer bodies): named arrays in exiv2's `Exif.Canon.AF*`."""
    xs = _ints(tags.get("Exif.Canon.AFXPositions"))
    ys = _ints(tags.get("Exif.Canon.AFYPositions"))
    width = _int(tags.get("Exif.Canon.AFImageWidth"))
    height = _int(tags.get("Exif.Canon.AFImageHeight"))
    if not xs or len(xs) != len(ys) or not width or not height:
        return None
    valid = _int(tags.get("Exif.Canon.AFValidPoints")) or len(xs)
    xs, ys = [_signed16(v) or 0 for v in xs], [_signed16(v) or 0 for v in ys]
    chosen = _bits(_ints(tags.get("Exif.Canon.AFPointsInFocus")), valid)
    if not chosen and _int(tags.get("Exif.CanonCs.FocusMode")) not in _CANON_MANUAL_FOCUS:
        chosen = _bits(_ints(tags.get("Exif.Canon.AFPointsSelected")), valid)  # where AF was aimed
    return width, height, xs, ys, chosen


def _canon_af_info(tags: Tags) -> _Layout | None:
    """AFInfo (makernote tag 0x12, older bodies), which exiv2 splits into `Exif.CanonPi.*` by index:
    NumAFPoints, ValidAFPoints, sizes, AFAreaWidth/Height, then X[n], Y[n] and the in-focus bits."""
    values: dict[int, int] = {}
    for key, text in tags.items():
        if key.startswith("Exif.CanonPi."):
            name = key.rsplit(".", 1)[1]
            index = int(name, 16) if name.startswith("0x") else _CANON_PI_NAMES.get(name)
            number = _int(text)
            if index is not None and number is not None:
                values[index] = number
    count = values.get(0, 0)
    if not count or any(i not in values for i in range(4, 8 + 2 * count)):
        return None
    xs = [_signed16(values[8 + i]) or 0 for i in range(count)]
    ys = [_signed16(values[8 + count + i]) or 0 for i in range(count)]
    words = [values.get(8 + 2 * count + i, 0) for i in range((count + 15) // 16)]
    return values[4], values[5], xs, ys, _bits(words, values.get(1, count))


# --- Nikon ------------------------------------------------------------------------------------


def _nikon(tags: Tags, model: str) -> Declared:
    mode = _int(tags.get("Exif.Nikon3.ShootingMode"))
    drive = bracket = ""
    if mode is not None:
        drive = CONTINUOUS if mode & 0x01 else SINGLE
        # bit 4 alone is exposure bracketing; with bit 6 or 8 it is white-balance or D-Lighting bracketing
        bracket = EXPOSURE if mode & 0x10 and not mode & 0x140 else ""
    if _number(tags.get("Exif.Nikon3.ExposureBracketComp")):  # this frame's offset within a bracket, in EV
        bracket = EXPOSURE
    return Declared(drive=drive, bracket=bracket, af_point=_nikon_af_point(tags))


def _nikon_af_point(tags: Tags) -> tuple[float, float] | None:
    # AFInfo2 (newer bodies): the AF area's centre in the AF image's pixels
    x, y = _int(tags.get("Exif.NikonAf2.AFAreaXPosition")), _int(tags.get("Exif.NikonAf2.AFAreaYPosition"))
    width, height = _int(tags.get("Exif.NikonAf2.AFImageWidth")), _int(tags.get("Exif.NikonAf2.AFImageHeight"))
    if x and y and width and height:
        return _fraction_point(x / width, y / height)
    # AFInfo (older bodies): an index into the body's named points. Only index 0, "Center", has a
    # position that does not depend on the body's AF layout.
    mode, point = _int(tags.get("Exif.NikonAf.AFAreaMode")), _int(tags.get("Exif.NikonAf.AFPoint"))
    if mode is None:  # the compacts' AFFocusPos: area mode, point, in-focus bits
        legacy = _ints(tags.get("Exif.Nikon1.AFFocusPos"))
        mode, point = (legacy[0], legacy[1]) if len(legacy) >= 2 else (None, None)
    if mode in (0, 1) and point == 0:  # single-area or dynamic-area AF on the centre point
        return (0.5, 0.5)
    return None


# --- Sony -------------------------------------------------------------------------------------

_SONY_RELEASE = {0: SINGLE, 2: CONTINUOUS}  # ReleaseMode 0xb049; 5 is exposure bracketing


def _sony(tags: Tags, model: str) -> Declared:
    release = _int(_sony_main(tags, "ReleaseMode"))
    sequence = _int(_sony_main(tags, "SequenceNumber"))  # 0xb04a: the shot's number in a continuous burst
    location = _ints(_sony_main(tags, "FocusLocation"))  # width, height, x, y
    af_point = None
    if len(location) == 4 and location[0] and location[1]:
        af_point = _fraction_point(location[2] / location[0], location[3] / location[1])
    return Declared(drive=_SONY_RELEASE.get(release, "") if release is not None else "",
                    sequence=sequence if sequence and sequence != 65535 else None,
                    bracket=EXPOSURE if release == 5 else "", af_point=af_point)


# --- Fujifilm ---------------------------------------------------------------------------------


def _fujifilm(tags: Tags, model: str) -> Declared:
    setting = _int(tags.get("Exif.Fujifilm.DriveSetting"))  # low byte: 0 single, 1 continuous low, 2 high
    drive = "" if setting is None else CONTINUOUS if setting & 0xFF in (1, 2) else SINGLE if setting & 0xFF == 0 else ""
    sequence = _int(tags.get("Exif.Fujifilm.SequenceNumber"))
    focus = _ints(tags.get("Exif.Fujifilm.FocusPoint"))  # x, y in the EXIF image size's pixels
    width, height = _int(tags.get("Exif.Photo.PixelXDimension")), _int(tags.get("Exif.Photo.PixelYDimension"))
    af_point = _fraction_point(focus[0] / width, focus[1] / height) if len(focus) == 2 and width and height else None
    return Declared(drive=drive, sequence=sequence or None, af_point=af_point)


# --- Olympus / OM System ----------------------------------------------------------------------


def _olympus(tags: Tags, model: str) -> Declared:
    drive = bracket = ""
    sequence = None
    special = _ints(tags.get("Exif.Olympus.SpecialMode"))  # mode (0 normal, 2 fast, 3 panorama), sequence
    if len(special) >= 2:
        drive = {0: SINGLE, 2: CONTINUOUS, 3: PANORAMA}.get(special[0], "")
        sequence = special[1] or None
    mode = _ints(tags.get("Exif.OlympusCs.DriveMode"))  # mode, shot number, mode bits, ...
    if mode:
        kind = mode[0]
        bits = mode[2] if len(mode) > 2 else 0
        drive = {0: SINGLE, 1: CONTINUOUS}.get(kind, drive)
        if kind in (2, 4) or (kind == 5 and bits & 0x01):
            bracket = EXPOSURE
        elif kind == 5 and bits & 0x40:
            bracket = FOCUS
        sequence = (mode[1] if len(mode) > 1 else 0) or sequence
    return Declared(drive=drive, sequence=sequence, bracket=bracket, af_point=_olympus_af_point(tags))


def _olympus_af_point(tags: Tags) -> tuple[float, float] | None:
    # AFPointSelected: a first undefined value, then the AF area's corners as fractions (left, top, right, bottom)
    values = [_number(v) for v in (tags.get("Exif.OlympusCs.AFPointSelected") or "").split()]
    corners = [v for v in values[1:5] if v is not None]
    if len(corners) != 4:
        return None
    return _fraction_point((corners[0] + corners[2]) / 2, (corners[1] + corners[3]) / 2)


# --- Panasonic --------------------------------------------------------------------------------

_PANASONIC_BURST = {0: (SINGLE, ""), 1: (CONTINUOUS, ""), 2: ("", EXPOSURE), 3: ("", FOCUS),
                    4: (CONTINUOUS, ""), 17: (CONTINUOUS, "")}


def _panasonic(tags: Tags, model: str) -> Declared:
    drive, bracket = _PANASONIC_BURST.get(_int(tags.get("Exif.Panasonic.BurstMode")), ("", ""))
    if not bracket and _int(tags.get("Exif.Panasonic.BracketSettings")):
        bracket = EXPOSURE
    position = [_number(v) for v in (tags.get("Exif.Panasonic.AFPointPosition") or "").split()]
    af_point = None
    if len(position) == 2 and all(v is not None and 0 <= v <= 1 for v in position):  # 16777216: none
        af_point = _fraction_point(position[0], position[1])  # type: ignore[arg-type]
    sequence = _int(tags.get("Exif.Panasonic.SequenceNumber"))
    return Declared(drive=drive, sequence=sequence or None, bracket=bracket, af_point=af_point)


# --- Pentax / Ricoh ---------------------------------------------------------------------------


def _pentax(tags: Tags, model: str) -> Declared:
    drive_mode = _ints(tags.get("Exif.Pentax.DriveMode"))
    drive = ""
    if drive_mode:
        drive = SINGLE if drive_mode[0] == 0 else CONTINUOUS if drive_mode[0] in (1, 2, 3, 4) else ""
    step = _pentax_step(_ints(tags.get("Exif.Pentax.AutoBracketing")))
    return Declared(drive=drive, bracket=EXPOSURE if step else "", bracket_step=step)


def _pentax_step(values: list[int]) -> float | None:
    """AutoBracketing's first value (exiftool's conversion): the EV step, 0 when bracketing is off."""
    if not values or not values[0]:
        return None
    code = values[0]
    if code < 10:
        return round(code / 3, 3)
    if code < 20:
        return code - 9.5
    if code & 0x1000:
        return round((code - 0x1000) / 2, 3) or None
    if code & 0x2000:
        return round((code - 0x2000) / 3, 3) or None
    return None


# --- Apple ------------------------------------------------------------------------------------

APPLE_BURST_UUID = "Exif.Apple.BurstUUID"  # the key `apple_makernote` gives it (exiv2 has no Apple table)
_APPLE_TAGS = {0x000B: APPLE_BURST_UUID}
_APPLE_HEADER = b"Apple iOS\x00"


def apple_makernote(raw: bytes) -> dict[str, str]:
    """The Apple makernote fields burstd reads, from the makernote's bytes: `Apple iOS\\0`, a version,
    `MM`, then a TIFF IFD whose offsets count from the makernote's start. Bad data gives {}."""
    if not raw.startswith(_APPLE_HEADER) or raw[12:14] not in (b"MM", b"II"):
        return {}
    order = ">" if raw[12:14] == b"MM" else "<"
    found: dict[str, str] = {}
    try:
        (count,) = struct.unpack_from(order + "H", raw, 14)
        for n in range(count):
            tag, kind, length, value = struct.unpack_from(order + "HHI4s", raw, 16 + 12 * n)
            if tag in _APPLE_TAGS and kind == 2:  # ASCII
                data = value if length <= 4 else raw[struct.unpack(order + "I", value)[0]:][:length]
                found[_APPLE_TAGS[tag]] = data[:length].split(b"\x00", 1)[0].decode("ascii", "replace")
    except struct.error:
        return found
    return found


def _apple(tags: Tags, model: str) -> Declared:
    burst = (tags.get(APPLE_BURST_UUID) or "").strip()
    return Declared(drive=CONTINUOUS, group_id=burst) if burst else Declared()


_BRANDS: dict[str, Callable[[Tags, str], Declared]] = {
    "canon": _canon, "nikon": _nikon, "sony": _sony, "fujifilm": _fujifilm, "olympus": _olympus,
    "om digital": _olympus, "panasonic": _panasonic, "pentax": _pentax, "ricoh": _pentax, "apple": _apple,
}


# --- values -----------------------------------------------------------------------------------


def _sony_main(tags: Tags, name: str) -> str | None:
    """A tag of Sony's main makernote IFD, which exiv2 calls Sony1 or Sony2 after its header. (Other
    Sony groups reuse some names with other meanings: Tag9400's SequenceNumber counts brackets.)"""
    return tags.get(f"Exif.Sony1.{name}") or tags.get(f"Exif.Sony2.{name}")


def _number(text: str | None) -> float | None:
    try:
        return float(Fraction(text)) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def _int(text: str | None) -> int | None:
    values = _ints(text)
    return values[0] if values else None


def _ints(text: str | None) -> list[int]:
    try:
        return [int(float(Fraction(part))) for part in (text or "").split()]
    except (ValueError, ZeroDivisionError):
        return []


def _signed16(value: int | None) -> int | None:
    """exiv2 prints some int16s fields as unsigned: 65535 is -1."""
    return value - 0x10000 if value is not None and value >= 0x8000 else value


def _bits(words: list[int], limit: int) -> list[int]:
    """The indices set in a little bit-field of 16-bit words (Canon's AF point lists)."""
    return [i for i in range(min(limit, 16 * len(words))) if words[i // 16] >> (i % 16) & 1]


def _fraction_point(x: float, y: float) -> tuple[float, float] | None:
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        return None  # outside the image: a value burstd misreads, never a place to measure sharpness
    return (round(x, 4), round(y, 4))
