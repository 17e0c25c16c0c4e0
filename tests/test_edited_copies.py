"""An edited copy the phone saved beside its original (`IMG_E1234.JPG`) belongs to the original's shot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from burstd.discover import Candidate
from burstd.naming import is_edited_copy, is_ignored_name, shot_stem
from burstd.pipeline import plan_pairs
from tests.photos import DATA


@pytest.mark.parametrize(
    ("name", "stem", "edited"),
    [
        ("IMG_1234.JPG", "img_1234", False),
        ("IMG_E1234.JPG", "img_1234", True),
        ("IMG_E1234.HEIC", "img_1234", True),
        ("img_e0001.jpeg", "img_0001", True),
        ("IMG_E12345.JPG", "img_e12345", False),  # not Apple's four digits
        ("IMG_EDIT.JPG", "img_edit", False),
        ("DSC_E1234.JPG", "dsc_e1234", False),  # another maker's names are left alone
        ("IMG_1234.CR2", "img_1234", False),
    ],
)
def test_apple_edited_copy_names(name: str, stem: str, edited: bool) -> None:
    assert (shot_stem(name), is_edited_copy(name)) == (stem, edited)


def test_the_adjustments_file_is_a_sidecar_not_an_image() -> None:
    assert is_ignored_name("IMG_O1234.AAE") and is_ignored_name("IMG_E1234.AAE")


def plan(*names: str) -> tuple[list[str], dict[str, list[str]]]:
    keep, companions = plan_pairs([Candidate(Path("/card") / n, 1, 1) for n in names])
    return [c.path.name for c in keep], {p.name: [c.name for c in cs] for p, cs in companions.items()}


def test_an_edited_copy_is_a_companion_of_its_original() -> None:
    assert plan("IMG_1234.JPG", "IMG_E1234.JPG") == (["IMG_1234.JPG"], {"IMG_1234.JPG": ["IMG_E1234.JPG"]})
    assert plan("IMG_E1234.JPG", "IMG_1234.HEIC") == (["IMG_1234.HEIC"], {"IMG_1234.HEIC": ["IMG_E1234.JPG"]})


def test_with_a_raw_too_the_original_jpeg_is_analysed() -> None:
    assert plan("IMG_1234.DNG", "IMG_E1234.JPG", "IMG_1234.JPG") == (
        ["IMG_1234.JPG"], {"IMG_1234.JPG": ["IMG_1234.DNG", "IMG_E1234.JPG"]})


def test_an_edited_copy_whose_original_is_gone_is_a_shot_of_its_own() -> None:
    assert plan("IMG_E1234.JPG", "IMG_1235.JPG") == (["IMG_1235.JPG", "IMG_E1234.JPG"], {})


def test_an_edited_copy_beside_a_lone_raw_is_analysed_and_the_raw_rides_along() -> None:
    assert plan("IMG_E1234.JPG", "IMG_1234.DNG") == (["IMG_E1234.JPG"], {"IMG_E1234.JPG": ["IMG_1234.DNG"]})


@pytest.mark.slow
def test_scan_rates_an_edited_copy_with_its_original(burstd, tmp_path: Path) -> None:
    """A real photo, and a crop of it saved by Pillow with the original's EXIF (as Photos saves an edit):
    one shot, both files rated alike; the AAE adjustments file is neither an image nor an error."""
    folder = tmp_path / "DCIM"
    folder.mkdir()
    original = folder / "IMG_1234.JPG"
    shutil.copy(DATA / "IMG_5910.jpg", original)
    with Image.open(original) as im:
        exif = im.info["exif"]
        im.crop((100, 80, im.width - 100, im.height - 60)).save(folder / "IMG_E1234.JPG", quality=90, exif=exif)
    (folder / "IMG_O1234.AAE").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict/></plist>\n')
    report = burstd.json("scan", folder, "--no-config", check=0)
    summary = report["summary"]
    assert (summary["shots"], summary["analysed"], summary["unreadable"], report["errors"]) == (1, 1, 0, [])
    (group,) = report["groups"]
    assert group["kind"] == "single_shot"
    (member,) = group["members"]
    assert sorted(Path(f).name for f in member["files"]) == ["IMG_1234.JPG", "IMG_E1234.JPG"]
    first = (folder / "IMG_1234.JPG.xmp").read_text()
    copy = (folder / "IMG_E1234.JPG.xmp").read_text()
    assert 'Rating="3"' in first.replace("xmp:Rating", "Rating") and 'Rating="3"' in copy.replace("xmp:Rating", "Rating")
    assert not (folder / "IMG_O1234.AAE.xmp").exists()
