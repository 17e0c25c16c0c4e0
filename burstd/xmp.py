"""What burstd owns inside an XMP sidecar, and how to add or change it without touching anything else.

Pure: bytes and strings in, bytes and strings out; no file I/O and no exiv2. `sidecars.py` is the
only caller that touches the disk.

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
from xml.parsers import expat

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


def read_packet(data: bytes) -> SidecarState:
    """Read the owned properties of a sidecar's bytes; raise `XmpError` saying why it is unusable."""
    found = _scan(data).found
    values = {key: spot.value for key, spot in found.items()}
    return SidecarState(
        rating=_parse_rating(values.get(RATING), "xmp:Rating"),
        burstd_rating=_parse_rating(values.get(BURSTD_RATING), "burstd:Rating"),
        values=values,
    )


def update_packet(data: bytes, updates: Mapping[str, str]) -> bytes:
    """Set owned properties in a packet, changing no byte outside their values.

    A property already present keeps its place and form (attribute or element); a missing one is
    added as an attribute of the `rdf:Description` that holds the others (or the first one),
    declaring its namespace there when needed.
    """
    scan = _scan(data)
    edits: list[tuple[int, int, bytes]] = []
    missing = []
    for key, text in updates.items():
        _check_xml_chars(text)
        spot = scan.found.get(key)
        if spot is None:
            missing.append(key)
        else:
            edits.append(spot.replacement(text))
    if missing:
        edits.append(_insertion(scan, missing, updates))
    out = data
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    result = {key: spot.value for key, spot in _scan(out).found.items()}
    if any(result.get(key) != text for key, text in updates.items()):  # cannot happen; never trust it
        raise XmpError("burstd could not edit this packet safely")
    return out


# --- reading the packet: where each owned property sits, byte for byte ---------------------------


@dataclass
class _Tag:
    """A start tag as written: its attributes' byte spans, and where it closes."""

    name: bytes
    start: int
    attrs: dict[bytes, tuple[int, int, int]]  # qname -> (name start, value start, value end)
    close: int  # index of the '/>' or '>'
    end: int  # index just after the tag
    self_closing: bool
    last_gap: bytes = b""  # the whitespace before the last attribute, as written


@dataclass
class _Spot:
    """Where one owned property's value is, and how to replace it."""

    value: str
    start: int  # the value's bytes (attribute value, or element content)
    end: int
    tag: _Tag | None = None  # set for an element, None for an attribute
    quote: bytes = b'"'

    def replacement(self, text: str) -> tuple[int, int, bytes]:
        if self.tag is None:
            return self.start, self.end, _escape_attr(text, self.quote.decode()).encode()
        body = _escape_text(text).encode()
        if self.tag.self_closing:  # <xmp:Rating/> becomes <xmp:Rating>3</xmp:Rating>
            return self.tag.close, self.tag.end, b">" + body + b"</" + self.tag.name + b">"
        return self.start, self.end, body


@dataclass
class _Description:
    tag: _Tag
    scope: dict[str, str]  # prefix -> URI in force on this element


@dataclass
class _Scan:
    descriptions: list[_Description] = field(default_factory=list)
    found: dict[str, _Spot] = field(default_factory=dict)
    holder: dict[str, int] = field(default_factory=dict)  # owned key -> index of its description


