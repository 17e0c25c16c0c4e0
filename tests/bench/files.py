"""Writing camera-like files: JPEGs with the EXIF a camera writes, DNG RAWs (pidng), card mtimes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin

from tests.bench.render import bayer_rggb

EXIF_IFD = 0x8769


@dataclass(frozen=True, slots=True)
class Body:
    """One camera body and the lens on it."""

    make: str
    model: str
    serial: str
    lens: str
    prefix: str  # file-name prefix the camera uses


@dataclass(frozen=True, slots=True)
class Exposure:
    """What a camera records about one frame."""

    when: datetime  # local wall-clock time, with tzinfo (gives OffsetTimeOriginal)
    exposure_time: Fraction
    f_number: Fraction
    iso: int
    bias: Fraction
    orientation: int = 1


def _rational(value: Fraction) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(value.numerator, value.denominator)


def _offset(when: datetime) -> str:
    minutes = int((when.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def camera_exif(body: Body, shot: Exposure) -> Image.Exif:
    """IFD0 and Exif-IFD tags as a camera writes them, DateTimeOriginal with sub-seconds and offset."""
    exif = Image.Exif()
    stamp = shot.when.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x010F] = body.make
    exif[0x0110] = body.model
    exif[0x0112] = shot.orientation
    exif[0x0131] = "Ver.01.00"
    exif[0x0132] = stamp
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[0x829A] = _rational(shot.exposure_time)  # ExposureTime
    ifd[0x829D] = _rational(shot.f_number)  # FNumber
    ifd[0x8827] = shot.iso  # ISO
    ifd[0x9003] = stamp  # DateTimeOriginal
    ifd[0x9004] = stamp  # DateTimeDigitized
    ifd[0x9011] = _offset(shot.when)  # OffsetTimeOriginal
    ifd[0x9291] = f"{shot.when.microsecond // 10000:02d}"  # SubSecTimeOriginal, hundredths as Nikon writes
    ifd[0x9204] = _rational(shot.bias)  # ExposureBiasValue
    ifd[0xA431] = body.serial  # BodySerialNumber
    ifd[0xA434] = body.lens  # LensModel
    return exif


def write_jpeg(path: Path, rgb: np.ndarray, quality: int, exif: Image.Exif | None) -> None:
    """A baseline JPEG with 4:2:2 chroma (what most cameras write); no EXIF at all when `exif` is None."""
    img = Image.fromarray(rgb)
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    img.save(path, "JPEG", quality=quality, subsampling=1, **kwargs)


def write_dng(path: Path, rgb: np.ndarray, body: Body, shot: Exposure) -> None:
    """An uncompressed 12-bit RGGB DNG of the frame (no embedded preview: pidng cannot add one)."""
    from pidng.core import RAW2DNG
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation
    from pidng.dng import DNGTags, Tag

    mosaic = bayer_rggb(rgb)
    h, w = mosaic.shape
    t = DNGTags()
    for tag, value in (
        (Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w), (Tag.TileLength, h),
        (Tag.Orientation, shot.orientation), (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 16),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.RGGB),
        (Tag.BlackLevel, 0), (Tag.WhiteLevel, 4095),
        (Tag.ColorMatrix1, [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]]),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]), (Tag.BaselineExposure, [[0, 100]]),
        (Tag.Make, body.make), (Tag.Model, body.model), (Tag.UniqueCameraModel, body.model),
        (Tag.CameraSerialNumber, body.serial), (Tag.EXIFPhotoBodySerialNumber, body.serial),
        (Tag.EXIFPhotoLensModel, body.lens),
        (Tag.DateTimeOriginal, shot.when.strftime("%Y:%m:%d %H:%M:%S")),
        (Tag.ExposureTime, [[shot.exposure_time.numerator, shot.exposure_time.denominator]]),
        (Tag.FNumber, [[shot.f_number.numerator, shot.f_number.denominator]]),
        (Tag.DNGVersion, DNGVersion.V1_4), (Tag.DNGBackwardVersion, DNGVersion.V1_2),
    ):  # fmt: skip
        t.set(tag, value)
    writer = RAW2DNG()
    writer.options(t, path="", compress=False)
    path.write_bytes(bytes(writer.convert(mosaic)))


def set_card_mtime(path: Path, when: datetime) -> None:
    """Give the file the mtime a camera's FAT card gives it: capture time, 2-second resolution."""
    epoch = when.astimezone(timezone.utc).timestamp()
    epoch = epoch - (epoch % 2)
    os.utime(path, ns=(int(epoch * 1e9), int(epoch * 1e9)))
