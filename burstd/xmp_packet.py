"""Read and edit the bytes of an existing XMP packet, changing nothing but burstd's own values.

Pure: bytes in, bytes out. An existing packet is never re-serialised: `update_packet` rewrites the
bytes of the owned values in place (or adds them as attributes of the `rdf:Description`) and leaves
every other byte as it was -- prefixes, darktable's history, comments, the xpacket wrapper and its
padding. See `xmp.py` for what burstd owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.parsers import expat

from burstd.xmp import (
    BURSTD_RATING,
    META_NS,
    OWNED,
    RATING,
    RDF_NS,
    XML_NS,
    SidecarState,
    XmpError,
    _check_xml_chars,
    _escape_attr,
    _escape_text,
    _KEY_OF,
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
