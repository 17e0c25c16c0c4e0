"""Keywords and labels: what burstd adds to the photographer's own, and takes back only when it is its own.

Pure planning first, then the byte surgery on the real sample sidecars (darktable, Lightroom, exiftool,
digiKam), read back with exiftool.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from burstd.sidecar import xmp

from burstd.sidecar import packet as xmp_packet
from burstd.models import Analysis, Burst, RatedBurst, RatedShot, ScanSettings, SidecarAction, SidecarFields, Shot, TimeSource
from burstd.naming import darktable_sidecar
from burstd.sidecar.files import read_sidecar, write_sidecar
from burstd.tagging import PICK_TAG, burst_keyword, sidecar_fields
from burstd.sidecar.xmp import ArrayEdit, PlanAction, SidecarState
from tests.helpers_exiftool import exiftool_tags, needs_exiftool, without

SAMPLES = Path(__file__).parent / "data" / "sidecars"
BURST = "burstd|burst|2026-11-24 IMG_0042-1a2b3c4d"
TAGGED = SidecarFields(3, "IMG_0042-1a2b3c4d", 1, 5, 1.0, (BURST, PICK_TAG), 2, 3)
PLAIN = SidecarFields(3, "IMG_0042-1a2b3c4d", 1, 5, 1.0)
# What burstd may change, as exiftool names it; keywords are compared entry by entry.
OWNED_TAGS = ("XMP-xmp:Rating", "XMP-burstd:", "XMP-dc:Subject", "XMP-lr:HierarchicalSubject",
              "XMP-darktable:Colorlabels", "XMP-digiKam:PickLabel")


def state_of(**arrays: tuple[str, ...]) -> SidecarState:
    keys = {"subject": xmp.SUBJECT, "hierarchical": xmp.HIERARCHICAL_SUBJECT, "labels": xmp.COLOR_LABELS}
    return SidecarState(None, None, {}, {keys[k]: v for k, v in arrays.items()})


def listed(value: object) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


# --- planning (pure) -------------------------------------------------------------------------


def test_a_new_sidecar_gets_both_keyword_properties_and_the_labels() -> None:
    plan = xmp.plan_sidecar(None, TAGGED, force=False)
    assert plan.action is PlanAction.CREATE
    assert plan.arrays[xmp.HIERARCHICAL_SUBJECT] == ArrayEdit((), (BURST, PICK_TAG))
    assert plan.arrays[xmp.SUBJECT] == ArrayEdit((), ("burstd", "burst", "2026-11-24 IMG_0042-1a2b3c4d", "pick"))
    assert plan.arrays[xmp.COLOR_LABELS] == ArrayEdit((), ("2",))
    assert plan.updates[xmp.PICK_LABEL] == "3" and plan.updates[xmp.BURSTD_PICK_LABEL] == "3"


def test_flat_keywords_are_carried_into_a_new_hierarchical_list() -> None:
    # darktable reads only lr:hierarchicalSubject once it exists: the photographer's flat keywords go there too.
    plan = xmp.plan_sidecar(state_of(subject=("heron", "marsh")), TAGGED, force=False)
    assert plan.arrays[xmp.HIERARCHICAL_SUBJECT].add == ("heron", "marsh", BURST, PICK_TAG)


def test_a_keyword_the_photographer_had_is_neither_added_twice_nor_ever_taken_away() -> None:
    mine = state_of(subject=("pick", "heron"), hierarchical=("pick", "heron"))
    plan = xmp.plan_sidecar(mine, TAGGED, force=False)
    assert "pick" not in plan.arrays[xmp.SUBJECT].add
    assert "pick" not in plan.updates[xmp.BURSTD_SUBJECTS].split(";")  # not listed as burstd's
    after = apply_plan(mine, plan)
    dropped = xmp.plan_sidecar(after, PLAIN, force=False)  # keywords switched off
    assert set(dropped.arrays[xmp.SUBJECT].remove) == {"burstd", "burst", "2026-11-24 IMG_0042-1a2b3c4d"}
    assert dropped.arrays[xmp.HIERARCHICAL_SUBJECT].remove == (BURST, PICK_TAG)
    assert xmp.BURSTD_SUBJECTS in dropped.removals


def test_a_frame_that_stops_being_the_pick_loses_only_the_pick_keyword() -> None:
    after = apply_plan(state_of(), xmp.plan_sidecar(None, TAGGED, force=False))
    second = SidecarFields(2, TAGGED.burst_id, 2, 5, 0.5, (BURST,), None, None)
    plan = xmp.plan_sidecar(after, second, force=False)
    assert plan.arrays[xmp.HIERARCHICAL_SUBJECT] == ArrayEdit((PICK_TAG,), ())
    assert plan.arrays[xmp.SUBJECT] == ArrayEdit(("pick",), ())
    assert plan.arrays[xmp.COLOR_LABELS] == ArrayEdit(("2",), ())
    assert {xmp.PICK_LABEL, xmp.BURSTD_PICK_LABEL, xmp.BURSTD_COLOR_LABELS} <= set(plan.removals)


def test_a_pick_label_set_in_digikam_is_kept() -> None:
    theirs = SidecarState(None, None, {xmp.PICK_LABEL: "2"})
    plan = xmp.plan_sidecar(theirs, TAGGED, force=False)
    assert xmp.PICK_LABEL not in plan.updates and xmp.PICK_LABEL not in plan.removals
    # ... and once burstd's is there, a change in digiKam makes it theirs.
    ours = apply_plan(SidecarState(None, None), xmp.plan_sidecar(None, TAGGED, force=False))
    changed = SidecarState(ours.rating, ours.burstd_rating, {**ours.values, xmp.PICK_LABEL: "1"}, ours.arrays)
    plan = xmp.plan_sidecar(changed, PLAIN, force=False)
    assert xmp.PICK_LABEL not in plan.removals and xmp.BURSTD_PICK_LABEL in plan.removals


def test_a_colour_label_the_photographer_set_stays() -> None:
    plan = xmp.plan_sidecar(state_of(labels=("2", "4")), TAGGED, force=False)
    assert xmp.COLOR_LABELS not in plan.arrays  # green was there already: nothing added, nothing recorded
    assert xmp.BURSTD_COLOR_LABELS not in plan.updates


@pytest.mark.parametrize("tag", ["burstd|burst|a,b", "other|x", "burstd||x", "burstd|a;b", "burstd|a\x01"])
def test_keywords_burstd_could_not_write_faithfully_are_refused(tag: str) -> None:
    with pytest.raises(ValueError):
        xmp.owned_values(SidecarFields(3, "b", 1, 1, 1.0, (tag,)))


def test_keywords_follow_the_burst_and_its_pick() -> None:
    moment = datetime(2026, 11, 24, 23, 59, 0, tzinfo=timezone.utc).timestamp()
    shots = tuple(Shot(Path(f"/c/IMG_{n}.JPG"), Analysis(1, 1, moment + n, TimeSource.EXIF)) for n in (1, 2, 3))
    burst = Burst("IMG_1-0a1b2c3d", shots)
    assert burst_keyword(burst) == "burstd|burst|2026-11-24 IMG_1-0a1b2c3d"
    rated = RatedBurst(burst, (RatedShot(shots[0], 1, 1.0, 3), RatedShot(shots[1], 2, 0.5, 2), RatedShot(shots[2], 3, 0.1, -1)))
    settings = ScanSettings(pick_label="green", digikam_pick_labels=True)
    pick, middle, reject = (sidecar_fields(rated, m, settings) for m in rated.members)
    assert (pick.tags, pick.color_label, pick.pick_label) == ((burst_keyword(burst), PICK_TAG), 2, 3)
    assert (middle.tags, middle.color_label, middle.pick_label) == ((burst_keyword(burst),), None, None)
    assert (reject.tags, reject.color_label, reject.pick_label) == ((burst_keyword(burst),), None, 1)
    single = RatedBurst(Burst("IMG_9-00000000", shots[:1]), (RatedShot(shots[0], 1, 1.0, 3),))
    alone = sidecar_fields(single, single.members[0], settings)
    assert (alone.tags, alone.color_label, alone.pick_label) == ((), None, None)  # not a burst: no keyword
    assert sidecar_fields(rated, rated.members[0], ScanSettings(tags=False)).tags == ()


def test_a_burst_without_an_exif_time_is_undated_not_dated_the_copy_day() -> None:
    copied = datetime(2026, 11, 24, 9, 0, 0, tzinfo=timezone.utc).timestamp()  # the files' mtimes
    shots = tuple(Shot(Path(f"/c/step{n}.jpg"), Analysis(1, 1, copied + n / 100, TimeSource.MTIME)) for n in range(3))
    keyword = burst_keyword(Burst("step0-0a1b2c3d", shots))
    assert keyword == "burstd|burst|undated step0-0a1b2c3d"
    xmp.owned_values(SidecarFields(3, "step0-0a1b2c3d", 1, 3, 1.0, (keyword,)))  # one it can write faithfully
    # One frame with an EXIF time dates the burst, even when it is not the first.
    taken = datetime(2019, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    mixed = (shots[0], Shot(Path("/c/step9.jpg"), Analysis(1, 1, taken, TimeSource.EXIF)))
    assert burst_keyword(Burst("step0-0a1b2c3d", mixed)) == "burstd|burst|2019-05-01 step0-0a1b2c3d"


def apply_plan(state: SidecarState, plan: xmp.Plan) -> SidecarState:
    """The state after `plan`, computed through the real packet editor."""
    data = _packet_for(state)
    return xmp_packet.read_packet(xmp_packet.update_packet(data, plan.updates, plan.removals, plan.arrays))


def _packet_for(state: SidecarState) -> bytes:
    """A packet holding `state`'s values and arrays (built with the editor itself from a blank packet)."""
    arrays = {key: ArrayEdit((), items) for key, items in state.arrays.items()}
    return xmp_packet.update_packet(xmp.BLANK_PACKET.encode(), dict(state.values), (), arrays)


