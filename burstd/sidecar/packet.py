"""Read and edit the bytes of an existing XMP packet, changing nothing but what burstd owns.

Pure: bytes in, bytes out. An existing packet is never re-serialised: `update_packet` rewrites the
bytes of owned simple values in place (or adds them as attributes of the `rdf:Description`), takes out
owned attributes, elements and array items with the whitespace before them, and appends array items
after the last one, indented like it. Every other byte stays as it was -- prefixes, darktable's
history, comments, the xpacket wrapper and its padding. See `xmp.py` for what burstd owns;
`new_packet` builds a new sidecar with the same editor, from a blank packet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.parsers import expat

from burstd.models import SidecarFields
from burstd.sidecar.xmp import (
    _ARRAY_OF,
    _KEY_OF,
    ARRAYS,
    BLANK_PACKET,
    BURSTD_RATING,
    HISTORY,
    META_NS,
    RATING,
    RDF_NS,
    SIMPLE,
    XML_NS,
    ArrayEdit,
    SidecarState,
    XmpError,
    _check_xml_chars,
    _escape_attr,
    _escape_text,
    edited,
    plan_sidecar,
)

_SPACE = b" \t\r\n"


def read_packet(data: bytes) -> SidecarState:
    """Read what burstd reads in a sidecar's bytes; raise `XmpError` saying why it is unusable."""
    scan = _scan(data)
    values = {key: spot.value for key, spot in scan.found.items()}
    return SidecarState(
        rating=_parse_rating(values.get(RATING), "xmp:Rating"),
        burstd_rating=_parse_rating(values.get(BURSTD_RATING), "burstd:Rating"),
        values=values,
        arrays={key: tuple(item.value for item in array.items) for key, array in scan.arrays.items()},
        darktable_history=scan.darktable_history,
    )


def new_packet(fields: SidecarFields) -> bytes:
    """A new sidecar holding burstd's values for `fields` (and nothing else)."""
    plan = plan_sidecar(None, fields, force=False)
    return update_packet(BLANK_PACKET.encode(), plan.updates, plan.removals, plan.arrays)


def update_packet(
    data: bytes,
    updates: Mapping[str, str],
    removals: tuple[str, ...] = (),
    arrays: Mapping[str, ArrayEdit] | None = None,
) -> bytes:
    """Set, remove and edit owned properties in a packet, changing no byte outside them.

    A simple property already present keeps its place and form (attribute or element); a missing
    one is added as an attribute of the `rdf:Description` that holds the others (or the first one),
    declaring its namespace there when needed. A missing array is added as a child element of that
    description; an array left empty is taken out.
    """
    arrays = arrays or {}
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
    for key in removals:
        if key in scan.found:
            edits.append((scan.found[key].whole_start, scan.found[key].whole_end, b""))
    new_arrays = []
    for key, edit in arrays.items():
        for text in edit.add:
            _check_xml_chars(text)
        array = scan.arrays.get(key)
        if array is None:
            if edit.add:
                new_arrays.append(key)
        else:
            edits.extend(_array_edits(data, array, edit))
    if missing or new_arrays:
        edits.extend(_additions(data, scan, missing, updates, new_arrays, arrays))
    out = data
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + new + out[end:]
    _verify(scan, _scan(out), updates, removals, arrays)
    return out


def _verify(
    before: _Scan, after: _Scan, updates: Mapping[str, str], removals: tuple[str, ...], arrays: Mapping[str, ArrayEdit]
) -> None:
    """Read the result back: exactly the intended values. This cannot fail; it is never trusted to."""
    if _properties(after) != edited(_properties(before), updates, removals, arrays):
        raise XmpError("burstd could not edit this packet safely")


def _properties(scan: _Scan) -> dict[str, object]:
    """Every property burstd reads: simple ones as text, arrays as lists."""
    return {key: spot.value for key, spot in scan.found.items()} | {
        key: [item.value for item in array.items] for key, array in scan.arrays.items()
    }


# --- reading the packet: where each property sits, byte for byte ---------------------------------


@dataclass
class _Tag:
    """A start tag as written: its attributes' byte spans, and where it closes."""

    name: bytes
    start: int
    attrs: dict[bytes, tuple[int, int, int, int]]  # qname -> (gap start, name start, value start, value end)
    close: int  # index of the '/>' or '>'
    end: int  # index just after the tag
    self_closing: bool
    last_gap: bytes = b""  # the whitespace before the last attribute, as written


