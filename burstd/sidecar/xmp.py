"""What burstd owns inside an XMP sidecar, and what to do with a sidecar: plan and render.

Pure: values in, strings out; no file I/O and no exiv2. Reading and editing an existing packet's
bytes lives in `packet.py`; what to do with one sidecar in `policy.py`; `files.py` is the only
module that touches the disk.

burstd owns `xmp:Rating` and properties in its own `burstd:` namespace, among them `burstd:Rating`,
the rating burstd last wrote, which tells a rating burstd set from one the photographer set. It also
owns some *entries* of properties it shares with the photographer:

* in `lr:hierarchicalSubject`, every keyword under `burstd|` (`burstd|burst|2026-11-24 IMG_0001-1a2b3c4d`,
  `burstd|pick`): darktable, digiKam and Lightroom read hierarchical keywords from there;
* in `dc:subject`, the flat keywords burstd added (each level of its hierarchical ones, as darktable
  itself writes them), listed in `burstd:Subjects` so that a keyword the photographer had already is
  never taken away;
* in `darktable:colorlabels`, the colour label burstd added (listed in `burstd:ColorLabels`);
* `digiKam:PickLabel`, while it still holds the value burstd wrote (`burstd:PickLabel`).

A sidecar may hold hours of darktable edits, so an existing packet is never re-serialised:
`update_packet` changes the bytes of the owned values in place (adding or removing only what burstd
owns) and leaves every other byte as it was -- prefixes, history, comments, the xpacket wrapper and
its padding. exiv2 (which darktable uses) would re-serialise the whole packet instead, and renames
prefixes process-wide once it has seen a namespace under another prefix; see `burstd.exiv2`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from burstd.models import SidecarFields

BURSTD_NS = "http://ns.burstd.org/xmp/1.0/"
BURSTD_PREFIX = "burstd"
XMP_NS = "http://ns.adobe.com/xap/1.0/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
META_NS = "adobe:ns:meta/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
DC_NS = "http://purl.org/dc/elements/1.1/"
LR_NS = "http://ns.adobe.com/lightroom/1.0/"
DARKTABLE_NS = "http://darktable.sf.net/"
DIGIKAM_NS = "http://www.digikam.org/ns/1.0/"

RATING = "Xmp.xmp.Rating"
BURSTD_RATING = "Xmp.burstd.Rating"
BURST_ID = "Xmp.burstd.BurstId"
RANK = "Xmp.burstd.Rank"
BURST_SIZE = "Xmp.burstd.BurstSize"
SHARPNESS = "Xmp.burstd.Sharpness"
BURSTD_SUBJECTS = "Xmp.burstd.Subjects"
BURSTD_COLOR_LABELS = "Xmp.burstd.ColorLabels"
BURSTD_PICK_LABEL = "Xmp.burstd.PickLabel"
KIND = "Xmp.burstd.Kind"
PICK_LABEL = "Xmp.digiKam.PickLabel"
LABEL = "Xmp.xmp.Label"
SUBJECT = "Xmp.dc.subject"
HIERARCHICAL_SUBJECT = "Xmp.lr.hierarchicalSubject"
COLOR_LABELS = "Xmp.darktable.colorlabels"
IMPORT_TIMESTAMP = "Xmp.darktable.import_timestamp"
HISTORY = (DARKTABLE_NS, "history")  # darktable's edit history: an rdf:Seq burstd only counts

# Every property burstd always writes, in the order it writes them: key -> (namespace URI, usual prefix, name).
OWNED: dict[str, tuple[str, str, str]] = {
    RATING: (XMP_NS, "xmp", "Rating"),
    BURSTD_RATING: (BURSTD_NS, BURSTD_PREFIX, "Rating"),
    BURST_ID: (BURSTD_NS, BURSTD_PREFIX, "BurstId"),
    RANK: (BURSTD_NS, BURSTD_PREFIX, "Rank"),
    BURST_SIZE: (BURSTD_NS, BURSTD_PREFIX, "BurstSize"),
    SHARPNESS: (BURSTD_NS, BURSTD_PREFIX, "Sharpness"),
}
# Simple properties burstd writes only when a feature needs them, and removes when it no longer does.
OPTIONAL: dict[str, tuple[str, str, str]] = {
    BURSTD_SUBJECTS: (BURSTD_NS, BURSTD_PREFIX, "Subjects"),
    BURSTD_COLOR_LABELS: (BURSTD_NS, BURSTD_PREFIX, "ColorLabels"),
    BURSTD_PICK_LABEL: (BURSTD_NS, BURSTD_PREFIX, "PickLabel"),
    # The kind of the set a frame belongs to (bracket, focus-stack, panorama). Absent on bursts and
    # single shots, so their sidecars stay as burstd wrote them before sets were told apart.
    KIND: (BURSTD_NS, BURSTD_PREFIX, "Kind"),
    PICK_LABEL: (DIGIKAM_NS, "digiKam", "PickLabel"),
}
# Every simple property burstd reads: its own, and two it never writes: `xmp:Label` (it overrides
# darktable's labels) and `darktable:import_timestamp` (see `is_import_default`).
SIMPLE: dict[str, tuple[str, str, str]] = {
    **OWNED, **OPTIONAL, LABEL: (XMP_NS, "xmp", "Label"),
    IMPORT_TIMESTAMP: (DARKTABLE_NS, "darktable", "import_timestamp"),
}
# Arrays burstd adds entries to: key -> (namespace URI, usual prefix, name, container).
ARRAYS: dict[str, tuple[str, str, str, str]] = {
    SUBJECT: (DC_NS, "dc", "subject", "Bag"),
    HIERARCHICAL_SUBJECT: (LR_NS, "lr", "hierarchicalSubject", "Bag"),
    COLOR_LABELS: (DARKTABLE_NS, "darktable", "colorlabels", "Seq"),
}
_KEY_OF = {(uri, name): key for key, (uri, _prefix, name) in SIMPLE.items()}
_ARRAY_OF = {(uri, name): key for key, (uri, _prefix, name, _kind) in ARRAYS.items()}

TAG_ROOT = "burstd|"  # every hierarchical keyword under it is burstd's
SEPARATOR = ";"  # joins the entries listed in burstd:Subjects and burstd:ColorLabels


class XmpError(ValueError):
    """A packet burstd cannot read or safely edit; the message is a one-line reason for the user."""


@dataclass(frozen=True)
class SidecarState:
    """What an existing sidecar says about the properties burstd reads."""

    rating: int | None  # xmp:Rating, whoever set it
    burstd_rating: int | None  # burstd:Rating: the rating burstd wrote last time
    values: Mapping[str, str] = field(default_factory=dict)  # every simple key of SIMPLE present -> its text
    arrays: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # every key of ARRAYS present -> its items
    darktable_history: int = 0  # entries of darktable:history, darktable's edit history
    written_ns: int | None = None  # the file's mtime when it was read (None: not known)


EMPTY = SidecarState(None, None)


@dataclass(frozen=True)
class SidecarMemo:
    """What burstd last knew of a sidecar: its lstat fingerprint, and its state at that moment.

    While the fingerprint still matches, the sidecar need not be read again to know that nothing
    has to change (the warm rescan's shortcut). Kept in the cache; losing it costs one read.
    """

    fingerprint: tuple[int, int, int]  # (size, mtime_ns, inode)
    state: SidecarState


class PlanAction(StrEnum):
    CREATE = "create"
    KEEP_MANUAL = "keep-manual"
    UNCHANGED = "unchanged"
    UPDATE = "update"


@dataclass(frozen=True)
class ArrayEdit:
    """Entries to take out of one array property (every occurrence), and entries to append to it."""

    remove: tuple[str, ...] = ()
    add: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    action: PlanAction
    updates: Mapping[str, str] = field(default_factory=dict)  # simple key -> new text
    removals: tuple[str, ...] = ()  # simple keys to take out
    arrays: Mapping[str, ArrayEdit] = field(default_factory=dict)  # array key -> its edit


def owned_values(fields: SidecarFields) -> dict[str, str]:
    """The text of every property burstd always writes, exactly as it writes them."""
    if not -1 <= fields.rating <= 5:
        raise ValueError(f"rating {fields.rating} is outside -1..5")
    if fields.rank < 1 or fields.burst_size < 1 or not math.isfinite(fields.sharpness):
        raise ValueError(f"invalid sidecar fields: {fields!r}")
    _check_xml_chars(fields.burst_id)
    for tag in fields.tags:
        check_keyword(tag)
    if fields.color_label is not None and not 0 <= fields.color_label <= 4:
        raise ValueError(f"colour label {fields.color_label} is outside 0..4")
    if fields.pick_label not in (None, 1, 2, 3):
        raise ValueError(f"digiKam pick label {fields.pick_label} is not 1, 2 or 3")
    return {
        RATING: str(fields.rating),
        BURSTD_RATING: str(fields.rating),
        BURST_ID: fields.burst_id,
        RANK: str(fields.rank),
        BURST_SIZE: str(fields.burst_size),
        SHARPNESS: f"{fields.sharpness:.4f}",
    }


def is_manual(state: SidecarState, darktable_rating: int | None = None) -> bool:
    """Whether the sidecar's rating was set by the photographer (or another tool), not by burstd.

    A rating burstd did not write (none recorded, or a different one) is theirs, unless it is
    darktable's untouched import default (`is_import_default`; `darktable_rating` is the rating
    darktable gives at import, None when not known); a sidecar with no xmp:Rating at all has nothing
    to protect.
    """
    if state.rating is None or state.burstd_rating == state.rating:
        return False
    return not is_import_default(state, darktable_rating)


# darktable stamps an image's import time and writes its sidecar moments later; a sidecar written
# further from that time than this has been rewritten since (or copied, or lives on a disk with
# another clock): its rating is then taken as the photographer's.
IMPORT_WRITE_SECONDS = 5.0
_GLIB_EPOCH = 62_135_596_800  # seconds from 0001-01-01, where darktable's timestamps start, to 1970-01-01 UTC
_BURSTD_KEYS = tuple(key for key, (uri, _prefix, _name) in SIMPLE.items() if uri == BURSTD_NS)


def is_import_default(state: SidecarState, darktable_rating: int | None) -> bool:
    """Whether the sidecar is darktable's own, untouched since it imported the image, so that its
    rating is darktable's default (`darktable_rating`), not anyone's choice.

    darktable imports an image before burstd has rated it (the photographer imported while the card
    was still being copied) and writes a sidecar holding the rating it gives every import, 1 star
    unless changed in its import module. It rewrites that sidecar whenever the image changes in
    darktable, a rating set by hand included. So the default is: darktable's import time
    (`darktable:import_timestamp`) in the sidecar and the file written within
    IMPORT_WRITE_SECONDS of it, no edit history, none of burstd's properties, and `xmp:Rating` equal
    to `darktable_rating`. Anything else is the photographer's.
    """
    if darktable_rating is None or state.rating != darktable_rating or state.darktable_history:
        return False
    if any(key in state.values for key in _BURSTD_KEYS):
        return False
    imported = _import_seconds(state.values.get(IMPORT_TIMESTAMP))
    if imported is None or state.written_ns is None:
        return False
    return abs(state.written_ns / 1e9 - imported) <= IMPORT_WRITE_SECONDS


def _import_seconds(text: str | None) -> float | None:
    """darktable's timestamp (microseconds since 0001-01-01 UTC) in seconds since the epoch; None when unset."""
    try:
        micro = int((text or "").strip())
    except ValueError:
        return None
    return micro / 1e6 - _GLIB_EPOCH if micro > 0 else None


