"""The exiv2 adapter: one lock for every call into exiv2, whoever makes it; reads of real files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from burstd import exiv2
from burstd.analysis.analyse import analyse_file
from burstd.sidecar import xmp

PHOTOS = Path(__file__).parent / "data" / "photos"
SIDECARS = Path(__file__).parent / "data" / "sidecars"
# A real RAW that is not TIFF-based (its header is `IIU`), so its EXIF comes from exiv2, not Pillow.
RAW = PHOTOS / "Panasonic.rw2"


def test_raw_exif_reads_wait_for_the_one_exiv2_lock() -> None:
    """The daemon reads RAW EXIF in worker threads while its main thread checks sidecars: both go
    through exiv2's process-wide state, so the analysis must wait while anyone holds the lock."""
    mtime = RAW.stat().st_mtime_ns
    analyse_file(RAW, mtime)  # the first call loads libraries: time the second
    started = time.monotonic()
    kind, analysis, _ = analyse_file(RAW, mtime)
    alone = time.monotonic() - started
    assert kind == "raw" and analysis is not None and analysis.make == "Panasonic"
    done = threading.Event()

    def analyse() -> None:
        analyse_file(RAW, mtime)
        done.set()

    worker = threading.Thread(target=analyse, daemon=True)
    with exiv2.LOCK:
        worker.start()
        # Many times what the whole analysis takes alone: without the shared lock it would be done.
        assert not done.wait(max(2.0, 20 * alone)), "the RAW's EXIF was read by exiv2 while its lock was held"
    worker.join(60)
    assert done.is_set()


def test_read_exif_of_a_real_raw_file_and_of_its_bytes() -> None:
    from_file = exiv2.read_exif(RAW)
    assert from_file["Exif.Image.Make"] == "Panasonic"
    assert exiv2.read_exif(RAW.read_bytes())["Exif.Image.Model"] == from_file["Exif.Image.Model"]


def test_read_exif_of_no_image_says_why_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dng"
    junk.write_bytes(b"not an image at all\n" * 10)
    try:
        exiv2.read_exif(junk)
    except exiv2.Exiv2Error as err:
        assert str(err) and "\n" not in str(err)
    else:
        raise AssertionError("exiv2 read EXIF from junk")


def test_read_xmp_names_keys_by_burstds_prefixes_whatever_a_sidecar_spelt() -> None:
    # exiv2 keeps the first prefix it saw for a namespace, process-wide: `dt:` for darktable's here.
    odd = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dt="http://darktable.sf.net/" dt:colorlabels="x"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    exiv2.read_xmp(odd)
    seen = exiv2.read_xmp((SIDECARS / "IMG_0001.CR2.xmp").read_bytes())
    assert not any(key.startswith("Xmp.dt.") for key in seen)
    assert any(key.startswith("Xmp.darktable.") for key in seen)
    assert xmp.RATING in seen


def test_read_xmp_of_junk_raises(tmp_path: Path) -> None:
    try:
        exiv2.read_xmp(b"\n  <x:xmpmeta")
    except exiv2.Exiv2Error as err:
        assert "\n" not in str(err)
    else:
        raise AssertionError("exiv2 read junk as XMP")
