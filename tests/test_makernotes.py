"""What the camera declares: makernote values (as exiv2 reads them from real camera files) to `Declared`.

The table rows are the values exiv2 (pyexiv2) reads from the real files in tests/data/photos/makernotes
(exiftool's test images); each row's comment gives what `exiftool -a -G1 FILE` says there. The file
tests read the same files through `decode`, so a change in exiv2 or in how burstd reads it shows.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from burstd.analysis.decode import decode, read_kind
from burstd.analysis.makernotes import apple_makernote, declare
from burstd.models import Declared
from tests.helpers_exiftool import EXIFTOOL, needs_exiftool
from tests.photos import DATA, SHARED

MAKERNOTES = DATA / "makernotes"

CANON_1DMKIII_AF = {  # Canon1DmkIII.jpg, AFInfo2: 45 points, point 13 in focus
    "Exif.CanonCs.DriveMode": "5",  # ContinuousDrive: Continuous, High
    "Exif.CanonSi.AutoExposureBracketing": "0",
    "Exif.CanonSi.AEBBracketValue": "0",
    "Exif.Canon.AFValidPoints": "45",
    "Exif.Canon.AFImageWidth": "3888",
    "Exif.Canon.AFImageHeight": "2592",
    "Exif.Canon.AFXPositions": "-625 -416 -209 0 209 416 625 -917 -723 -520 -311 -104 104 311 520 723 917 -1041 "
    "-832 -625 -416 -206 0 206 416 625 832 1041 -917 -723 -520 -311 -104 104 311 520 723 917 -625 -416 -209 0 209 416 625",
    "Exif.Canon.AFYPositions": " ".join(["-554"] * 7 + ["-277"] * 10 + ["0"] * 11 + ["277"] * 10 + ["554"] * 7),
    "Exif.Canon.AFPointsInFocus": "8192 0 0",  # AFPointsInFocus: 13
    "Exif.Canon.AFPointsSelected": "8192 0 0",
}
CANON_350D_CR2 = {  # CanonRaw.cr2 (EOS 350D), AFInfo (tag 0x12) as exiv2 splits it into CanonPi by index
    "Exif.CanonCs.DriveMode": "0",  # ContinuousDrive: Single
    "Exif.CanonPi.0x0000": "7", "Exif.CanonPi.0x0001": "7",
    "Exif.CanonPi.ImageWidth": "3456", "Exif.CanonPi.ImageHeight": "2304",
    "Exif.CanonPi.ImageWidthAsShot": "3456", "Exif.CanonPi.ImageHeightAsShot": "2304",
    "Exif.CanonPi.0x0006": "189", "Exif.CanonPi.0x0007": "188",
    # AFAreaXPositions: 0 -1237 -742 0 742 1237 0; AFAreaYPositions: -617 0 0 0 0 0 617
    **{f"Exif.CanonPi.0x{8 + i:04x}": v for i, v in enumerate(
        ["0", "64299", "64794", "0", "742", "1237", "0", "64919", "0", "0", "0", "0", "0", "617"])},
    "Exif.CanonPi.AFPointsUsed": "8",  # AFPointsInFocus: 3 (the centre point)
}


@pytest.mark.parametrize(
    ("make", "model", "tags", "expected"),
    [
        # Canon.jpg: ContinuousDrive Continuous; manual focus, AFPointsInFocus (none)
        ("Canon", "Canon EOS DIGITAL REBEL", {"Exif.CanonCs.DriveMode": "1", "Exif.CanonSi.AutoExposureBracketing": "0",
                                              "Exif.CanonPi.0x0000": "7", "Exif.CanonPi.AFPointsUsed": "0"},
         Declared(drive="continuous")),
        ("Canon", "Canon EOS-1D Mark III", CANON_1DMKIII_AF, Declared(drive="continuous", af_point=(0.58, 0.6069))),
        ("Canon", "Canon EOS 350D DIGITAL", CANON_350D_CR2, Declared(drive="single", af_point=(0.5, 0.5))),
        # flower.jpg (PowerShot S40): AFPointsInFocus Center (ShotInfo 0x3002)
        ("Canon", "Canon PowerShot S40", {"Exif.CanonCs.DriveMode": "0", "Exif.CanonSi.AFPointUsed": "12290"},
         Declared(drive="single", af_point=(0.5, 0.5))),
        # Canon AEB, shot 2 of 3 at 2/3 EV (AEBBracketValue 0x14 is 2/3 EV in Canon's encoding)
        ("Canon", "Canon EOS 5D", {"Exif.CanonCs.DriveMode": "0", "Exif.CanonSi.AutoExposureBracketing": "2",
                                   "Exif.CanonSi.AEBBracketValue": "20"},
         Declared(drive="single", sequence=2, bracket="exposure", bracket_step=0.667)),
        # NikonD2Hs.jpg: ShootingMode 2 (Delay: single frame), AFAreaMode Single Area, AFPoint Center
        ("NIKON CORPORATION", "NIKON D2Hs", {"Exif.Nikon3.ShootingMode": "2", "Exif.NikonAf.AFAreaMode": "0",
                                             "Exif.NikonAf.AFPoint": "0"}, Declared(drive="single", af_point=(0.5, 0.5))),
        # Nikon.jpg (E775): AFAreaMode Single Area, AFPoint Center, nothing in focus
        ("NIKON", "E775", {"Exif.Nikon1.AFFocusPos": "0 0 0 0"}, Declared(af_point=(0.5, 0.5))),
        # Nikon ShootingMode bits: continuous + exposure bracketing; with bit 6 it is white balance bracketing
        ("NIKON CORPORATION", "NIKON D850", {"Exif.Nikon3.ShootingMode": "17"}, Declared(drive="continuous", bracket="exposure")),
        ("NIKON CORPORATION", "NIKON D850", {"Exif.Nikon3.ShootingMode": "81"}, Declared(drive="continuous")),
        # ExposureBracketValue: this frame's offset in a bracket (0/6 on NikonD2Hs.jpg: none)
        ("NIKON CORPORATION", "NIKON D850", {"Exif.Nikon3.ExposureBracketComp": "-4/6"}, Declared(bracket="exposure")),
        ("NIKON CORPORATION", "NIKON D2Hs", {"Exif.Nikon3.ExposureBracketComp": "0/6"}, Declared()),
        # OlympusE1.jpg: SpecialMode "Fast, Sequence: 2" (exiftool's DriveMode: Continuous Shooting, Shot 2)
        ("OLYMPUS CORPORATION", "E-1", {"Exif.Olympus.SpecialMode": "2 2 0"}, Declared(drive="continuous", sequence=2)),
        # Olympus.jpg: SpecialMode "Normal, Sequence: 0"
        ("OLYMPUS OPTICAL CO.,LTD", "C2000Z", {"Exif.Olympus.SpecialMode": "0 0 0"}, Declared(drive="single")),
        # SpecialMode 3 is the panorama assist mode: frame 3 of a sweep to be stitched
        ("OLYMPUS IMAGING CORP.", "SP-350", {"Exif.Olympus.SpecialMode": "3 3 1"}, Declared(drive="panorama", sequence=3)),
        # Olympus DriveMode 5 with mode bit 6: focus bracketing, shot 4
        ("OM Digital Solutions", "OM-1", {"Exif.OlympusCs.DriveMode": "5 4 64 0 0"}, Declared(sequence=4, bracket="focus")),
        # Panasonic.rw2: BurstMode Off, SequenceNumber 0, AFPointPosition 0.5 0.5
        ("Panasonic", "DMC-LX3", {"Exif.Panasonic.BurstMode": "0", "Exif.Panasonic.SequenceNumber": "0",
                                  "Exif.Panasonic.AFPointPosition": "128/256 128/256"},
         Declared(drive="single", af_point=(0.5, 0.5))),
        # Panasonic BurstMode 3 is focus bracketing; AFPointPosition 16777216 means none
        ("Panasonic", "DC-G9", {"Exif.Panasonic.BurstMode": "3", "Exif.Panasonic.SequenceNumber": "7",
                                "Exif.Panasonic.AFPointPosition": "16777216/1 16777216/1"},
         Declared(sequence=7, bracket="focus")),
        # Pentax.jpg: DriveMode Single-frame, AutoBracketing 0 EV (off)
        ("PENTAX Corporation", "PENTAX K10D", {"Exif.Pentax.DriveMode": "0 0 0 0", "Exif.Pentax.AutoBracketing": "0 0"},
         Declared(drive="single")),
        ("PENTAX", "PENTAX K-3", {"Exif.Pentax.DriveMode": "1 0 0 0", "Exif.Pentax.AutoBracketing": "3 0"},
         Declared(drive="continuous", bracket="exposure", bracket_step=1.0)),
        # Sony.jpg: no Sony makernote fields, but EXIF's own ExposureMode is 2, "Auto bracket"
        ("SONY", "DSC-F828", {"Exif.Photo.ExposureMode": "2"}, Declared(bracket="exposure")),
        # Sony ReleaseMode 2 (continuous), SequenceNumber 3, FocusLocation width height x y
        ("SONY", "ILCE-7M3", {"Exif.Sony2.ReleaseMode": "2", "Exif.Sony2.SequenceNumber": "3",
                              "Exif.Sony2.FocusLocation": "6000 4000 1500 1000"},
         Declared(drive="continuous", sequence=3, af_point=(0.25, 0.25))),
        # Fujifilm DriveSetting (low byte 2: continuous high), SequenceNumber, FocusPoint in EXIF pixels
        ("FUJIFILM", "X-T4", {"Exif.Fujifilm.DriveSetting": "2", "Exif.Fujifilm.SequenceNumber": "5",
                              "Exif.Fujifilm.FocusPoint": "3120 1040", "Exif.Photo.PixelXDimension": "6240",
                              "Exif.Photo.PixelYDimension": "4160"},
         Declared(drive="continuous", sequence=5, af_point=(0.5, 0.25))),
        # FujiFilm.jpg: FocusMode Auto, AutoBracketing Off: nothing declared
        ("FUJIFILM", "FinePix2400Zoom", {"Exif.Fujifilm.Continuous": "0"}, Declared()),
        ("Apple", "iPhone 7", {"Exif.Apple.BurstUUID": "E4A1B2C3-0D5F-4F6A-9B7C-1234567890AB"},
         Declared(drive="continuous", group_id="E4A1B2C3-0D5F-4F6A-9B7C-1234567890AB")),
        ("Leica", "M11", {"Exif.CanonCs.DriveMode": "1"}, Declared()),  # another make's keys are never read
    ],
)
def test_declared_from_makernote_values(make: str, model: str, tags: dict[str, str], expected: Declared) -> None:
    assert declare(make, model, tags) == expected


def test_canon_selected_point_stands_in_only_for_autofocus() -> None:
    selected_only = {**CANON_1DMKIII_AF, "Exif.Canon.AFPointsInFocus": "0 0 0"}
    assert declare("Canon", "Canon EOS-1D Mark III", selected_only).af_point == (0.58, 0.6069)
    manual = {**selected_only, "Exif.CanonCs.FocusMode": "3"}
    assert declare("Canon", "Canon EOS-1D Mark III", manual).af_point is None


def test_values_burstd_would_misread_declare_nothing() -> None:
    assert declare("Canon", "Canon EOS R5", {"Exif.CanonCs.DriveMode": "garbage", "Exif.Canon.AFXPositions": "1 2",
                                             "Exif.Canon.AFYPositions": "1"}) == Declared()
    outside = {"Exif.Panasonic.AFPointPosition": "3/1 1/2"}  # not a fraction of the frame
    assert declare("Panasonic", "DC-S5", outside).af_point is None


def test_apple_makernote_reads_the_burst_uuid() -> None:
    """No real burst frame is at hand: the makernote is built as Apple lays it out (exiftool's Apple.pm),
    after the header of the real Apple.jpg's makernote."""
    uuid = b"E4A1B2C3-0D5F-4F6A-9B7C-1234567890AB\x00"
    head = b"Apple iOS\x00\x00\x01MM"
    entries = struct.pack(">H", 2) + struct.pack(">HHII", 0x0001, 9, 1, 14) + struct.pack(">HHII", 0x000B, 2, len(uuid), 44)
    note = head + entries + b"\x00\x00\x00\x00" + uuid
    assert apple_makernote(note) == {"Exif.Apple.BurstUUID": uuid[:-1].decode()}
    assert apple_makernote(note[:30]) == {}  # cut short: nothing, no exception
    assert apple_makernote(b"Nikon\x00\x02") == {}


def declared_of(path: Path) -> Declared:
    from burstd.analysis.makernotes import declare as interpret

    decoded = decode(path, read_kind(path) or "")
    return interpret(str(decoded.tags.get("make", "")), str(decoded.tags.get("model", "")), decoded.maker)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Canon.jpg", Declared(drive="continuous")),
        ("Canon1DmkIII.jpg", Declared(drive="continuous", af_point=(0.58, 0.6069))),
        ("NikonD2Hs.jpg", Declared(drive="single", af_point=(0.5, 0.5))),
        ("Nikon.jpg", Declared(af_point=(0.5, 0.5))),
        ("OlympusE1.jpg", Declared(drive="continuous", sequence=2)),
        ("Olympus.jpg", Declared(drive="single")),
        ("Panasonic.jpg", Declared(drive="single")),
        ("Pentax.jpg", Declared(drive="single")),
        ("Sony.jpg", Declared(bracket="exposure")),
        ("FujiFilm.jpg", Declared()),
        ("Apple.jpg", Declared()),  # an iPhone 7 frame shot alone: no BurstUUID in its makernote
    ],
)
def test_real_camera_jpegs(name: str, expected: Declared) -> None:
    assert declared_of(MAKERNOTES / name) == expected