def burstd_traces(state: SidecarState) -> tuple[str, ...]:
    """What of burstd's is in a sidecar, named for the photographer: its `burstd:` fields, the
    keywords under `burstd|`, a rating that is still the one burstd wrote, labels it added."""
    traces = []
    if state.rating is not None and state.rating == state.burstd_rating:
        traces.append(f"the rating burstd set (xmp:Rating {state.rating})")
    fields = [name for key, (uri, _prefix, name) in SIMPLE.items() if uri == BURSTD_NS and key in state.values]
    if fields:
        traces.append("burstd:" + ", burstd:".join(fields))
    keywords = [tag for tag in state.arrays.get(HIERARCHICAL_SUBJECT, ()) if tag.startswith(TAG_ROOT)]
    flat = set(_listed(state, BURSTD_SUBJECTS)) & set(state.arrays.get(SUBJECT, ()))
    if keywords:
        traces.append("keywords " + ", ".join(keywords) + (" (and their levels in dc:subject)" if flat else ""))
    elif flat:
        traces.append("keywords " + ", ".join(sorted(flat)) + " in dc:subject")
    if _listed(state, BURSTD_COLOR_LABELS):
        traces.append("the colour label burstd added")
    if PICK_LABEL in state.values and state.values[PICK_LABEL] == state.values.get(BURSTD_PICK_LABEL):
        traces.append("the digiKam pick label burstd set")
    return tuple(traces)