# --- the real sample sidecars, read back with exiftool -----------------------------------------

SAMPLE_NAMES = ["IMG_0001.CR2.xmp", "IMG_5910.xmp", "exiftool_rating_element.xmp", "digikam_no_xpacket.xmp"]


@needs_exiftool
@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_keywords_and_labels_merge_into_real_sidecars_and_come_out_again(sample: str, tmp_path: Path) -> None:
    image = tmp_path / "IMG_0042.CR2"
    image.write_bytes(b"never opened")
    sidecar = tmp_path / "IMG_0042.CR2.xmp"
    shutil.copyfile(SAMPLES / sample, sidecar)
    before = exiftool_tags(sidecar)

    # 1. No keywords or labels: only the rating and burstd's own fields. These bytes are the reference.
    assert write_sidecar(darktable_sidecar(image), PLAIN, force=True).outcome.action is SidecarAction.UPDATED
    reference = sidecar.read_bytes()

    # 2. Keywords and labels added: exiftool reads every one, and everything else as it was.
    assert write_sidecar(darktable_sidecar(image), TAGGED, force=True).outcome.action is SidecarAction.UPDATED
    tags = exiftool_tags(sidecar)
    hierarchical, subject = listed(tags.get("XMP-lr:HierarchicalSubject")), listed(tags.get("XMP-dc:Subject"))
    old_subject = listed(before.get("XMP-dc:Subject"))
    old_hierarchical = listed(before.get("XMP-lr:HierarchicalSubject")) or old_subject
    assert hierarchical == old_hierarchical + [BURST, PICK_TAG]
    assert subject == old_subject + [k for k in ("burstd", "burst", "2026-11-24 IMG_0042-1a2b3c4d", "pick") if k not in old_subject]
    assert listed(tags.get("XMP-darktable:Colorlabels")) == listed(before.get("XMP-darktable:Colorlabels")) + ["2"]
    if "XMP-digiKam:PickLabel" in before:  # digiKam's own pick label is the photographer's
        assert tags["XMP-digiKam:PickLabel"] == before["XMP-digiKam:PickLabel"]
    else:
        assert tags["XMP-digiKam:PickLabel"] == 3
    assert tags["XMP-xmp:Rating"] == 3
    assert without(tags, *OWNED_TAGS) == without(before, *OWNED_TAGS)
    assert sidecar.read_bytes().count(b"Rating") == reference.count(b"Rating")
    assert write_sidecar(darktable_sidecar(image), TAGGED).outcome.action is SidecarAction.UNCHANGED  # a second merge writes nothing

    # 3. Switched off again: burstd takes back exactly what it added.
    assert write_sidecar(darktable_sidecar(image), PLAIN).outcome.action is SidecarAction.UPDATED
    if old_hierarchical == listed(before.get("XMP-lr:HierarchicalSubject")):  # nothing was carried over
        assert _without_new_declarations(sidecar.read_bytes(), reference) == reference  # byte for byte
    after = exiftool_tags(sidecar)
    assert listed(after.get("XMP-lr:HierarchicalSubject")) == old_hierarchical  # carried-over keywords stay
    assert listed(after.get("XMP-dc:Subject")) == old_subject
    assert read_sidecar(sidecar).arrays.get(xmp.COLOR_LABELS, ()) == tuple(listed(before.get("XMP-darktable:Colorlabels")))