@dataclass
class _Spot:
    """Where one simple property's value is, how to replace it, and what to cut to remove it."""

    value: str
    start: int  # the value's bytes (attribute value, or element content)
    end: int
    whole_start: int  # the whole attribute or element, with the whitespace before it
    whole_end: int
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
class _Item:
    value: str
    whole_start: int  # the rdf:li element with the whitespace before it
    whole_end: int


@dataclass
class _Array:
    """An array property (`<dc:subject><rdf:Bag><rdf:li>...`) and where its parts are."""

    key: str
    whole_start: int
    whole_end: int = 0
    container: _Tag | None = None
    container_close: int = 0  # where the whitespace before `</rdf:Bag>` starts
    items: list[_Item] = field(default_factory=list)


@dataclass
class _Description:
    tag: _Tag
    scope: dict[str, str]  # prefix -> URI in force on this element
    close: int = 0  # where the whitespace before `</rdf:Description>` starts (0: self-closing)
    first_child: int = 0  # where the whitespace before its first child element starts (0: none)
    child_at: int = 0  # where that child's `<` is


@dataclass
class _Scan:
    descriptions: list[_Description] = field(default_factory=list)
    found: dict[str, _Spot] = field(default_factory=dict)
    holder: dict[str, int] = field(default_factory=dict)  # simple key -> index of its description
    arrays: dict[str, _Array] = field(default_factory=dict)
    darktable_history: int = 0  # items of darktable:history (counted, never read or edited)


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
        self.prop: tuple[str, _Tag, list[str], int] | None = None  # simple element being read
        self.array: _Array | None = None  # array element being read
        self.item: tuple[_Tag, list[str], int] | None = None  # its rdf:li being read
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
        at = self.parser.CurrentByteIndex
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
            self.description(_read_tag(self.data, at), attrs, scope)
        elif parent == "description":
            description = self.scan.descriptions[-1]
            if not description.first_child:
                description.first_child, description.child_at = _space_before(self.data, at), at
            if (uri, local) in _KEY_OF:
                key = _KEY_OF[uri, local]
                if set(attrs) - {"xml:lang", "rdf:datatype"} - {a for a in attrs if a.startswith("xmlns")}:
                    raise XmpError(f"{_pretty(key)} is not a simple value")
                role = "property"
                self.prop = (key, _read_tag(self.data, at), [], _space_before(self.data, at))
            elif (uri, local) in _ARRAY_OF:
                role = "array"
                self.array = _Array(_ARRAY_OF[uri, local], _space_before(self.data, at))
            elif (uri, local) == HISTORY:
                role = "history"
        elif parent == "history" and (uri, local) in ((RDF_NS, "Seq"), (RDF_NS, "Bag")):
            role = "history-items"
        elif parent == "history-items" and (uri, local) == (RDF_NS, "li"):
            self.scan.darktable_history += 1
        elif parent == "array" and self.array is not None:
            if self.array.container is not None or (uri, local) not in ((RDF_NS, "Bag"), (RDF_NS, "Seq"), (RDF_NS, "Alt")):
                raise XmpError(f"{_pretty(self.array.key)} is not an array of text")
            role = "container"
            self.array.container = _read_tag(self.data, at)
        elif parent == "container" and self.array is not None:
            if (uri, local) != (RDF_NS, "li"):
                raise XmpError(f"{_pretty(self.array.key)} is not an array of text")
            role = "item"
            self.item = (_read_tag(self.data, at), [], _space_before(self.data, at))
        elif parent == "item" and self.array is not None:
            raise XmpError(f"{_pretty(self.array.key)} is not an array of text")
        self.stack.append((role, scope))

    def description(self, tag: _Tag, attrs: dict[str, str], scope: dict[str, str]) -> None:
        index = len(self.scan.descriptions)
        self.scan.descriptions.append(_Description(tag, scope))
        for attr, value in attrs.items():
            if ":" not in attr or attr.startswith("xmlns"):
                continue
            resolved = _resolve(attr, scope)
            if resolved in _ARRAY_OF:
                raise XmpError(f"{_pretty(_ARRAY_OF[resolved])} is not an array of text")
            key = _KEY_OF.get(resolved)
            if key is not None:
                gap, _, start, end = tag.attrs[attr.encode()]
                spot = _Spot(value, start, end, gap, end + 1, quote=self.data[start - 1 : start])
                self.found_at(key, index, spot)

    def found_at(self, key: str, index: int, spot: _Spot) -> None:
        if key in self.scan.found:
            raise XmpError(f"{_pretty(key)} appears more than once")
        self.scan.found[key] = spot
        self.scan.holder[key] = index

    def chars(self, text: str) -> None:
        if self.prop is not None:
            self.prop[2].append(text)
        elif self.item is not None:
            self.item[1].append(text)
        elif self.array is not None and self.stack and self.stack[-1][0] in ("array", "container") and text.strip():
            raise XmpError(f"{_pretty(self.array.key)} is not an array of text")

    def end(self, _name: str) -> None:
        role, _scope = self.stack.pop()
        at = self.parser.CurrentByteIndex
        if role == "description":
            description = self.scan.descriptions[-1]
            if not description.tag.self_closing:
                description.close = _space_before(self.data, at)
        elif role == "property" and self.prop is not None:
            key, tag, parts, whole_start = self.prop
            self.prop = None
            if "\0" in parts:
                raise XmpError(f"{_pretty(key)} is not a simple value")
            end = tag.end if tag.self_closing else at
            spot = _Spot("".join(parts), tag.end, end, whole_start, _end_of(self.data, tag, at), tag)
            self.found_at(key, len(self.scan.descriptions) - 1, spot)
        elif role == "item" and self.item is not None and self.array is not None:
            tag, parts, whole_start = self.item
            self.item = None
            self.array.items.append(_Item("".join(parts), whole_start, _end_of(self.data, tag, at)))
        elif role == "container" and self.array is not None and self.array.container is not None:
            container = self.array.container
            self.array.container_close = 0 if container.self_closing else _space_before(self.data, at)
        elif role == "array" and self.array is not None:
            array, self.array = self.array, None
            if array.container is None:
                raise XmpError(f"{_pretty(array.key)} is not an array of text")
            array.whole_end = self.data.index(b">", at) + 1 if self.data[at : at + 2] == b"</" else at
            if array.key in self.scan.arrays:
                raise XmpError(f"{_pretty(array.key)} appears more than once")
            self.scan.arrays[array.key] = array


