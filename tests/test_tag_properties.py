"""Properties of burstd's keywords and labels in arrays it shares with the photographer.

For every sidecar `tests/xmp_forms.py` builds (darktable, Lightroom, digiKam, exiftool, Photoshop CS
forms, mutations of the real samples; their keywords often include words burstd writes too) and
every set of tagged fields, read back with exiftool, a reader independent of burstd and exiv2:

1. merging tagged fields changes every property exiftool read as it should and no other: dc:subject
   gains burstd's flat keywords it lacked (order kept), lr:hierarchicalSubject gains burstd's keywords
   (a new one starts with the photographer's flat keywords, as darktable then reads only it),
   darktable:colorlabels gains burstd's label if missing, a digiKam:PickLabel set by someone else stays;
2. a second identical merge writes nothing;
3. switching the tags and labels off reads like never having had them (the photographer's keywords
   carried into a new lr:hierarchicalSubject stay); tagged A then B reads like B alone, and a frame
   that stops being the pick loses only burstd's pick entries;
4. a sidecar burstd refuses is left byte for byte, and only an exotic form is refused;
5. no keyword burstd writes holds a comma, and xmp:Rating is there exactly once.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from burstd.sidecar import xmp
from burstd.models import SidecarAction, SidecarFields
from burstd.naming import darktable_sidecar
from burstd.sidecar.files import write_sidecar
from tests import xmp_forms
from tests.helpers_exiftool import ExiftoolProcess, needs_exiftool
from tests.test_merge_properties import _owned_tags, _ratings
from tests.xmp_forms import PICK_TAG, Sidecar, untagged

pytestmark = [needs_exiftool, pytest.mark.slow]  # hypothesis properties, each example checked with exiftool and exiv2

# Deterministic: a fixed seed per test, no example database. Each example makes seven writes and one
# exiftool read of six files; each form gets its own budget.
PROPERTIES = settings(derandomize=True, database=None, deadline=None, max_examples=25)

SUBJECT, HIERARCHICAL = "XMP-dc:Subject", "XMP-lr:HierarchicalSubject"
LABELS, PICK_LABEL = "XMP-darktable:Colorlabels", "XMP-digiKam:PickLabel"
LISTS = (SUBJECT, HIERARCHICAL, LABELS)
OWNED = ("XMP-xmp:Rating", "XMP-burstd:", *LISTS, PICK_LABEL)  # what burstd may change, as exiftool names it


@pytest.fixture(scope="module")
def exiftool() -> Iterator[ExiftoolProcess]:
    process = ExiftoolProcess()
    yield process
    process.close()


# --- exiftool's view, and what it ought to be ------------------------------------------------------


def as_read(text: str) -> object:
    """`text` as exiftool's JSON gives it: `true`/`false` and number-like text come as JSON values."""
    if re.fullmatch("true|false", text, re.I):
        return text.lower() == "true"
    if re.fullmatch(r"-?(\d|[1-9]\d{1,14})(\.\d{1,16})?(e[-+]?\d{1,3})?", text, re.I):
        return json.loads(text)
    return text


def entries(view: dict[str, object], key: str) -> list[object]:
    """A list property's entries (exiftool gives a one-entry list as a bare value)."""
    value = view.get(key)
    return [] if value is None else value if isinstance(value, list) else [value]


def normal(view: dict[str, object]) -> dict[str, object]:
    """`view` with the shared lists always as lists."""
    return {k: entries(view, k) if k in LISTS else v for k, v in view.items()}


def unordered(view: dict[str, object]) -> dict[str, object]:
    """`view` with the shared lists as multisets (dc:subject and lr:hierarchicalSubject are bags)."""
    return {k: sorted(map(json.dumps, entries(view, k))) if k in LISTS else v for k, v in view.items()}


def rest(view: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in view.items() if not k.startswith(OWNED)}


def levels(tags: tuple[str, ...]) -> list[str]:
    """burstd's flat keywords for `tags`: each level once, in order (darktable's way, derived here anew)."""
    return list(dict.fromkeys(level for tag in tags for level in tag.split("|")))


def carried(before: dict[str, object]) -> list[object]:
    """The photographer's flat keywords, as copied into a new lr:hierarchicalSubject."""
    return list({json.dumps(k): k for k in entries(before, SUBJECT)}.values())


def expected(before: dict[str, object], fields: SidecarFields) -> dict[str, object]:
    """What exiftool ought to read after merging `fields` into a sidecar it read as `before`.

    `before` holds nothing of burstd's keywords and labels (the generators never put any there).
    """
    view = rest(before) | _owned_tags(fields)
    subject = entries(before, SUBJECT)
    added = [w for w in levels(fields.tags) if as_read(w) not in subject]
    if subject + added:
        view[SUBJECT] = subject + [as_read(w) for w in added]
    tags = list(dict.fromkeys(fields.tags))  # a keyword asked for twice is written once
    if HIERARCHICAL in before:
        view[HIERARCHICAL] = entries(before, HIERARCHICAL) + [t for t in tags if t not in entries(before, HIERARCHICAL)]
    elif tags:
        view[HIERARCHICAL] = carried(before) + tags
    labels = entries(before, LABELS)
    label = None if fields.color_label is None else as_read(str(fields.color_label))
    if labels or label is not None:
        view[LABELS] = labels + ([label] if label is not None and label not in labels else [])
    if PICK_LABEL in before:
        view[PICK_LABEL] = before[PICK_LABEL]  # someone else's: kept, whatever burstd wants
    elif fields.pick_label is not None:
        view[PICK_LABEL] = view["XMP-burstd:PickLabel"] = fields.pick_label
    if added:
        view["XMP-burstd:Subjects"] = as_read(";".join(added))
    if label is not None and label not in labels:
        view["XMP-burstd:ColorLabels"] = label
    return view


