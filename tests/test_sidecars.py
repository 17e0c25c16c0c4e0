"""Writing real sidecars in tmp_path and reading them back with exiftool.

The sidecars in tests/data/sidecars are copies of what darktable, Lightroom, exiftool and digiKam
write; every update must leave all their properties, prefixes and wrappers as they were.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from burstd import fsio
from burstd.errors import SidecarError
from burstd.models import SidecarAction, SidecarFields
from burstd.naming import darktable_sidecar
from burstd.sidecar import files as sidecars
from burstd.sidecar.files import read_sidecar, write_sidecar
from tests.helpers_exiftool import EXIFTOOL, exiftool_tags, needs_exiftool, without

DATA = Path(__file__).parent / "data" / "sidecars"
FIELDS = SidecarFields(rating=3, burst_id="b-20240518-164207", rank=1, burst_size=4, sharpness=0.98765)
OWNED_TAGS = ("XMP-xmp:Rating", "XMP-burstd:")  # what burstd may change, as exiftool names them

pytestmark = needs_exiftool


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def place(tmp_path: Path, sample: str, image_name: str = "IMG_0001.CR2", mode: int = 0o644) -> Path:
    """Put a copy of a sample sidecar beside a (never opened) image; returns the image."""
    image = tmp_path / image_name
    image.write_bytes(b"not really a raw file")
    target = darktable_sidecar(image)
    shutil.copyfile(DATA / sample, target)
    target.chmod(mode)
    return image


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".burstd-" in p.name or p.name.endswith(".tmp"))


def burstd_tags(path: Path) -> dict[str, object]:
    tags = exiftool_tags(path)
    return {k: v for k, v in tags.items() if k.startswith(OWNED_TAGS)}


def expected_tags(fields: SidecarFields) -> dict[str, object]:
    return {
        "XMP-xmp:Rating": fields.rating,
        "XMP-burstd:Rating": fields.rating,
        "XMP-burstd:BurstId": fields.burst_id,
        "XMP-burstd:Rank": fields.rank,
        "XMP-burstd:BurstSize": fields.burst_size,
        "XMP-burstd:Sharpness": round(fields.sharpness, 4),
    }


def prefixes(text: str) -> set[str]:
    return set(re.findall(r"xmlns:([\w.-]+)=", text))


def test_darktable_sidecar_is_full_name_plus_xmp() -> None:
    assert darktable_sidecar(Path("/p/IMG_0001.CR2")) == Path("/p/IMG_0001.CR2.xmp")
    assert darktable_sidecar(Path("a.b.jpg")) == Path("a.b.jpg.xmp")


# --- new sidecars -------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", [-1, 0, 3])
def test_new_sidecar(tmp_path: Path, rating: int) -> None:
    image = tmp_path / "IMG_0002.CR2"
    image.write_bytes(b"raw bytes")
    fields = SidecarFields(rating=rating, burst_id='b<1>&"2"', rank=2, burst_size=3, sharpness=0.25)

    outcome = write_sidecar(darktable_sidecar(image), fields).outcome

    path = tmp_path / "IMG_0002.CR2.xmp"
    assert (outcome.path, outcome.action, outcome.reason) == (path, SidecarAction.CREATED, "")
    assert burstd_tags(path) == expected_tags(fields)  # rating 0 and -1 are written explicitly
    assert path.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta')
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask()
    assert image.read_bytes() == b"raw bytes"
    assert leftovers(tmp_path) == []


def test_new_sidecar_is_read_back_the_same(tmp_path: Path) -> None:
    write_sidecar(darktable_sidecar(tmp_path / "a.jpg"), FIELDS)
    state = read_sidecar(tmp_path / "a.jpg.xmp")
    assert state is not None and (state.rating, state.burstd_rating) == (3, 3)
    assert read_sidecar(tmp_path / "missing.jpg.xmp") is None


def test_sidecar_appearing_while_creating_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = (DATA / "IMG_5910.xmp").read_bytes()
    monkeypatch.setattr(sidecars, "_before_replace", lambda path: path.write_bytes(theirs))

    outcome = write_sidecar(darktable_sidecar(tmp_path / "a.jpg"), FIELDS).outcome

    assert (outcome.action, outcome.reason) == (SidecarAction.FAILED, sidecars.APPEARED)
    assert (tmp_path / "a.jpg.xmp").read_bytes() == theirs
    assert leftovers(tmp_path) == []


# --- updating other programs' sidecars ----------------------------------------------------------


def test_update_keeps_every_darktable_property(tmp_path: Path) -> None:
    image = place(tmp_path, "IMG_0001.CR2.xmp", mode=0o640)
    path = darktable_sidecar(image)
    before_text, before_tags = path.read_text(), exiftool_tags(path)

    # darktable's default 1 star counts as manual
    outcome = write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome

    assert (outcome.action, outcome.previous_rating) == (SidecarAction.UPDATED, 1)
    after_text, after_tags = path.read_text(), exiftool_tags(path)
    assert without(after_tags, *OWNED_TAGS) == without(before_tags, *OWNED_TAGS)
    assert burstd_tags(path) == expected_tags(FIELDS)
    assert len(after_tags["XMP-darktable:History"]) == 13
    assert len(after_tags["XMP-darktable:Masks_history"]) == 2
    # The raw text: history and masks byte for byte, no prefix renamed, no wrapper added.
    for block in ("darktable:history", "darktable:masks_history"):
        assert _element(after_text, block) == _element(before_text, block)
    assert prefixes(after_text) == prefixes(before_text) | {"burstd"}
    assert not re.search(r"\bns\d+:", after_text)
    assert after_text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta')
    assert "<?xpacket" not in after_text
    assert after_text.count("xmp:Rating") == 1
    assert path.stat().st_mode & 0o777 == 0o640
    assert image.read_bytes() == b"not really a raw file"
    assert leftovers(tmp_path) == []


def _element(text: str, name: str) -> str:
    match = re.search(rf"<{name}>.*?</{name}>", text, re.S)
    assert match is not None, name
    return match.group(0)


def test_update_keeps_lightroom_sidecar_and_its_xpacket(tmp_path: Path) -> None:
    image = place(tmp_path, "IMG_5910.xmp", image_name="IMG_5910.jpg")
    path = darktable_sidecar(image)
    before_bytes, before_tags = path.read_bytes(), exiftool_tags(path)

    outcome = write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome

    assert (outcome.action, outcome.previous_rating) == (SidecarAction.UPDATED, 3)
    after_bytes = path.read_bytes()
    assert without(exiftool_tags(path), *OWNED_TAGS) == without(before_tags, *OWNED_TAGS)
    assert burstd_tags(path) == expected_tags(FIELDS)
    assert after_bytes.startswith(before_bytes[:60])  # <?xpacket begin=... and the toolkit line
    assert after_bytes.endswith(before_bytes[-2000:])  # the padding and <?xpacket end="w"?>
    assert after_bytes.count(b"xmp:Rating") == 1
    assert prefixes(after_bytes.decode()) == prefixes(before_bytes.decode()) | {"burstd"}


def test_rating_element_is_updated_not_duplicated(tmp_path: Path) -> None:
    image = place(tmp_path, "exiftool_rating_element.xmp", image_name="a.jpg")
    path = darktable_sidecar(image)
    before_tags = exiftool_tags(path)

    outcome = write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome

    assert outcome.action is SidecarAction.UPDATED
    text = path.read_text()
    assert "<xmp:Rating>3</xmp:Rating>" in text
    assert text.count("xmp:Rating") == 2  # its start and end tags, nothing else
    assert without(exiftool_tags(path), *OWNED_TAGS) == without(before_tags, *OWNED_TAGS)
    assert burstd_tags(path) == expected_tags(FIELDS)


def test_sidecar_without_rating_or_xpacket_gets_burstd_rating(tmp_path: Path) -> None:
    image = place(tmp_path, "digikam_no_xpacket.xmp", image_name="a.jpg")
    path = darktable_sidecar(image)
    before_bytes, before_tags = path.read_bytes(), exiftool_tags(path)

    outcome = write_sidecar(darktable_sidecar(image), FIELDS).outcome  # no xmp:Rating at all: nothing manual to protect

    assert (outcome.action, outcome.previous_rating) == (SidecarAction.UPDATED, None)
    after = path.read_bytes()
    assert without(exiftool_tags(path), *OWNED_TAGS) == without(before_tags, *OWNED_TAGS)
    assert burstd_tags(path) == expected_tags(FIELDS)
    assert b"<?xpacket" not in after
    assert after.replace(b"\n", b"").startswith(before_bytes.split(b" digiKam:PickLabel='2'")[0].replace(b"\n", b""))


def test_prefixes_seen_in_one_sidecar_never_leak_into_another(tmp_path: Path) -> None:
    # exiv2 remembers the first prefix it sees for a namespace, process-wide; burstd must not care.
    odd = tmp_path / "odd.jpg.xmp"
    odd.write_text(
        '<?xml version="1.0"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
        '1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dt="http://darktable.sf.net/" '
        'xmlns:darktable="http://example.com/not-darktable/" dt:xmp_version="5" darktable:x="1"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    assert write_sidecar(darktable_sidecar(tmp_path / "odd.jpg"), FIELDS).outcome.action is SidecarAction.UPDATED
    image = place(tmp_path, "IMG_0001.CR2.xmp")

    assert write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome.action is SidecarAction.UPDATED

    text = darktable_sidecar(image).read_text()
    assert "dt:" not in text and text.count("darktable:operation=") == 13


# --- when burstd leaves a sidecar alone ---------------------------------------------------------


def test_manual_rating_is_kept(tmp_path: Path) -> None:
    image = place(tmp_path, "IMG_5910.xmp", image_name="IMG_5910.jpg")
    path = darktable_sidecar(image)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns

    outcome = write_sidecar(darktable_sidecar(image), FIELDS).outcome

    assert (outcome.action, outcome.previous_rating) == (SidecarAction.KEPT_MANUAL, 3)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, mtime)


def test_rating_changed_by_the_photographer_is_kept_unless_forced(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    path = darktable_sidecar(image)
    assert write_sidecar(darktable_sidecar(image), FIELDS).outcome.action is SidecarAction.CREATED
    # Another tool (exiftool here) changes the rating and rewrites the whole packet its own way.
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(path)], check=True)
    assert burstd_tags(path)["XMP-burstd:Rating"] == 3
    before = path.read_bytes()

    kept = write_sidecar(darktable_sidecar(image), FIELDS).outcome
    assert (kept.action, kept.previous_rating) == (SidecarAction.KEPT_MANUAL, 5)
    assert path.read_bytes() == before

    forced = write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome
    assert (forced.action, forced.previous_rating) == (SidecarAction.UPDATED, 5)
    assert burstd_tags(path) == expected_tags(FIELDS)
    assert path.read_text().count("xmp:Rating") in (1, 2)  # one attribute or one element


def test_second_write_changes_nothing(tmp_path: Path) -> None:
    image = place(tmp_path, "digikam_no_xpacket.xmp", image_name="a.jpg")
    path = darktable_sidecar(image)
    assert write_sidecar(darktable_sidecar(image), FIELDS).outcome.action is SidecarAction.UPDATED
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns

    outcome = write_sidecar(darktable_sidecar(image), FIELDS).outcome

    assert (outcome.action, outcome.previous_rating) == (SidecarAction.UNCHANGED, 3)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, mtime)


def test_new_values_replace_burstds_old_ones(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    write_sidecar(darktable_sidecar(image), FIELDS).outcome
    later = SidecarFields(rating=-1, burst_id=FIELDS.burst_id, rank=4, burst_size=4, sharpness=0.1)

    outcome = write_sidecar(darktable_sidecar(image), later).outcome

    assert (outcome.action, outcome.previous_rating) == (SidecarAction.UPDATED, 3)
    assert burstd_tags(darktable_sidecar(image)) == expected_tags(later)


def test_exclude_skips_existing_sidecars_only(tmp_path: Path) -> None:
    image = place(tmp_path, "digikam_no_xpacket.xmp", image_name="a.jpg")
    before = darktable_sidecar(image).read_bytes()

    assert write_sidecar(darktable_sidecar(image), FIELDS, exclude=True).outcome.action is SidecarAction.EXCLUDED
    assert darktable_sidecar(image).read_bytes() == before
    assert write_sidecar(darktable_sidecar(tmp_path / "b.jpg"), FIELDS, exclude=True).outcome.action is SidecarAction.CREATED


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    image = place(tmp_path, "digikam_no_xpacket.xmp", image_name="a.jpg")
    before = darktable_sidecar(image).read_bytes()

    assert write_sidecar(darktable_sidecar(image), FIELDS, dry_run=True).outcome.action is SidecarAction.PLANNED
    assert write_sidecar(darktable_sidecar(tmp_path / "b.jpg"), FIELDS, dry_run=True).outcome.action is SidecarAction.PLANNED
    manual = place(tmp_path, "IMG_5910.xmp", image_name="c.jpg")
    assert write_sidecar(darktable_sidecar(manual), FIELDS, dry_run=True).outcome.action is SidecarAction.KEPT_MANUAL

    assert darktable_sidecar(image).read_bytes() == before
    assert not (tmp_path / "b.jpg.xmp").exists()
    assert leftovers(tmp_path) == []


# --- sidecars burstd cannot use ------------------------------------------------------------------

DARKTABLE = (DATA / "IMG_0001.CR2.xmp").read_bytes()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (DARKTABLE[: len(DARKTABLE) // 2], "is truncated (the XML stops at line"),
        (b"Rating=3\nlabel=red\n", "is not XML"),
        (b"\x00\x01\x02\xff" * 10, "is not UTF-8 text"),
        (b'<?xml version="1.0"?>\n<gpx version="1.1"><trk/></gpx>\n', "is XML but not XMP (its root element is <gpx>)"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF></x:xmpmeta>", "is not well-formed XML (mismatched tag"),
        (b"\n  " + DARKTABLE.split(b"\n", 1)[1], "exiv2 (which darktable uses) cannot read it"),
    ],
)
@pytest.mark.parametrize("force", [False, True])
def test_malformed_sidecar_fails_and_is_left_alone(tmp_path: Path, content: bytes, reason: str, force: bool) -> None:
    image = tmp_path / "IMG_0001.CR2"
    path = darktable_sidecar(image)
    path.write_bytes(content)

    outcome = write_sidecar(darktable_sidecar(image), FIELDS, force=force).outcome

    assert outcome.action is SidecarAction.FAILED
    assert outcome.reason.startswith(reason), outcome.reason
    assert "\n" not in outcome.reason
    assert path.read_bytes() == content
    assert leftovers(tmp_path) == []
    with pytest.raises(SidecarError) as caught:
        read_sidecar(path)
    assert caught.value.path == path and caught.value.reason == outcome.reason


def test_symlinked_sidecar_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.xmp"
    target.write_bytes((DATA / "digikam_no_xpacket.xmp").read_bytes())
    before = target.read_bytes()
    (tmp_path / "a.jpg.xmp").symlink_to(target)

    outcome = write_sidecar(darktable_sidecar(tmp_path / "a.jpg"), FIELDS, force=True).outcome

    assert (outcome.action, outcome.reason) == (SidecarAction.FAILED, sidecars.SYMLINK)
    assert target.read_bytes() == before and (tmp_path / "a.jpg.xmp").is_symlink()
    assert write_sidecar(darktable_sidecar(tmp_path / "a.jpg"), FIELDS, exclude=True).outcome.action is SidecarAction.EXCLUDED


def test_sidecar_that_is_a_folder_fails(tmp_path: Path) -> None:
    (tmp_path / "a.jpg.xmp").mkdir()
    outcome = write_sidecar(darktable_sidecar(tmp_path / "a.jpg"), FIELDS).outcome
    assert (outcome.action, outcome.reason) == (SidecarAction.FAILED, "is not a regular file")


def test_read_only_sidecar_is_not_replaced(tmp_path: Path) -> None:
    image = place(tmp_path, "digikam_no_xpacket.xmp", image_name="a.jpg", mode=0o444)
    before = darktable_sidecar(image).read_bytes()

    for dry_run in (True, False):
        outcome = write_sidecar(darktable_sidecar(image), FIELDS, dry_run=dry_run).outcome
        assert (outcome.action, outcome.reason) == (SidecarAction.FAILED, "sidecar is read-only")

    assert darktable_sidecar(image).read_bytes() == before
    assert darktable_sidecar(image).stat().st_mode & 0o777 == 0o444
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_original_mode_is_kept(tmp_path: Path, mode: int) -> None:
    image = place(tmp_path, "digikam_no_xpacket.xmp", image_name="a.jpg", mode=mode)
    assert write_sidecar(darktable_sidecar(image), FIELDS).outcome.action is SidecarAction.UPDATED
    assert darktable_sidecar(image).stat().st_mode & 0o777 == mode


_AS_NOBODY = """
import json, os, sys
from pathlib import Path
from burstd.sidecar.files import write_sidecar  # everything imported before dropping privileges
from burstd.models import SidecarFields
from burstd.naming import darktable_sidecar
os.setgid(65534); os.setuid(65534)
o = write_sidecar(darktable_sidecar(Path(sys.argv[1])), SidecarFields(rating=3, burst_id="b", rank=1, burst_size=1, sharpness=1.0)).outcome
print(json.dumps([o.action, o.reason]))
"""


def test_unreadable_sidecar_fails(tmp_path: Path) -> None:
    # root reads everything, so as root the check runs in a child that has dropped to `nobody`.
    folder = Path(tempfile.mkdtemp(prefix="burstd-unreadable-"))
    try:
        folder.chmod(0o777)
        image = place(folder, "digikam_no_xpacket.xmp", image_name="a.jpg", mode=0o000)
        before = (DATA / "digikam_no_xpacket.xmp").read_bytes()
        if os.geteuid() == 0:
            child = subprocess.run([sys.executable, "-c", _AS_NOBODY, str(image)], capture_output=True, text=True)
            if child.returncode != 0:
                pytest.skip(f"cannot drop to nobody: {child.stderr.strip()[-200:]}")
            action, reason = json.loads(child.stdout)
        else:
            outcome = write_sidecar(darktable_sidecar(image), FIELDS).outcome
            action, reason = outcome.action, outcome.reason
        assert (action, reason) == (SidecarAction.FAILED, "cannot be read: permission denied")
        darktable_sidecar(image).chmod(0o644)
        assert darktable_sidecar(image).read_bytes() == before
        assert leftovers(folder) == []
    finally:
        shutil.rmtree(folder)


def test_sidecar_changed_while_writing_is_left_to_the_other_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = place(tmp_path, "IMG_0001.CR2.xmp", mode=0o640)
    path = darktable_sidecar(image)
    theirs = path.read_bytes().replace(b'darktable:history_end="13"', b'darktable:history_end="12"')
    monkeypatch.setattr(sidecars, "_before_replace", lambda p: p.write_bytes(theirs))

    outcome = write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome

    assert (outcome.action, outcome.reason) == (SidecarAction.FAILED, sidecars.CHANGED)
    assert path.read_bytes() == theirs
    assert leftovers(tmp_path) == []


def test_same_size_same_mtime_change_is_still_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = place(tmp_path, "IMG_0001.CR2.xmp")
    path = darktable_sidecar(image)
    st = path.stat()
    theirs = path.read_bytes().replace(b'darktable:history_end="13"', b'darktable:history_end="12"')

    def sneaky(p: Path) -> None:  # a change that keeps size and mtime: only the hash catches it
        p.write_bytes(theirs)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))

    monkeypatch.setattr(sidecars, "_before_replace", sneaky)
    outcome = write_sidecar(darktable_sidecar(image), FIELDS, force=True).outcome
    assert (outcome.action, outcome.reason) == (SidecarAction.FAILED, sidecars.CHANGED)
    assert path.read_bytes() == theirs


def test_temp_names_are_recognisable() -> None:
    assert fsio.is_temp_file(Path(".IMG_0001.CR2.xmp.burstd-a1b2c3.tmp"))
    assert not fsio.is_temp_file(Path("IMG_0001.CR2.xmp"))