def label_note(state: SidecarState | None, fields: SidecarFields) -> str:
    """Why the colour label burstd writes will not show in darktable ("" when it will).

    darktable takes an `xmp:Label` (Lightroom's and Bridge's colour label) over its own labels.
    """
    if fields.color_label is None or state is None or LABEL not in state.values:
        return ""
    return f"its xmp:Label {state.values[LABEL]!r} overrides darktable's colour labels: the pick label will not show"


def check_keyword(tag: str) -> None:
    """A hierarchical keyword burstd may write: under `burstd|`, no empty level, no comma, no `;`."""
    levels = tag.split("|")
    if not tag.startswith(TAG_ROOT) or not all(level.strip() for level in levels):
        raise ValueError(f"keyword {tag!r} is not a `burstd|...` path of non-empty levels")
    if "," in tag or SEPARATOR in tag:  # darktable cuts keywords at commas; `;` joins burstd:Subjects
        raise ValueError(f"keyword {tag!r} holds a comma or semicolon")
    _check_xml_chars(tag)


def flat_keywords(tags: tuple[str, ...]) -> tuple[str, ...]:
    """The `dc:subject` entries for hierarchical keywords: every level once, as darktable writes them."""
    seen: dict[str, None] = {}
    for tag in tags:
        seen.update(dict.fromkeys(tag.split("|")))
    return tuple(seen)