# --- the merges -------------------------------------------------------------------------------------


def moved_off_pick(fields: SidecarFields) -> st.SearchStrategy[SidecarFields]:
    """The same frame once another one became the pick: no pick keyword, no colour label."""
    return st.sampled_from([None, 1]).map(
        lambda pick: replace(fields, tags=tuple(t for t in fields.tags if t != PICK_TAG), color_label=None, pick_label=pick)
    )


@st.composite
def tagged_merges(draw: st.DrawFn, form: str) -> tuple[Sidecar, SidecarFields, SidecarFields, bool, bool]:
    """A sidecar, tagged fields A, fields B to merge after A (A's frame off the pick, or any), and force."""
    first = draw(xmp_forms.tagged_fields())
    sidecar = draw(xmp_forms.sidecars(first, form))
    off_pick = draw(st.booleans())
    second = draw(moved_off_pick(first) if off_pick else xmp_forms.tagged_fields())
    force = draw(st.integers(0, 3)) != 3  # forced three times in four: a kept sidecar shows little
    return sidecar, first, second, off_pick, force


def _events(sidecar: Sidecar, before: dict[str, object], fields: SidecarFields) -> None:
    for feature in sidecar.features:
        event(feature)
    event("dc:subject " + ("present" if SUBJECT in before else "absent"))
    if HIERARCHICAL in before:
        event("lr:hierarchicalSubject present")
    else:
        event("lr:hierarchicalSubject absent" + (": flat keywords carried over" if fields.tags and SUBJECT in before else ""))
    if {as_read(w) for w in levels(fields.tags)} & set(entries(before, SUBJECT)):
        event("the photographer has one of burstd's flat keywords")
    if LABELS in before:
        event("darktable:colorlabels present")
    if PICK_LABEL in before:
        event("digiKam:PickLabel present")


@pytest.mark.parametrize("form", xmp_forms.FORMS)
@PROPERTIES
@given(data=st.data())
def test_keywords_and_labels_merge_and_come_out_again(exiftool: ExiftoolProcess, form: str, data: st.DataObject) -> None:
    sidecar, first, second, off_pick, force = data.draw(tagged_merges(form))
    with tempfile.TemporaryDirectory(prefix="burstd-tags-") as tmp:
        folder = Path(tmp)
        original = folder / "original.xmp"
        original.write_bytes(sidecar.data)
        images = {}
        for name in ("tagged", "plain", "second"):
            images[name] = folder / f"{name}.jpg"
            images[name].write_bytes(b"never opened")
            darktable_sidecar(images[name]).write_bytes(sidecar.data)
        tagged_path = darktable_sidecar(images["tagged"])

        outcome = write_sidecar(darktable_sidecar(images["tagged"]), first, force=force).outcome
        tagged = tagged_path.read_bytes()
        note(f"outcome: {outcome}\ntagged:\n{tagged.decode(errors='replace')}")
        event(f"action: {outcome.action}" + (" (exotic form)" if sidecar.exotic else ""))

        # 4. refused: byte for byte, and only an exotic form
        if outcome.action is SidecarAction.FAILED:
            assert sidecar.exotic, f"burstd refused a realistic form: {outcome.reason}"
            assert tagged == sidecar.data and outcome.reason and "\n" not in outcome.reason
            return
        if outcome.action is SidecarAction.KEPT_MANUAL:  # the photographer's rating: nothing at all changes
            assert not force and tagged == sidecar.data
            return
        if outcome.action is SidecarAction.UNCHANGED:  # burstd's plain fields already there, nothing tagged
            assert not first.tags and first.color_label is None and tagged == sidecar.data
        else:
            assert outcome.action is SidecarAction.UPDATED

        # 2. a second identical merge writes nothing
        assert write_sidecar(darktable_sidecar(images["tagged"]), first, force=force).outcome.action is SidecarAction.UNCHANGED
        assert tagged_path.read_bytes() == tagged
        snapshot = folder / "snapshot.xmp"
        snapshot.write_bytes(tagged)

        # 3. then B, and tags and labels switched off; beside them B alone and plain alone
        moved = folder / "moved.xmp"
        moved.write_bytes(tagged)
        for path, fields in ((moved, second), (tagged_path, untagged(first))):
            assert write_sidecar(path, fields, force=force).outcome.action is not SidecarAction.FAILED
        assert write_sidecar(moved, second, force=force).outcome.action is SidecarAction.UNCHANGED
        assert write_sidecar(darktable_sidecar(images["plain"]), untagged(first), force=force).outcome.action is not SidecarAction.FAILED
        assert write_sidecar(darktable_sidecar(images["second"]), second, force=force).outcome.action is not SidecarAction.FAILED
        outputs = [tagged, tagged_path.read_bytes(), moved.read_bytes(), darktable_sidecar(images["plain"]).read_bytes()]

        paths = (original, snapshot, tagged_path, darktable_sidecar(images["plain"]), moved, darktable_sidecar(images["second"]))
        before, after, switched_off, plain, then_second, second_alone = exiftool.tags(*paths)
        _events(sidecar, before, first)
        note(f"exiftool before: {before}\nafter: {after}")

        # 1. what exiftool reads: the old properties, burstd's entries added to the shared ones
        assert normal(after) == normal(expected(before, first))

        # 5. no comma in the keywords burstd wrote; one xmp:Rating in every result
        ours = [e for e in entries(after, HIERARCHICAL) if str(e).startswith(xmp.TAG_ROOT)]
        ours += [e for e in entries(after, SUBJECT) if e not in entries(before, SUBJECT)]
        assert not any("," in str(e) for e in ours)
        assert all(_ratings(out) == 1 for out in outputs)

        # 3. tags and labels off: as if never written, but carried-over keywords are the photographer's now
        carries = HIERARCHICAL not in before and first.tags and SUBJECT in before
        want = normal(plain) | ({HIERARCHICAL: carried(before)} if carries else {})
        assert normal(switched_off) == want

        # 3. A then B reads like B alone (bags compared as bags), carried-over keywords again excepted
        want = normal(second_alone)
        if carries and not second.tags:
            want[HIERARCHICAL] = carried(before)
        assert unordered(then_second) == unordered(want)
        if off_pick:  # off the pick: only burstd's pick entries go, the rest stays as it was
            _assert_only_pick_entries_went(before, after, then_second, first, second)