def _without_new_declarations(now: bytes, reference: bytes) -> bytes:
    """`now` without the namespace declarations the tagged write added (they stay: unused, harmless)."""
    for match in re.finditer(rb"\s+xmlns:\w+=\"[^\"]*\"", now):
        if match.group().strip() not in reference:
            now = now.replace(match.group(), b"", 1)
    return now


@needs_exiftool
def test_a_tagged_new_sidecar_reads_the_same_in_exiftool_and_exiv2(tmp_path: Path) -> None:
    image = tmp_path / "IMG_0042.CR2"
    image.write_bytes(b"never opened")
    assert write_sidecar(darktable_sidecar(image), TAGGED).outcome.action is SidecarAction.CREATED
    tags = exiftool_tags(tmp_path / "IMG_0042.CR2.xmp")
    assert listed(tags["XMP-lr:HierarchicalSubject"]) == [BURST, PICK_TAG]
    assert listed(tags["XMP-dc:Subject"]) == ["burstd", "burst", "2026-11-24 IMG_0042-1a2b3c4d", "pick"]
    assert listed(tags["XMP-darktable:Colorlabels"]) == ["2"] and tags["XMP-digiKam:PickLabel"] == 3
    state = read_sidecar(tmp_path / "IMG_0042.CR2.xmp")  # burstd's parser, cross-checked with exiv2
    assert state.arrays[xmp.HIERARCHICAL_SUBJECT] == (BURST, PICK_TAG)