def _read_tag(data: bytes, start: int) -> _Tag:
    """Tokenise the start tag at `start` (expat has already checked it is well formed)."""
    i = start + 1
    while data[i : i + 1] not in (b" ", b"\t", b"\r", b"\n", b"/", b">"):
        i += 1
    name = data[start + 1 : i]
    attrs: dict[bytes, tuple[int, int, int, int]] = {}
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
        attrs[attr] = (gap_start, name_start, i + 1, value_end)
        i = value_end + 1


def _end_of(data: bytes, tag: _Tag, end_event_at: int) -> int:
    """The index just after an element: its start tag if empty, else its end tag."""
    return tag.end if tag.self_closing else data.index(b">", end_event_at) + 1


def _space_before(data: bytes, at: int) -> int:
    """Where the run of whitespace just before `at` starts."""
    while at > 0 and data[at - 1 : at] in (b" ", b"\t", b"\r", b"\n"):
        at -= 1
    return at


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


@dataclass(frozen=True)
class _Layout:
    """How the file lays out its lines: the newline, and one step of indentation."""

    newline: bytes
    unit: bytes

    @classmethod
    def of(cls, data: bytes, sample_indent: bytes) -> _Layout:
        if b"\n" not in data:
            return cls(b"", b"")  # a packet on one line stays on one line
        return cls(b"\r\n" if b"\r\n" in data else b"\n", b"\t" if b"\t" in sample_indent else b" ")


def _indent_of(data: bytes, at: int) -> bytes:
    """The whitespace between the start of the line and `at` (empty when other text precedes it)."""
    line_start = data.rfind(b"\n", 0, at) + 1
    prefix = data[line_start:at]
    return prefix if not prefix.strip(b" \t") else b""


def _array_edits(data: bytes, array: _Array, edit: ArrayEdit) -> list[tuple[int, int, bytes]]:
    edits = [(item.whole_start, item.whole_end, b"") for item in array.items if item.value in edit.remove]
    if not edit.add and len(edits) == len(array.items) and array.items:
        return [(array.whole_start, array.whole_end, b"")]  # nothing left in it: take the property out
    if not edit.add:
        return edits
    container = array.container
    assert container is not None
    li = _prefix_of(container.name) + b"li"
    if array.items:
        first = array.items[0]
        lead = data[first.whole_start : data.index(b"<", first.whole_start)]
    else:
        layout = _Layout.of(data, _indent_of(data, container.start))
        lead = layout.newline + _indent_of(data, container.start) + layout.unit if layout.newline else b""
    added = b"".join(lead + _item(li, text) for text in edit.add)
    if container.self_closing:  # <rdf:Bag/> becomes <rdf:Bag>...</rdf:Bag>
        tail = (lead[: lead.rfind(b"\n") + 1] + _indent_of(data, container.start)) if b"\n" in lead else b""
        edits.append((container.close, container.end, b">" + added + tail + b"</" + container.name + b">"))
    else:
        edits.append((array.container_close, array.container_close, added))
    return edits