def _assert_only_pick_entries_went(
    before: dict[str, object], after: dict[str, object], now: dict[str, object], first: SidecarFields, second: SidecarFields
) -> None:
    gone = [as_read(w) for w in set(levels(first.tags)) - set(levels(second.tags))]  # "pick", unless needed still
    theirs = entries(before, SUBJECT)
    assert entries(now, HIERARCHICAL) == [e for e in entries(after, HIERARCHICAL) if e != PICK_TAG]
    assert entries(now, SUBJECT) == [e for e in entries(after, SUBJECT) if e in theirs or e not in gone]
    label = None if first.color_label is None else as_read(str(first.color_label))
    assert entries(now, LABELS) == [e for e in entries(after, LABELS) if e != label or e in entries(before, LABELS)]
    if PICK_LABEL in before:
        assert now[PICK_LABEL] == before[PICK_LABEL]
    else:
        assert now.get(PICK_LABEL) == second.pick_label
    assert rest(now) == rest(after)


# --- keywords burstd could not write faithfully ------------------------------------------------------

_bad_level = st.text(st.sampled_from("ab ,;|\x01"), max_size=5)


@settings(derandomize=True, database=None, deadline=None, max_examples=60)
@given(tags=st.lists(_bad_level.map(lambda t: "burstd|" + t) | _bad_level, min_size=1, max_size=3))
def test_keywords_burstd_could_not_write_faithfully_are_refused_before_any_write(tags: list[str]) -> None:
    fields = SidecarFields(3, "IMG_0001-1a2b3c4d", 1, 2, 0.5, tuple(tags))
    faithful = all(
        t.startswith("burstd|") and all(level.strip() for level in t.split("|")) and not re.search("[,;\x01]", t)
        for t in tags
    )
    event("faithful" if faithful else "refused")
    with tempfile.TemporaryDirectory(prefix="burstd-tags-") as tmp:
        image = Path(tmp) / "IMG_0001.jpg"
        data = xmp.BLANK_PACKET.encode()
        darktable_sidecar(image).write_bytes(data)
        if faithful:
            assert write_sidecar(darktable_sidecar(image), fields).outcome.action is SidecarAction.UPDATED
            return
        with pytest.raises(ValueError):
            write_sidecar(darktable_sidecar(image), fields).outcome
        assert darktable_sidecar(image).read_bytes() == data


def test_a_keyword_asked_for_twice_is_written_once(exiftool: ExiftoolProcess) -> None:
    fields = SidecarFields(3, "IMG_0001-1a2b3c4d", 1, 2, 0.5, (PICK_TAG, PICK_TAG))
    with tempfile.TemporaryDirectory(prefix="burstd-tags-") as tmp:
        image = Path(tmp) / "IMG_0001.jpg"
        assert write_sidecar(darktable_sidecar(image), fields).outcome.action is SidecarAction.CREATED
        (view,) = exiftool.tags(darktable_sidecar(image))
        assert entries(view, HIERARCHICAL) == [PICK_TAG] and entries(view, SUBJECT) == ["burstd", "pick"]
