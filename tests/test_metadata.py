"""EXIF interpretation and name rules: pure, table-driven."""

from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction

import pytest

from burstd.analysis.metadata import capture_time, interpret
from burstd.naming import is_ignored_name, natural_key

T = datetime(2026, 11, 24, 14, 3, 7, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("value", "subsec", "offset", "expected"),
    [
        ("2026:11:24 14:03:07", None, None, T),
        ("2026:11:24 14:03:07", "25", None, T + 0.25),
        ("2026:11:24 14:03:07", "025", None, T + 0.025),
        ("2026:11:24 14:03:07", "5", "+01:00", T + 0.5 - 3600),
        ("2026:11:24 14:03:07", None, "-05:30", T + 5.5 * 3600),
        ("0000:00:00 00:00:00", None, None, None),
        ("", None, None, None),
        (b"2026:11:24 14:03:07\x00", None, None, T),
    ],
)
def test_capture_time(value, subsec, offset, expected) -> None:
    assert capture_time(value, subsec, offset) == (pytest.approx(expected, abs=1e-6) if expected else None)


def test_interpret_tolerates_odd_values() -> None:
    info = interpret({"make": "Canon\x00", "fnumber": Fraction(28, 10), "exposure_time": "1/800", "iso": (400, 400), "bias": "bogus"})
    assert (info.make, info.aperture, info.exposure_time, info.iso, info.exposure_bias) == ("Canon", 2.8, 1 / 800, 400, None)
    assert info.capture_time is None


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        ("IMG_0001.CR2", False), ("IMG_0001.CR2.xmp", True), ("IMG_0001.xmp", True), (".IMG_0001.CR2.Xy12Ab", True),
        ("IMG_0001.JPG.part", True), ("IMG_0001.JPG.tmp", True), ("IMG_0001.JPG~", True), (".hidden.jpg", True),
        ("DSC_0001.JPG", False),
    ],
)
def test_ignored_names(name: str, ignored: bool) -> None:
    assert is_ignored_name(name) is ignored


def test_natural_order() -> None:
    assert sorted(["IMG_10.JPG", "img_9.jpg", "IMG_100.JPG", "IMG_1.JPG"], key=natural_key) == ["IMG_1.JPG", "img_9.jpg", "IMG_10.JPG", "IMG_100.JPG"]