def plan_sidecar(
    state: SidecarState | None, fields: SidecarFields, *, force: bool, darktable_rating: int | None = None
) -> Plan:
    """Decide what to do with one sidecar; `state` is None when there is no sidecar yet.
    `darktable_rating`: the rating darktable gives at import (see `is_manual`)."""
    wanted = owned_values(fields)
    if state is not None and is_manual(state, darktable_rating) and not force:
        return Plan(PlanAction.KEEP_MANUAL)
    current = state or EMPTY
    updates = {key: text for key, text in wanted.items() if current.values.get(key) != text}
    removals: list[str] = []
    arrays: dict[str, ArrayEdit] = {}

    hierarchical = current.arrays.get(HIERARCHICAL_SUBJECT, ())
    stale = tuple(t for t in hierarchical if t.startswith(TAG_ROOT) and t not in fields.tags)
    new_tags = tuple(t for t in dict.fromkeys(fields.tags) if t not in hierarchical)  # each once
    if new_tags and HIERARCHICAL_SUBJECT not in current.arrays:
        # darktable reads only lr:hierarchicalSubject once it exists: carry the photographer's flat
        # keywords over, or adding burstd's would hide theirs.
        ours = _listed(current, BURSTD_SUBJECTS)
        theirs = tuple(dict.fromkeys(s for s in current.arrays.get(SUBJECT, ()) if s not in ours))
        new_tags = theirs + new_tags
    if stale or new_tags:
        arrays[HIERARCHICAL_SUBJECT] = ArrayEdit(stale, new_tags)
    _merge_listed(current, SUBJECT, BURSTD_SUBJECTS, flat_keywords(fields.tags), updates, removals, arrays)
    colour = () if fields.color_label is None else (str(fields.color_label),)
    _merge_listed(current, COLOR_LABELS, BURSTD_COLOR_LABELS, colour, updates, removals, arrays)
    _merge_pick_label(current, fields.pick_label, updates, removals)
    if fields.kind is not None and current.values.get(KIND) != fields.kind.value:
        updates[KIND] = fields.kind.value
    elif fields.kind is None and KIND in current.values:
        removals.append(KIND)

    if state is None:
        return Plan(PlanAction.CREATE, updates, (), arrays)
    if not (updates or removals or arrays):
        return Plan(PlanAction.UNCHANGED)
    return Plan(PlanAction.UPDATE, updates, tuple(removals), arrays)


