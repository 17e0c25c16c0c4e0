"""What burstd owns inside an XMP sidecar, and what to do with a sidecar: plan and render.

Pure: values in, strings out; no file I/O and no exiv2. Reading and editing an existing packet's
bytes lives in `xmp_packet.py`; `sidecars.py` is the only caller that touches the disk.

burstd owns six properties: `xmp:Rating` and five in its own `burstd:` namespace, among them
`burstd:Rating`, the rating burstd last wrote, which tells a rating burstd set from one the
photographer set. A sidecar may hold hours of darktable edits, so an existing packet is never
re-serialised: `update_packet` changes the bytes of the owned values in place (or adds them as
attributes of the `rdf:Description`) and leaves every other byte as it was -- prefixes, history,
comments, the xpacket wrapper and its padding. exiv2 (which darktable uses) would re-serialise the
whole packet instead, and renames prefixes process-wide once it has seen a namespace under another
prefix; see `sidecars.py`.
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

RATING = "Xmp.xmp.Rating"
BURSTD_RATING = "Xmp.burstd.Rating"
BURST_ID = "Xmp.burstd.BurstId"
RANK = "Xmp.burstd.Rank"
BURST_SIZE = "Xmp.burstd.BurstSize"
SHARPNESS = "Xmp.burstd.Sharpness"

# Every property burstd owns, in the order it writes them: key -> (namespace URI, usual prefix, name).
OWNED: dict[str, tuple[str, str, str]] = {
    RATING: (XMP_NS, "xmp", "Rating"),
    BURSTD_RATING: (BURSTD_NS, BURSTD_PREFIX, "Rating"),
    BURST_ID: (BURSTD_NS, BURSTD_PREFIX, "BurstId"),
    RANK: (BURSTD_NS, BURSTD_PREFIX, "Rank"),
    BURST_SIZE: (BURSTD_NS, BURSTD_PREFIX, "BurstSize"),
    SHARPNESS: (BURSTD_NS, BURSTD_PREFIX, "Sharpness"),
}
_KEY_OF = {(uri, name): key for key, (uri, _prefix, name) in OWNED.items()}


class XmpError(ValueError):
    """A packet burstd cannot read or safely edit; the message is a one-line reason for the user."""


@dataclass(frozen=True)
class SidecarState:
    """What an existing sidecar says about the properties burstd owns."""

    rating: int | None  # xmp:Rating, whoever set it
    burstd_rating: int | None  # burstd:Rating: the rating burstd wrote last time
    values: Mapping[str, str] = field(default_factory=dict)  # every owned key present -> its text


@dataclass(frozen=True)
class SidecarMemo:
    """What burstd last knew of a sidecar: its lstat fingerprint, and its state at that moment.

    While the fingerprint still matches, the sidecar need not be read again to know that nothing
    has to change (the warm rescan's shortcut). Kept in the cache; losing it costs one read.
    """

    fingerprint: tuple[int, int, int]  # (size, mtime_ns, inode)
    state: SidecarState


def state_after_write(fields: SidecarFields) -> SidecarState:
    """The owned state of a sidecar once burstd's values for `fields` are in it."""
    values = owned_values(fields)
    return SidecarState(rating=fields.rating, burstd_rating=fields.rating, values=values)


class PlanAction(StrEnum):
    CREATE = "create"
    KEEP_MANUAL = "keep-manual"
    UNCHANGED = "unchanged"
    UPDATE = "update"


@dataclass(frozen=True)
class Plan:
    action: PlanAction
    updates: Mapping[str, str] = field(default_factory=dict)  # owned key -> new text (CREATE, UPDATE)


def owned_values(fields: SidecarFields) -> dict[str, str]:
    """The text of every owned property, exactly as burstd writes it."""
    if not -1 <= fields.rating <= 5:
        raise ValueError(f"rating {fields.rating} is outside -1..5")
    if fields.rank < 1 or fields.burst_size < 1 or not math.isfinite(fields.sharpness):
        raise ValueError(f"invalid sidecar fields: {fields!r}")
    _check_xml_chars(fields.burst_id)
    return {
        RATING: str(fields.rating),
        BURSTD_RATING: str(fields.rating),
        BURST_ID: fields.burst_id,
        RANK: str(fields.rank),
        BURST_SIZE: str(fields.burst_size),
        SHARPNESS: f"{fields.sharpness:.4f}",
    }


def plan_sidecar(state: SidecarState | None, fields: SidecarFields, *, force: bool) -> Plan:
    """Decide what to do with one sidecar; `state` is None when there is no sidecar yet."""
    wanted = owned_values(fields)
    if state is None:
        return Plan(PlanAction.CREATE, wanted)
    # A rating burstd did not write (none recorded, or a different one) was set by the photographer
    # or another tool. A sidecar with no xmp:Rating at all has nothing to protect.
    if state.rating is not None and state.burstd_rating != state.rating and not force:
        return Plan(PlanAction.KEEP_MANUAL)
    changes = {key: text for key, text in wanted.items() if state.values.get(key) != text}
    if not changes:
        return Plan(PlanAction.UNCHANGED)
    return Plan(PlanAction.UPDATE, changes)


def render_new_sidecar(fields: SidecarFields) -> str:
    """A minimal packet shaped like darktable's own sidecars, holding only burstd's properties."""
    attrs = "".join(
        f'\n   {OWNED[key][1]}:{OWNED[key][2]}="{_escape_attr(text)}"'
        for key, text in owned_values(fields).items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:xmp="{XMP_NS}"\n'
        f'    xmlns:{BURSTD_PREFIX}="{BURSTD_NS}"{attrs}/>\n'
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
