"""Sidecar names for darktable/digiKam (`IMG.CR2.xmp`), Lightroom (`IMG.xmp`) or both, with the real CLI.

Every field burstd writes is read back with exiftool in every style; a rating set by hand in the
other style's sidecar wins; darktable's duplicates are never touched.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, make_burst

pytestmark = [needs_exiftool, pytest.mark.slow]  # end-to-end scans read back with exiftool
T0 = datetime(2026, 11, 24, 15, 0, 0)
SAMPLES = Path(__file__).parent / "data" / "sidecars"


def card(tmp_path: Path) -> Path:
    """Three frames of one burst shot RAW+JPEG (the DNG is a real camera file), and a lone JPEG."""
    folder = tmp_path / "card"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.0, 6.0], start=T0, first_number=1, size=(900, 600))
    for n in (1, 2, 3):
        shutil.copy(DATA / "colorchart.dng", folder / f"DSC_000{n}.DNG")
    make_burst(folder, DATA / "flower.jpg", [0.0], start=T0.replace(minute=40), first_number=9, size=(400, 300))
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def sidecars(report: dict) -> list[dict]:
    return [s for b in report["groups"] for m in b["members"] for s in m["sidecars"]]


def listed(value: object) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


@pytest.mark.parametrize("style", ["darktable", "lightroom", "both"])
def test_every_field_in_every_style_reads_back_in_exiftool(burstd, tmp_path: Path, style: str) -> None:
    folder = card(tmp_path)
    images = {n: h for n, h in digests(folder).items()}
    report = burstd.json("scan", folder, "--sidecar-style", style, "--pick-label", "purple",
                         "--digikam-pick-labels", "--reject-below", "0.2")
    darktable_names = {f"DSC_000{n}.{ext}.xmp" for n in (1, 2, 3) for ext in ("JPG", "DNG")} | {"DSC_0009.JPG.xmp"}
    lightroom_names = {"DSC_0001.xmp", "DSC_0002.xmp", "DSC_0003.xmp", "DSC_0009.xmp"}
    expected = {"darktable": darktable_names, "lightroom": lightroom_names, "both": darktable_names | lightroom_names}[style]
    assert {p.name for p in folder.glob("*.xmp")} == expected
    assert {n: h for n, h in digests(folder).items() if not n.endswith(".xmp")} == images  # images never written

    (burst, single) = sorted(report["groups"], key=lambda b: -len(b["members"]))
    keyword = next(t for t in exiftool_tags(folder / sorted(expected)[0]).get("XMP-lr:HierarchicalSubject", [])
                   if t.startswith("burstd|burst|"))
    assert keyword.startswith("burstd|burst|2026-11-24 DSC_0001-") and "," not in keyword
    for member in burst["members"]:
        stem = Path(member["files"][0]).stem
        pick, rating = member["rank"] == 1, member["rating"]
        for name in sorted(n for n in expected if n.startswith(stem + ".")):
            tags = exiftool_tags(folder / name)
            assert tags["XMP-xmp:Rating"] == rating, name
            assert tags["XMP-burstd:Rating"] == rating and tags["XMP-burstd:Rank"] == member["rank"]
            assert tags["XMP-burstd:BurstSize"] == 3 and tags["XMP-burstd:BurstId"] == burst["id"]
            assert listed(tags["XMP-lr:HierarchicalSubject"]) == [keyword] + (["burstd|pick"] if pick else [])
            assert listed(tags["XMP-dc:Subject"]) == ["burstd", "burst", keyword.split("|")[2]] + (["pick"] if pick else [])
            assert listed(tags.get("XMP-darktable:Colorlabels")) == (["4"] if pick else [])
            assert tags.get("XMP-digiKam:PickLabel") == (3 if pick else 1 if rating < 0 else None)
    assert any(m["rating"] == -1 for m in burst["members"])  # the reject case really occurs
    (alone,) = [n for n in expected if n.startswith("DSC_0009")] if style != "both" else [
        sorted(n for n in expected if n.startswith("DSC_0009"))[0]]
    tags = exiftool_tags(folder / alone)
    assert tags["XMP-xmp:Rating"] == 3 and "XMP-lr:HierarchicalSubject" not in tags  # no burst: no keyword
    assert single["members"][0]["rating"] == 3

    again = burstd.json("scan", folder, "--sidecar-style", style, "--pick-label", "purple",
                        "--digikam-pick-labels", "--reject-below", "0.2")
    assert {s["action"] for s in sidecars(again)} == {"unchanged"}


def test_lightroom_style_gives_a_raw_and_its_jpeg_one_sidecar(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path)
    report = burstd.json("scan", folder, "--sidecar-style", "lightroom")
    written = {Path(s["path"]).name: Path(s["image"]).name for s in sidecars(report)}
    assert written["DSC_0001.xmp"] == "DSC_0001.DNG"  # the sidecar belongs to the RAW
    assert written["DSC_0009.xmp"] == "DSC_0009.JPG"


@pytest.mark.parametrize(("style", "manual_name"), [("darktable", "DSC_0002.xmp"), ("lightroom", "DSC_0002.DNG.xmp")])
def test_a_rating_set_by_hand_in_the_other_style_wins(burstd, tmp_path: Path, style: str, manual_name: str) -> None:
    folder = card(tmp_path)
    shutil.copyfile(SAMPLES / "IMG_5910.xmp", folder / manual_name)  # Lightroom's 3 stars, set by hand
    before = (folder / manual_name).read_bytes()
    report = burstd.json("scan", folder, "--sidecar-style", style, check=0)
    kept = [s for s in sidecars(report) if s["action"] == "kept-manual"]
    assert kept and all(f"rated by hand in {manual_name}" in s["reason"] for s in kept)
    assert {Path(s["image"]).stem for s in kept} == {"DSC_0002"}
    assert (folder / manual_name).read_bytes() == before
    assert not any(p.name.startswith("DSC_0002") and p.name != manual_name for p in folder.glob("*.xmp"))
    # --force means what it says: the photographer's rating is overwritten in the style burstd writes.
    forced = burstd.json("scan", folder, "--sidecar-style", style, "--force", check=0)
    assert not [s for s in sidecars(forced) if s["action"] == "kept-manual"]


def test_an_unreadable_sidecar_in_the_other_style_stops_the_write(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path)
    (folder / "DSC_0003.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")  # truncated
    result = burstd("scan", folder, check=1)
    assert "DSC_0003.xmp" in result.stderr and "rating set by hand" in result.stderr
    assert not (folder / "DSC_0003.JPG.xmp").exists() and not (folder / "DSC_0003.DNG.xmp").exists()
    assert (folder / "DSC_0001.JPG.xmp").exists()  # the rest is done


def test_two_shots_lightroom_names_cannot_tell_apart_are_reported(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    make_burst(folder, DATA / "flower.jpg", [0.0], start=T0, first_number=1, size=(400, 300))
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0], start=T0.replace(minute=30), first_number=1, size=(400, 300))
    (folder / "DSC_0001.JPG").rename(folder / "DSC_0001.jpeg")  # the second one is DSC_0001.JPG again
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0], start=T0.replace(minute=30), first_number=1, size=(400, 300))
    result = burstd("scan", folder, "--sidecar-style", "lightroom", check=1)
    assert "DSC_0001.xmp" in result.stderr and "cannot tell apart" in result.stderr
    assert (folder / "DSC_0001.xmp").exists()  # written for one of them, never overwritten by the other


def test_darktable_duplicates_are_never_touched(burstd, tmp_path: Path) -> None:
    folder = card(tmp_path)
    for name in ("DSC_0001_01.DNG.xmp", "DSC_0001_02.JPG.xmp"):  # darktable's duplicates of DSC_0001
        shutil.copyfile(SAMPLES / "IMG_0001.CR2.xmp", folder / name)
    before = {n: h for n, h in digests(folder).items() if "_0" in n[4:]}
    for style in ("darktable", "lightroom", "both"):
        burstd("scan", folder, "--sidecar-style", style, check=0)
    assert {n: h for n, h in digests(folder).items() if n in before} == before