@pytest.mark.parametrize(
    "body",
    [
        '<dc:subject>heron</dc:subject>',  # a simple value where an array belongs
        '<dc:subject><rdf:Bag><rdf:li><rdf:Description/></rdf:li></rdf:Bag></dc:subject>',
    ],
)
def test_keyword_properties_burstd_cannot_edit_faithfully_are_refused_untouched(body: str, tmp_path: Path) -> None:
    data = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">' + body +
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()
    with pytest.raises(xmp.XmpError, match="dc:subject"):
        xmp_packet.read_packet(data)
    image = tmp_path / "a.jpg"
    (tmp_path / "a.jpg.xmp").write_bytes(data)
    outcome = write_sidecar(darktable_sidecar(image), TAGGED).outcome
    assert outcome.action is SidecarAction.FAILED and "dc:subject" in outcome.reason
    assert (tmp_path / "a.jpg.xmp").read_bytes() == data


def test_one_line_packets_stay_on_one_line() -> None:
    data = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag/></dc:subject>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    plan = xmp.plan_sidecar(xmp_packet.read_packet(data), TAGGED, force=False)
    out = xmp_packet.update_packet(data, plan.updates, plan.removals, plan.arrays)
    assert b"\n" not in out
    assert xmp_packet.read_packet(out).arrays[xmp.SUBJECT] == ("burstd", "burst", "2026-11-24 IMG_0042-1a2b3c4d", "pick")
