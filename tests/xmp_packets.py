"""XMP packets built from a small model, in the layout of the tool that wrote them.

A packet is a list of `Description`s of `Prop`s (simple values, arrays, attribute-only structs);
a `Layout` says how a tool writes them: quotes, line ends, indentation, where the xmlns go, the
xpacket wrapper and its padding. `render` turns both into bytes; `tests/xmp_forms.py` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

from burstd.sidecar import xmp

NS = {
    "xmp": xmp.XMP_NS,
    "burstd": xmp.BURSTD_NS,
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "darktable": "http://darktable.sf.net/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "stRef": "http://ns.adobe.com/xap/1.0/sType/ResourceRef#",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "aux": "http://ns.adobe.com/exif/1.0/aux/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
}
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def escape(value: str, charrefs: str = "") -> str:
    """Escaped for text and for attributes in either quote; non-ASCII as `&#233;` or `&#xE9;` refs."""
    out = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = out.replace('"', "&quot;").replace("'", "&apos;")
    if charrefs:
        form = "&#x{:X};" if charrefs == "hex" else "&#{};"
        out = "".join(c if ord(c) < 128 else form.format(ord(c)) for c in out)
    return out


@dataclass(frozen=True)
class Simple:
    text: str


@dataclass(frozen=True)
class Array:
    kind: str  # Seq, Bag or Alt
    items: tuple[str, ...]


@dataclass(frozen=True)
class Structs:
    """An rdf:Seq of structs written as attribute-only rdf:li (darktable's history, xmpMM:History)."""

    items: tuple[tuple[tuple[str, str, str], ...], ...]  # per item: (ns, name, text) fields


@dataclass(frozen=True)
class Struct:
    fields: tuple[tuple[str, str, str], ...]  # (ns, name, text)


Value = Simple | Array | Structs | Struct


@dataclass(frozen=True)
class Prop:
    ns: str
    name: str
    value: Value
    element: bool = False  # a simple value written as an element rather than an attribute


@dataclass(frozen=True)
class Description:
    props: tuple[Prop, ...]


@dataclass(frozen=True)
class Layout:
    nl: str = "\n"
    indent: str = " "
    ns_gap: str = "\n    "  # before each xmlns declaration of a Description
    attr_gap: str = "\n   "  # before each attribute of a Description
    li_gap: str = "\n      "  # before each attribute of an attribute-only rdf:li
    quote: str = '"'
    eq: str = "="
    close_gap: str = ""  # before a start tag's > or />
    charrefs: str = ""  # "decimal" or "hex": non-ASCII text as character references
    ns_on_rdf: bool = False  # declare every namespace once on rdf:RDF instead of per Description
    xml_decl: bool = True
    xpacket: bool = False
    padding: int = 0  # lines of 100 spaces before <?xpacket end?>
    bom: bool = False
    toolkit: str = ""
    meta: str = "xmpmeta"  # or "xapmeta", as Photoshop CS wrote it
    about: str | None = ""  # rdf:about of every Description (None: left out, which RDF allows)
    prefixes: tuple[tuple[str, str], ...] = ()  # namespaces the tool spells its own way: (usual, its)
    comment: str = ""  # a comment inside rdf:RDF, before the descriptions
    blank_lines: bool = False  # between descriptions, as exiftool writes them


def render(descriptions: list[Description], lay: Layout, prefixes: dict[str, str] | None = None) -> bytes:
    """The packet's bytes; `prefixes` respells namespaces throughout (`{"xmp": "xap"}`)."""
    q, nl, ind = lay.quote, lay.nl, lay.indent

    def pfx(ns: str) -> str:
        return (prefixes or {}).get(ns, ns)

    def refs(ns: str) -> str:
        return "" if ns == "burstd" else lay.charrefs  # burstd itself never writes references

    def attr(ns: str, name: str, value: str) -> str:
        return f"{pfx(ns)}:{name}{lay.eq}{q}{escape(value, refs(ns))}{q}"

    def used(d: Description) -> list[str]:
        names = []
        for p in d.props:
            names.append(p.ns)
            if isinstance(p.value, Structs):
                names += [f[0] for item in p.value.items for f in item]
            if isinstance(p.value, Struct):
                names += [f[0] for f in p.value.fields]
        return list(dict.fromkeys(names))

    def element(p: Prop, depth: int) -> str:
        at = nl + ind * depth
        name = f"{pfx(p.ns)}:{p.name}"
        v = p.value
        if isinstance(v, Simple):
            return f"{at}<{name}>{escape(v.text, refs(p.ns))}</{name}>"
        if isinstance(v, Struct):
            return f"{at}<{name} " + " ".join(attr(*f) for f in v.fields) + f"{lay.close_gap}/>"
        inner = at + ind * 2
        if isinstance(v, Array):
            lang = f" xml:lang={q}x-default{q}" if v.kind == "Alt" else ""
            items = "".join(f"{inner}<rdf:li{lang}>{escape(t, lay.charrefs)}</rdf:li>" for t in v.items)
        else:
            items = "".join(
                f"{inner}<rdf:li" + "".join(lay.li_gap + attr(*f) for f in item) + f"{lay.close_gap}/>"
                for item in v.items
            )
        kind = v.kind if isinstance(v, Array) else "Seq"
        return f"{at}<{name}>{at}{ind}<rdf:{kind}>{items}{at}{ind}</rdf:{kind}>{at}</{name}>"

    every_ns = list(dict.fromkeys(ns for d in descriptions for ns in used(d)))
    out = []
    if lay.bom:
        out.append("\ufeff")
    if lay.xml_decl:
        out.append(f"<?xml version={q}1.0{q} encoding={q}UTF-8{q}?>{nl}")
    if lay.xpacket:
        out.append(f"<?xpacket begin={q}\ufeff{q} id={q}W5M0MpCehiHzreSzNTczkc9d{q}?>{nl}")
    toolkit = f" x:{lay.meta[:3]}tk={q}{lay.toolkit}{q}" if lay.toolkit else ""
    out.append(f"<x:{lay.meta} xmlns:x={q}adobe:ns:meta/{q}{toolkit}>{nl}{ind}<rdf:RDF xmlns:rdf={q}{RDF}{q}")
    if lay.ns_on_rdf:
        out += [f"{lay.ns_gap}xmlns:{pfx(ns)}={q}{NS[ns]}{q}" for ns in every_ns]
    out.append(">")
    if lay.comment:
        out.append(f"{nl}{ind * 2}<!-- {lay.comment} -->")
    for d in descriptions:
        if lay.blank_lines:
            out.append(nl)
        about = "" if lay.about is None else f" rdf:about{lay.eq}{q}{lay.about}{q}"
        out.append(f"{nl}{ind * 2}<rdf:Description{about}")
        if not lay.ns_on_rdf:
            out += [f"{lay.ns_gap}xmlns:{pfx(ns)}={q}{NS[ns]}{q}" for ns in used(d)]
        out += [lay.attr_gap + attr(p.ns, p.name, p.value.text) for p in d.props if _is_attr(p)]
        children = [element(p, 3) for p in d.props if not _is_attr(p)]
        if children:
            out.append(f"{lay.close_gap}>{''.join(children)}{nl}{ind * 2}</rdf:Description>")
        else:
            out.append(f"{lay.close_gap}/>")
    out.append(f"{nl}{ind}</rdf:RDF>{nl}</x:{lay.meta}>")
    if lay.xpacket:
        out.append(nl + "".join(" " * 100 + nl for _ in range(lay.padding)) + f"<?xpacket end={q}w{q}?>")
    out.append(nl)
    return "".join(out).encode("utf-8")


def _is_attr(p: Prop) -> bool:
    return isinstance(p.value, Simple) and not p.element