def _scan(data: bytes) -> _Scan:
    if not data.strip():
        raise XmpError("is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise XmpError("is not UTF-8 text, so not an XMP sidecar") from None
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise XmpError("is not XML")
    scanner = _Scanner(data)
    try:
        scanner.parser.Parse(data, True)
    except expat.ExpatError as err:
        raise XmpError(_expat_reason(err, data)) from None
    if not scanner.seen_rdf:
        raise XmpError(scanner.not_xmp or "is XML but not XMP (no rdf:RDF element)")
    return scanner.scan


class _Scanner:
    """Walks the packet with expat, tracking prefixes itself so it knows how the file spells them."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.scan = _Scan()
        self.stack: list[tuple[str, dict[str, str]]] = []  # (role, scope) per open element
        self.seen_rdf = False
        self.not_xmp = ""
        self.prop: tuple[str, _Tag, list[str]] | None = None  # owned element being read
        p = expat.ParserCreate()  # no namespace processing: prefixes matter here
        p.ordered_attributes = True
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars
        p.StartDoctypeDeclHandler = self.doctype
        self.parser = p

    def doctype(self, *_args: object) -> None:
        # XMP never has a DTD; refusing one also rules out entity expansion tricks.
        raise XmpError("is not XMP (it has a DOCTYPE)")

    def start(self, name: str, attr_list: list[str]) -> None:
        attrs = dict(zip(attr_list[::2], attr_list[1::2]))
        scope = dict(self.stack[-1][1]) if self.stack else {"xml": XML_NS}
        for attr, value in attrs.items():
            if attr == "xmlns" or attr.startswith("xmlns:"):
                scope[attr[6:]] = value
        uri, local = _resolve(name, scope)
        parent = self.stack[-1][0] if self.stack else ""
        role = "other"
        if self.prop is not None:
            self.prop[2].append("\0")  # a child element: not a simple value
        elif parent == "" and (uri, local) in ((META_NS, "xmpmeta"), (META_NS, "xapmeta")):
            role = "meta"
        elif parent in ("", "meta") and (uri, local) == (RDF_NS, "RDF"):
            role, self.seen_rdf = "rdf", True
        elif parent == "":
            self.not_xmp = f"is XML but not XMP (its root element is <{name}>)"
        elif parent == "rdf" and (uri, local) == (RDF_NS, "Description"):
            role = "description"
            self.description(_read_tag(self.data, self.parser.CurrentByteIndex), attrs, scope)
        elif parent == "description" and (uri, local) in _KEY_OF:
            tag = _read_tag(self.data, self.parser.CurrentByteIndex)
            if set(attrs) - {"xml:lang", "rdf:datatype"} - {a for a in attrs if a.startswith("xmlns")}:
                raise XmpError(f"{_pretty(_KEY_OF[uri, local])} is not a simple value")
            role = "property"
            self.prop = (_KEY_OF[uri, local], tag, [])
        self.stack.append((role, scope))

    def description(self, tag: _Tag, attrs: dict[str, str], scope: dict[str, str]) -> None:
        index = len(self.scan.descriptions)
        self.scan.descriptions.append(_Description(tag, scope))
        for attr, value in attrs.items():
            if ":" not in attr or attr.startswith("xmlns"):
                continue
            key = _KEY_OF.get(_resolve(attr, scope))
            if key is not None:
                _, start, end = tag.attrs[attr.encode()]
                self.found_at(key, index, _Spot(value, start, end, quote=self.data[start - 1 : start]))

    def found_at(self, key: str, index: int, spot: _Spot) -> None:
        if key in self.scan.found:
            raise XmpError(f"{_pretty(key)} appears more than once")
        self.scan.found[key] = spot
        self.scan.holder[key] = index

    def chars(self, text: str) -> None:
        if self.prop is not None:
            self.prop[2].append(text)

    def end(self, _name: str) -> None:
        role, _scope = self.stack.pop()
        if role != "property" or self.prop is None:
            return
        key, tag, parts = self.prop
        self.prop = None
        if "\0" in parts:
            raise XmpError(f"{_pretty(key)} is not a simple value")
        end = tag.end if tag.self_closing else self.parser.CurrentByteIndex
        self.found_at(key, len(self.scan.descriptions) - 1, _Spot("".join(parts), tag.end, end, tag))


def _read_tag(data: bytes, start: int) -> _Tag:
    """Tokenise the start tag at `start` (expat has already checked it is well formed)."""
    i = start + 1
    while data[i : i + 1] not in (b" ", b"\t", b"\r", b"\n", b"/", b">"):
        i += 1
    name = data[start + 1 : i]
    attrs: dict[bytes, tuple[int, int, int]] = {}
    gap = b""
    while True:
        gap_start = i
        while data[i : i + 1] in (b" ", b"\t", b"\r", b"\n"):
            i += 1
        if data[i : i + 1] in (b"/", b">"):
            self_closing = data[i : i + 1] == b"/"
            return _Tag(name, start, attrs, i, data.index(b">", i) + 1, self_closing, gap)
        gap = data[gap_start:i]
        name_start = i
        i = data.index(b"=", i)
        attr = data[name_start:i].strip()
        i += 1
        while data[i : i + 1] not in (b'"', b"'"):
            i += 1
        value_end = data.index(data[i : i + 1], i + 1)
        attrs[attr] = (name_start, i + 1, value_end)
        i = value_end + 1


def _resolve(qname: str, scope: dict[str, str]) -> tuple[str, str]:
    prefix, _, local = qname.rpartition(":")
    return scope.get(prefix, "") if prefix else scope.get("", ""), local


def _expat_reason(err: expat.ExpatError, data: bytes) -> str:
    message = expat.ErrorString(err.code)
    # expat raises these only when the input ends before the document does.
    if message in ("no element found", "unclosed token", "partial character", "unclosed CDATA section"):
        lines = data.count(b"\n") + 1
        return f"is truncated (the XML stops at line {lines})"
    return f"is not well-formed XML ({message} at line {err.lineno}, column {err.offset + 1})"


# --- writing -------------------------------------------------------------------------------------


def _insertion(scan: _Scan, keys: list[str], updates: Mapping[str, str]) -> tuple[int, int, bytes]:
    """Add the missing owned properties as attributes, beside the owned ones already there."""
    if not scan.descriptions:
        raise XmpError("has no rdf:Description to add burstd's properties to")
    index = min(scan.holder.values(), default=0)
    description = scan.descriptions[index]
    tag, scope = description.tag, dict(description.scope)
    gap = _attribute_gap(tag)
    declarations, attributes = b"", b""
    for key in keys:
        uri, usual, name = OWNED[key]
        prefix = _prefix_for(uri, usual, scope)
        if scope.get(prefix) != uri:
            scope[prefix] = uri
            declarations += gap + f'xmlns:{prefix}="{uri}"'.encode()
        attributes += gap + f'{prefix}:{name}="{_escape_attr(updates[key])}"'.encode()
    at = max((span[2] + 1 for span in tag.attrs.values()), default=tag.start + 1 + len(tag.name))
    return at, at, declarations + attributes


def _prefix_for(uri: str, usual: str, scope: dict[str, str]) -> str:
    if scope.get(usual) == uri:
        return usual
    for prefix, bound in scope.items():
        if bound == uri and prefix:
            return prefix
    prefix, n = usual, 1
    while prefix in scope:  # the usual prefix means something else here: pick a free one
        n += 1
        prefix = f"{usual}{n}"
    return prefix


def _attribute_gap(tag: _Tag) -> bytes:
    """The whitespace the file puts before its last attribute, so added ones look like the rest."""
    return tag.last_gap or b" "


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str, quote: str = '"') -> str:
    escaped = _escape_text(text).replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    return escaped.replace('"', "&quot;") if quote == '"' else escaped.replace("'", "&apos;")


def _check_xml_chars(text: str) -> None:
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in text) or "\ufffe" in text or "\uffff" in text:
        raise ValueError(f"{text!r} holds characters XML cannot carry")


def _parse_rating(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        raise XmpError(f"{what} is not a number: {text!r}") from None
    if not number.is_integer():
        raise XmpError(f"{what} is not a whole number: {text!r}")
    return int(number)


def _pretty(key: str) -> str:
    _uri, prefix, name = OWNED[key]
    return f"{prefix}:{name}"