def edited(
    properties: Mapping[str, object],
    updates: Mapping[str, str],
    removals: tuple[str, ...],
    arrays: Mapping[str, ArrayEdit],
) -> dict[str, object]:
    """What a reader should find after an edit, given what it found before (arrays as lists):
    simple properties set or taken out, array entries taken out then appended; an array left empty
    is gone. Both checks of an edit use it: burstd's own reading and exiv2's."""
    after = {key: value for key, value in properties.items() if key not in removals} | dict(updates)
    for key, edit in arrays.items():
        items = after.get(key)
        kept = [item for item in (items if isinstance(items, list) else []) if item not in edit.remove]
        kept += edit.add
        if kept:
            after[key] = kept
        else:
            after.pop(key, None)
    return after


def _listed(state: SidecarState, record: str) -> tuple[str, ...]:
    return tuple(entry for entry in state.values.get(record, "").split(SEPARATOR) if entry)


def _merge_listed(
    state: SidecarState,
    array: str,
    record: str,
    wanted: tuple[str, ...],
    updates: dict[str, str],
    removals: list[str],
    arrays: dict[str, ArrayEdit],
) -> None:
    """Entries of a shared array: burstd adds what it wants and takes back only what it added itself."""
    present = state.arrays.get(array, ())
    recorded = set(_listed(state, record))
    ours = [entry for entry in present if entry in recorded]
    stale = tuple(dict.fromkeys(entry for entry in ours if entry not in wanted))
    added = tuple(entry for entry in wanted if entry not in present)
    if stale or added:
        arrays[array] = ArrayEdit(stale, added)
    listed = SEPARATOR.join(entry for entry in wanted if entry in added or entry in ours)
    if listed and state.values.get(record) != listed:
        updates[record] = listed
    elif not listed and record in state.values:
        removals.append(record)


def _merge_pick_label(state: SidecarState, wanted: int | None, updates: dict[str, str], removals: list[str]) -> None:
    """digiKam's pick label is burstd's only while it still holds the value burstd wrote."""
    present, ours = state.values.get(PICK_LABEL), state.values.get(BURSTD_PICK_LABEL)
    if present is not None and present != ours:  # set in digiKam (or by another tool): theirs
        if ours is not None:
            removals.append(BURSTD_PICK_LABEL)
        return
    if wanted is None:
        removals.extend(key for key in (PICK_LABEL, BURSTD_PICK_LABEL) if key in state.values)
        return
    for key in (PICK_LABEL, BURSTD_PICK_LABEL):
        if state.values.get(key) != str(wanted):
            updates[key] = str(wanted)


# The packet a new sidecar starts from: shaped like darktable's own, with nothing in it yet.
# `packet.new_packet` adds burstd's properties to it with the same editor that edits existing ones.
BLANK_PACKET = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
    '  <rdf:Description rdf:about=""\n'
    f'    xmlns:xmp="{XMP_NS}"\n'
    f'    xmlns:{BURSTD_PREFIX}="{BURSTD_NS}"/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str, quote: str = '"') -> str:
    escaped = _escape_text(text).replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    return escaped.replace('"', "&quot;") if quote == '"' else escaped.replace("'", "&apos;")


def _check_xml_chars(text: str) -> None:
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in text) or "\ufffe" in text or "\uffff" in text:
        raise ValueError(f"{text!r} holds characters XML cannot carry")