def _additions(
    data: bytes,
    scan: _Scan,
    keys: list[str],
    updates: Mapping[str, str],
    new_arrays: list[str],
    arrays: Mapping[str, ArrayEdit],
) -> list[tuple[int, int, bytes]]:
    """Add missing simple properties as attributes and missing arrays as children, beside burstd's others."""
    if not scan.descriptions:
        raise XmpError("has no rdf:Description to add burstd's properties to")
    description = scan.descriptions[min(scan.holder.values(), default=0)]
    tag, scope = description.tag, dict(description.scope)
    gap = tag.last_gap or b" "
    declarations, attributes = b"", b""

    def prefix_of(uri: str, usual: str) -> str:
        nonlocal declarations
        prefix = _prefix_for(uri, usual, scope, [p for d in scan.descriptions for p, u in d.scope.items() if u == uri])
        if scope.get(prefix) != uri:
            scope[prefix] = uri
            declarations += gap + f'xmlns:{prefix}="{uri}"'.encode()
        return prefix

    for key in keys:
        uri, usual, name = SIMPLE[key]
        attributes += gap + f'{prefix_of(uri, usual)}:{name}="{_escape_attr(updates[key])}"'.encode()
    edits = []
    if new_arrays:
        rdf = prefix_of(RDF_NS, "rdf")
        indent = _indent_of(data, tag.start)
        layout = _Layout.of(data, indent)
        child = _indent_of(data, description.child_at) if description.first_child else indent + layout.unit
        nl, unit = layout.newline, layout.unit
        children = b""
        for key in new_arrays:
            uri, usual, name, kind = ARRAYS[key]
            prop = f"{prefix_of(uri, usual)}:{name}".encode()
            container = f"{rdf}:{kind}".encode()
            items = b"".join(
                nl + child + unit * 2 + _item(f"{rdf}:li".encode(), text)
                for text in arrays[key].add
            )
            children += (
                nl + child + b"<" + prop + b">" + nl + child + unit + b"<" + container + b">" + items
                + nl + child + unit + b"</" + container + b">" + nl + child + b"</" + prop + b">"
            )
        if tag.self_closing:
            edits.append((tag.close, tag.end, b">" + children + nl + indent + b"</" + tag.name + b">"))
        else:
            edits.append((description.close, description.close, children))
    at = max((span[3] + 1 for span in tag.attrs.values()), default=tag.start + 1 + len(tag.name))
    edits.append((at, at, declarations + attributes))
    return edits


def _item(li: bytes, text: str) -> bytes:
    """`<rdf:li>text</rdf:li>`, spelt with the file's prefix for RDF."""
    return b"<" + li + b">" + _escape_text(text).encode() + b"</" + li + b">"


def _prefix_of(name: bytes) -> bytes:
    """`rdf:` of `rdf:Bag` (empty for an unprefixed name)."""
    return name[: name.index(b":") + 1] if b":" in name else b""


def _prefix_for(uri: str, usual: str, scope: dict[str, str], elsewhere: list[str]) -> str:
    """The prefix to write `uri` with in `scope`: the file's own spelling, wherever it is bound.

    exiv2 reads nothing at all from a packet that binds one namespace to two prefixes in two
    descriptions, so a namespace the file already spells `xap:` elsewhere must be spelt `xap:` here too.
    """
    if scope.get(usual) == uri:
        return usual
    for prefix, bound in scope.items():
        if bound == uri and prefix:
            return prefix
    for prefix in elsewhere:
        if prefix and prefix not in scope:
            return prefix
    prefix, n = usual, 1
    while prefix in scope:  # the usual prefix means something else here: pick a free one
        n += 1
        prefix = f"{usual}{n}"
    return prefix


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
    if key in SIMPLE:
        _uri, prefix, name = SIMPLE[key]
    else:
        _uri, prefix, name, _kind = ARRAYS[key]
    return f"{prefix}:{name}"