def test_real_raw_and_compact() -> None:
    assert declared_of(DATA / "Panasonic.rw2") == Declared(drive="single", af_point=(0.5, 0.5))
    assert declared_of(DATA / "flower.jpg") == Declared(drive="single", af_point=(0.5, 0.5))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CanonRaw.cr2", Declared(drive="single", af_point=(0.5, 0.5))),  # AFInfo (tag 0x12): centre in focus
        ("Nikon.nef", Declared(drive="single", af_point=(0.5, 0.5))),  # ShootingMode Single-Frame, AFPoint Center
        ("DNG.dng", Declared()),  # its Canon makernote sits in DNGPrivateData, which exiv2 does not decode
    ],
)
def test_real_raw_makernotes(name: str, expected: Declared) -> None:
    """exiftool's CR2, NEF and DNG are stripped of their image data, so LibRaw cannot decode them; their
    metadata is whole, and a RAW's tags are read by `_raw_tags` before any pixel."""
    raw = SHARED / "makernotes" / name
    if not raw.exists():
        pytest.skip("../shared/photos is not here")
    from burstd.analysis.decode import _raw_tags

    tags, maker = _raw_tags(raw)
    assert declare(str(tags["make"]), str(tags["model"]), maker) == expected


def test_heif_keeps_what_the_camera_declared(tmp_path: Path) -> None:
    """pillow-heif hands HEIF's EXIF over differently; a real camera's EXIF block in a HEIC reads alike."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    pillow_heif.register_heif_opener()
    with Image.open(MAKERNOTES / "Canon1DmkIII.jpg") as im:
        im.convert("RGB").resize((64, 64)).save(tmp_path / "IMG_0001.HEIC", format="HEIF", exif=im.info["exif"])
    assert declared_of(tmp_path / "IMG_0001.HEIC") == Declared(drive="continuous", af_point=(0.58, 0.6069))


def test_apple_makernote_of_a_real_iphone_file_is_walked() -> None:
    from PIL import Image

    with Image.open(MAKERNOTES / "Apple.jpg") as im:
        note = im.getexif().get_ifd(0x8769)[0x927C]
    assert note.startswith(b"Apple iOS\x00") and apple_makernote(note) == {}


def exiftool(path: Path, *tags: str) -> dict[str, object]:
    """What exiftool prints for these tags of `path` (its own names, its own conversions)."""
    out = subprocess.run([str(EXIFTOOL), "-j", *tags, str(path)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]


@needs_exiftool
def test_readings_agree_with_exiftool() -> None:
    """The raw values behind the table above, as exiftool names them, on the real files."""
    canon = exiftool(MAKERNOTES / "Canon1DmkIII.jpg", "-Canon:ContinuousDrive", "-Canon:AFPointsInFocus")
    assert (canon["ContinuousDrive"], str(canon["AFPointsInFocus"])) == ("Continuous, High", "13")
    assert exiftool(MAKERNOTES / "OlympusE1.jpg", "-Olympus:DriveMode")["DriveMode"] == "Continuous Shooting, Shot 2"
    assert exiftool(MAKERNOTES / "Sony.jpg", "-ExifIFD:ExposureMode")["ExposureMode"] == "Auto bracket"
    panasonic = exiftool(DATA / "Panasonic.rw2", "-Panasonic:AFPointPosition", "-Panasonic:BurstMode")
    assert (panasonic["AFPointPosition"], panasonic["BurstMode"]) == ("0.5 0.5", "Off")
    assert exiftool(DATA / "flower.jpg", "-Canon:AFPointsInFocus")["AFPointsInFocus"] == "Center"


@pytest.mark.slow
def test_a_scan_caches_what_the_camera_declared(burstd, tmp_path: Path) -> None:
    from burstd.store import Store

    folder = tmp_path / "card"
    folder.mkdir()
    for name in ("OlympusE1.jpg", "Canon1DmkIII.jpg", "Sony.jpg"):
        shutil.copy(MAKERNOTES / name, folder / name)
    cache = tmp_path / "cache.sqlite3"
    burstd("scan", folder, "--dry-run", "--no-config", "--cache", cache, check=0)
    burstd("scan", folder, "--dry-run", "--no-config", "--cache", cache, check=0)  # the second run: from the cache
    files = sorted(folder.iterdir())
    with Store.open(cache) as store:
        hits = store.analyses.lookup([(f, f.stat().st_size, f.stat().st_mtime_ns) for f in files])
    declared = {f.name: hits[f].analysis.declared for f in files}
    assert declared == {
        "Canon1DmkIII.jpg": Declared(drive="continuous", af_point=(0.58, 0.6069)),
        "OlympusE1.jpg": Declared(drive="continuous", sequence=2),
        "Sony.jpg": Declared(bracket="exposure"),
    }
