"""XMP sidecars in the shapes real tools write them, as hypothesis strategies.

Each strategy yields a `Sidecar`: the bytes of a packet plus what the generator put in it of the
properties burstd owns, so a test can tell what burstd ought to do without asking burstd. The forms:

* darktable: `<?xml?>`, no xpacket, one `rdf:Description` with the xmlns and attributes on lines of
  their own, `darktable:history` and `masks_history` as `rdf:Seq`s of attribute-only `rdf:li`s,
  `iop_order_list`, tags in `dc:subject` / `lr:hierarchicalSubject`, `darktable:colorlabels`;
* Lightroom: xpacket with padding, every simple property as an attribute on one line, `crs:`
  settings, tone curves, `xmpMM:History`, `xmpMM:DerivedFrom`, `photoshop:`, `xmp:Label`;
* digiKam: no xpacket, single quotes, tabs, `digiKam:TagsList`, `PickLabel`, `ColorLabel`, comments;
* exiftool: xpacket, single quotes, one `rdf:Description` per namespace, every property an element;
* Photoshop CS: the same shape in `x:xapmeta`, `rdf:about='uuid:...'`, `xap:` and `xapMM:` prefixes;
* mutations of the real samples in `tests/data/sidecars`.

The photographer's keywords (`dc:subject`, and `lr:hierarchicalSubject` or not) often include words
burstd writes too (`pick`, `burst`, `burstd`); `darktable:colorlabels` and `digiKam:PickLabel` appear
where those tools leave them. `tagged_fields` draws fields with burstd's keywords and labels.

Across them: `xmp:Rating` missing, an attribute or an element, spelt `xmp:` or `xap:`; burstd's own
properties from an earlier write (as attributes, or as elements after exiftool rewrote the file) or
none; CRLF line ends, spaces around `=`, character references, comments, a BOM, Unicode text.

A few forms are `exotic`: valid XML that exiv2 (which darktable uses) reads differently from the
text, such as one namespace spelt with two prefixes in two descriptions, where exiv2 silently reads
nothing at all, or `&#xE9;`, which exiv2 reads as a space. burstd may refuse those, and only those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from hypothesis import strategies as st

from burstd.sidecar import xmp
from burstd.models import SidecarFields
from tests.xmp_packets import Array, Description, Layout, Prop, Simple, Struct, Structs, escape, render

SAMPLES = Path(__file__).parent / "data" / "sidecars"

BURSTD_KEYS = [key for key in xmp.OWNED if key != xmp.RATING]


@dataclass(frozen=True)
class Sidecar:
    data: bytes
    form: str  # "darktable", "lightroom", ..., "sample:IMG_5910.xmp"
    owned: dict[str, str]  # owned key -> its text in the file, for every owned property present
    exotic: str = ""  # why exiv2 may read this differently (burstd may refuse it); "" when realistic
    features: tuple[str, ...] = ()  # what varies, for `hypothesis.event`


# --- text --------------------------------------------------------------------------------------

# Printable, XML-safe text: letters, marks, digits, punctuation, symbols and spaces of any script.
text = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")), min_size=1, max_size=16
)
word = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=10)
# About one draw in ten. Not `== 0`: hypothesis favours the simplest value, so that would be far more.
rarely = st.integers(0, 9).map(lambda n: n == 7)
# Keywords a photographer may well have that are also flat keywords burstd writes (the levels of
# `burstd|burst|<date> <id>` and `burstd|pick`), or look like them: burstd must never add such a
# keyword twice, nor take it away.
COLLIDING = ("pick", "burst", "burstd", "Pick", "burstd pick")
# A user's keyword: anything but `|` (the hierarchy separator); one in four is one of `COLLIDING`.
_free_keyword = text.map(lambda t: t.replace("|", "/").strip() or "x").filter(lambda t: not t.startswith("burstd"))
keyword = st.one_of(_free_keyword, _free_keyword, _free_keyword, st.sampled_from(COLLIDING))
# A user's hierarchical keyword: never under burstd's own root `burstd|` (every keyword there is burstd's).
hierarchical = st.lists(keyword, min_size=1, max_size=4).map("|".join).map(
    lambda t: "my " + t if t.startswith(xmp.TAG_ROOT) else t
)
# The container of a keyword list: rdf:Bag, as the specifications say; a few writers use rdf:Seq.
keyword_container = rarely.map(lambda seq: "Seq" if seq else "Bag")
hexes = st.binary(min_size=2, max_size=24).map(bytes.hex)
b64 = st.sampled_from(["gz31eNpjYhgFQwkAAAUQAAM=", "gz16eNpjZmBgYGRAACxsewaGBnuGUTDgAACPBQEF", "gz35eJxjZBgFo4CBAQAEEAAC"])
integer = st.integers(-5, 99_999).map(str)


# --- what burstd owns, placed the ways tools leave it --------------------------------------------


@dataclass(frozen=True)
class Owned:
    """The owned properties a sidecar starts with, and in which form."""

    rating: str | None = None
    rating_element: bool = False
    burstd: dict[str, str] = field(default_factory=dict)
    burstd_elements: bool = False  # in a Description of their own, as elements (exiftool rewrote it)

    def texts(self) -> dict[str, str]:
        return ({xmp.RATING: self.rating} if self.rating is not None else {}) | self.burstd

    def features(self) -> tuple[str, ...]:
        rating = "none" if self.rating is None else "element" if self.rating_element else "attribute"
        mine = "none" if not self.burstd else "elements apart" if self.burstd_elements else "attributes"
        ours = self.rating is not None and self.burstd.get(xmp.BURSTD_RATING) == self.rating
        return (f"xmp:Rating {rating}" + (" (burstd's)" if ours else ""), f"burstd properties: {mine}")


@st.composite
def owned_states(draw: st.DrawFn, fields: SidecarFields) -> Owned:
    """No rating, the photographer's, or burstd's own from an earlier write (maybe of these very fields)."""
    rating = draw(st.one_of(st.none(), st.integers(-1, 5).map(str)))
    history = draw(st.sampled_from(["none", "earlier", "same", "partial"]))
    burstd: dict[str, str] = {}
    if history == "same":  # burstd already wrote exactly these fields
        burstd = {k: v for k, v in xmp.owned_values(fields).items() if k != xmp.RATING}
        rating = xmp.owned_values(fields)[xmp.RATING]
    elif history in ("earlier", "partial"):
        old = SidecarFields(
            rating=draw(st.integers(-1, 5)),
            burst_id=draw(burst_ids),
            rank=draw(st.integers(1, 9)),
            burst_size=draw(st.integers(1, 9)),
            sharpness=draw(sharpness),
        )
        burstd = {k: v for k, v in xmp.owned_values(old).items() if k != xmp.RATING}
        if history == "partial":
            keep = draw(st.sets(st.sampled_from(BURSTD_KEYS), min_size=1))
            burstd = {k: v for k, v in burstd.items() if k in keep}
        elif draw(st.booleans()):
            rating = burstd[xmp.BURSTD_RATING]  # untouched since: still burstd's own rating
    return Owned(rating, draw(st.booleans()), burstd, bool(burstd) and draw(st.booleans()))


def _with_owned(main: Description, owned: Owned, position: int) -> list[Description]:
    """`main` with the rating placed among its properties and burstd's after them (or apart)."""
    props = list(main.props)
    if owned.rating is not None:
        props.insert(position % (len(props) + 1), Prop("xmp", "Rating", Simple(owned.rating), owned.rating_element))
    mine = [Prop("burstd", xmp.OWNED[k][2], Simple(v), owned.burstd_elements) for k, v in owned.burstd.items()]
    if owned.burstd_elements:
        return [Description(tuple(props)), Description(tuple(mine))]
    return [Description(tuple(props + mine))]


# --- fields burstd writes ------------------------------------------------------------------------

# grouping.burst_id: letters, digits, `_-.` of the file name, a dash and eight hex digits.
burst_ids = st.builds(
    lambda stem, digest: f"{stem}-{digest:08x}",
    st.text(st.characters(categories=("L", "N"), include_characters="_-.", codec="utf-8"), min_size=1, max_size=40),
    st.integers(0, 2**32 - 1),
)
sharpness = st.floats(0, 1, allow_nan=False)


@st.composite
def sidecar_fields(draw: st.DrawFn) -> SidecarFields:
    size = draw(st.integers(1, 12))
    return SidecarFields(
        rating=draw(st.integers(-1, 5)),
        burst_id=draw(burst_ids),
        rank=draw(st.integers(1, size)),
        burst_size=size,
        sharpness=draw(sharpness),
    )


PICK_TAG = "burstd|pick"
_days = st.one_of(
    st.dates(date(1990, 1, 1), date(2099, 12, 31)).map(date.isoformat), st.just("undated")
)


@st.composite
def tagged_fields(draw: st.DrawFn) -> SidecarFields:
    """Fields with keywords and labels, as `tagging.sidecar_fields` makes them, and a little beyond.

    Mostly the burst keyword `burstd|burst|<day> <burst id>`, half the time `burstd|pick` too, and now
    and then another keyword under `burstd|`; a darktable colour label and a digiKam pick label or none.
    """
    fields = draw(sidecar_fields())
    leaf = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in fields.burst_id)  # as burst_keyword does
    tags = [] if draw(st.integers(0, 5)) == 5 else [f"burstd|burst|{draw(_days)} {leaf}"]
    if draw(st.booleans()):
        tags.append(PICK_TAG)
    if draw(rarely):
        levels = draw(st.lists(word.map(lambda w: "k" + w), min_size=1, max_size=2))
        tags.insert(draw(st.integers(0, len(tags))), "|".join(["burstd", *levels]))
    if tags and draw(rarely):  # the same keyword twice: burstd writes it once
        tags.append(draw(st.sampled_from(tags)))
    return replace(
        fields,
        tags=tuple(tags),
        color_label=draw(st.one_of(st.none(), st.integers(0, 4))),
        pick_label=draw(st.sampled_from([None, 1, 3])),
    )


def untagged(fields: SidecarFields) -> SidecarFields:
    """The same fields without keywords or labels (the tags and labels switched off)."""
    return replace(fields, tags=(), color_label=None, pick_label=None)


# --- the tools' forms ----------------------------------------------------------------------------

_NL = st.sampled_from(["\n", "\r\n"])
_EQ = st.sampled_from(["=", "=", "=", " = "])
_OPS = ["rawprepare", "temperature", "highlights", "demosaic", "exposure", "colorin", "channelmixerrgb",
        "colorbalancergb", "filmicrgb", "sigmoid", "flip", "colorout", "gamma", "lens", "denoiseprofile",
        "toneequal", "crop", "ashift", "retouch"]


@st.composite
def _history_item(draw: st.DrawFn, num: int) -> tuple[tuple[str, str, str], ...]:
    dt = "darktable"
    return (
        (dt, "num", str(num)),
        (dt, "operation", draw(st.sampled_from(_OPS))),
        (dt, "enabled", draw(st.sampled_from("01"))),
        (dt, "modversion", str(draw(st.integers(1, 9)))),
        (dt, "params", draw(st.one_of(hexes, b64))),
        (dt, "multi_name", draw(st.one_of(st.just(""), st.just("_builtin_auto"), text))),
        (dt, "multi_name_hand_edited", draw(st.sampled_from("01"))),
        (dt, "multi_priority", str(draw(st.integers(0, 3)))),
        (dt, "blendop_version", "14"),
        (dt, "blendop_params", draw(b64)),
    )


@st.composite
def _mask_item(draw: st.DrawFn) -> tuple[tuple[str, str, str], ...]:
    dt = "darktable"
    return (
        (dt, "mask_num", str(draw(st.integers(1, 20)))),
        (dt, "mask_id", str(draw(st.integers(1_000_000_000, 2_000_000_000)))),
        (dt, "mask_type", draw(st.sampled_from(["2", "4", "12", "24"]))),
        (dt, "mask_name", draw(st.one_of(st.just("ellipse #1"), text))),
        (dt, "mask_version", "6"),
        (dt, "mask_points", draw(hexes)),
        (dt, "mask_nb", str(draw(st.integers(1, 5)))),
        (dt, "mask_src", "0000000000000000"),
    )


@st.composite
def darktable(draw: st.DrawFn, owned: Owned) -> tuple[list[Description], Layout]:
    n = draw(st.integers(0, 10))
    history = tuple(draw(_history_item(i)) for i in range(n))
    masks = draw(st.lists(_mask_item(), max_size=3).map(tuple))
    dt = "darktable"
    props = [
        Prop("exif", "DateTimeOriginal", Simple("2024:05:18 16:42:07.310")),
        Prop("xmpMM", "DerivedFrom", Simple(draw(word) + ".CR2")),
        *[Prop(dt, name, Simple(draw(integer))) for name in ("import_timestamp", "change_timestamp")],
        Prop(dt, "export_timestamp", Simple("-1")),
        Prop(dt, "print_timestamp", Simple("-1")),
        Prop(dt, "xmp_version", Simple(draw(st.sampled_from("2345")))),
        Prop(dt, "raw_params", Simple("0")),
        Prop(dt, "auto_presets_applied", Simple("1")),
        Prop(dt, "history_end", Simple(str(draw(st.integers(0, n))))),
        Prop(dt, "iop_order_version", Simple(draw(st.sampled_from("01234")))),
    ]
    if draw(st.booleans()):
        order = ",".join(f"{op},{i % 2}" for i, op in enumerate(draw(st.lists(st.sampled_from(_OPS), min_size=1))))
        props.append(Prop(dt, "iop_order_list", Simple(order)))
    props += [Prop(dt, f"history_{h}_hash", Simple(draw(hexes))) for h in ("basic", "auto", "current")]
    children = []
    if masks:
        children.append(Prop(dt, "masks_history", Structs(masks)))
    if history:
        children.append(Prop(dt, "history", Structs(history)))
    tags = draw(st.lists(hierarchical, max_size=4, unique=True))
    if tags:
        flat = tuple(dict.fromkeys(level for t in tags for level in t.split("|")))
        kind = draw(keyword_container)
        children += [Prop("dc", "subject", Array(kind, flat)), Prop("lr", "hierarchicalSubject", Array(kind, tuple(tags)))]
    labels = draw(st.lists(st.sampled_from("01234"), max_size=3, unique=True))
    if labels:
        children.append(Prop(dt, "colorlabels", Array("Seq", tuple(labels))))
    main = Description(tuple(props + children))
    lay = Layout(
        nl=draw(_NL),
        eq=draw(_EQ),
        toolkit=draw(st.sampled_from(["XMP Core 4.4.0-Exiv2", ""])),
        close_gap=draw(st.sampled_from(["", "", " "])),
    )
    return _with_owned(main, owned, draw(st.integers(2, 3))), lay


_CRS = {
    "Version": ["9.1", "15.4"], "ProcessVersion": ["6.7", "11.0"], "WhiteBalance": ["As Shot", "Custom", "Auto"],
    "Temperature": ["4300", "5500"], "Tint": ["+20", "-3"], "Exposure2012": ["+0.12", "-1.35"],
    "Contrast2012": ["+12", "0"], "Highlights2012": ["-83"], "Shadows2012": ["+64"], "Clarity2012": ["+26"],
    "Vibrance": ["+19"], "Saturation": ["+17", "0"], "Sharpness": ["55", "40"], "ToneCurveName2012": ["Linear"],
    "CameraProfile": ["Camera Standard", "Adobe Standard"], "HasSettings": ["True"], "HasCrop": ["True", "False"],
    "CropTop": ["0.231776"], "CropAngle": ["0"], "AlreadyApplied": ["True", "False"], "ConvertToGrayscale": ["False"],
}


@st.composite
def lightroom(draw: st.DrawFn, owned: Owned) -> tuple[list[Description], Layout]:
    crs = draw(st.lists(st.sampled_from(sorted(_CRS)), min_size=3, unique=True))
    props = [
        Prop("xmp", "ModifyDate", Simple("2015-07-24T22:45:50+02:00")),
        Prop("xmp", "CreatorTool", Simple(draw(st.sampled_from(["Adobe Photoshop Lightroom 6.1 (Windows)", "Adobe Lightroom Classic 13.0 (Macintosh)"])))),
        Prop("dc", "format", Simple("image/jpeg")),
        Prop("aux", "Lens", Simple("EF-S15-85mm f/3.5-5.6 IS USM")),
        Prop("photoshop", "City", Simple(draw(text))),
        Prop("photoshop", "Country", Simple(draw(text))),
        Prop("xmpMM", "DocumentID", Simple("xmp.did:" + draw(hexes))),
        *[Prop("crs", name, Simple(draw(st.sampled_from(_CRS[name])))) for name in crs],
    ]
    if draw(st.booleans()):
        props.insert(2, Prop("xmp", "Label", Simple(draw(st.one_of(st.sampled_from(["Red", "Yellow", "Green"]), text)))))
    if draw(st.booleans()):
        props.append(Prop("MicrosoftPhoto", "Rating", Simple(draw(st.sampled_from(["1", "25", "50", "75", "99"])))))
    events = draw(st.lists(st.tuples(st.sampled_from(["saved", "derived", "converted"]), hexes, text), min_size=1, max_size=4))
    curve = tuple(f"{x}, {y}" for x, y in draw(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=2, max_size=5)))
    kind = draw(keyword_container)
    children = [
        Prop("dc", "creator", Array("Seq", (draw(text),))),
        Prop("dc", "title", Array("Alt", (draw(text),))),
        Prop("dc", "subject", Array(kind, tuple(draw(st.lists(keyword, min_size=1, max_size=4))))),
        Prop("xmpMM", "History", Structs(tuple(
            (("stEvt", "action", a), ("stEvt", "instanceID", "xmp.iid:" + i), ("stEvt", "softwareAgent", s))
            for a, i, s in events
        ))),
        Prop("xmpMM", "DerivedFrom", Struct((("stRef", "documentID", draw(hexes)), ("stRef", "originalDocumentID", draw(hexes))))),
        Prop("crs", "ToneCurvePV2012", Array("Seq", curve)),
    ]
    if draw(st.integers(0, 3)) != 3:  # flat keywords only, now and then: no lr:hierarchicalSubject
        children.append(Prop("lr", "hierarchicalSubject", Array(kind, tuple(draw(st.lists(hierarchical, min_size=1, max_size=3))))))
    main = Description(tuple(props + children))
    lay = Layout(
        nl=draw(_NL), indent="\t", ns_gap=" ", attr_gap=" ", li_gap=" ", xml_decl=False, xpacket=True,
        padding=draw(st.integers(0, 20)), toolkit="Adobe XMP Core 5.6-c140 79.160451, 2017/05/06-01:08:21        ",
        charrefs=draw(st.sampled_from(["", "decimal"])),
    )
    return _with_owned(main, owned, draw(st.integers(0, 4))), lay


@st.composite
def digikam(draw: st.DrawFn, owned: Owned) -> tuple[list[Description], Layout]:
    props = [
        Prop("xmpMM", "InstanceID", Simple("uuid:" + draw(hexes))),
        Prop("digiKam", "ColorLabel", Simple(draw(st.sampled_from("0123456789")))),
    ]
    if draw(st.booleans()):
        props.append(Prop("digiKam", "PickLabel", Simple(draw(st.sampled_from("0123")))))
    tags = draw(st.lists(hierarchical, min_size=1, max_size=4, unique=True))
    children = [
        Prop("digiKam", "TagsList", Array("Seq", tuple(t.replace("|", "/") for t in tags))),
        Prop("dc", "subject", Array("Bag", tuple(t.rsplit("|", 1)[-1] for t in tags))),
        Prop("lr", "hierarchicalSubject", Array("Bag", tuple(tags))),
    ]
    if draw(st.booleans()):
        children.append(Prop("MicrosoftPhoto", "LastKeywordXMP", Array("Bag", tuple(t.replace("|", "/") for t in tags))))
    main = Description(tuple(props + children))
    lay = Layout(
        nl=draw(_NL), indent="\t", ns_gap=" ", attr_gap=" ", quote="'", xml_decl=draw(st.booleans()),
        toolkit="XMP Core 4.4.0-Exiv2", comment=draw(st.sampled_from(["", "digiKam sidecar", "rating -- none"])).replace("--", "-"),
        ns_on_rdf=draw(st.booleans()),
    )
    return _with_owned(main, owned, draw(st.integers(0, 3))), lay


@st.composite
def exiftool(draw: st.DrawFn, owned: Owned, cs: bool = False) -> tuple[list[Description], Layout]:
    """One Description per namespace, every property an element, as exiftool (and Photoshop CS) write them."""
    xmp_props = [Prop("xmp", "CreatorTool", Simple(draw(text)), True)]
    if draw(st.booleans()):
        xmp_props.append(Prop("xmp", "Label", Simple(draw(st.sampled_from(["Red", "Blue", "Purple"]))), True))
    if owned.rating is not None:
        xmp_props.append(Prop("xmp", "Rating", Simple(owned.rating), owned.rating_element))
    digikam_props = [Prop("digiKam", "ColorLabel", Simple(draw(st.sampled_from("012"))), True)]
    if draw(st.booleans()):  # `exiftool -XMP-digiKam:PickLabel=...`
        digikam_props.append(Prop("digiKam", "PickLabel", Simple(draw(st.sampled_from("0123"))), True))
    descriptions = [
        Description((
            Prop("dc", "subject", Array("Bag", tuple(draw(st.lists(keyword, min_size=1, max_size=3))))),
            Prop("dc", "title", Array("Alt", (draw(text),))),
        )),
        Description(tuple(digikam_props)),
        Description((Prop("photoshop", "City", Simple(draw(text)), True),)),
        Description(tuple(xmp_props)),
    ]
    if not cs and draw(st.integers(0, 2)) == 2:  # `exiftool -XMP-lr:HierarchicalSubject=...`
        descriptions.insert(1, Description((Prop("lr", "hierarchicalSubject", Array("Bag", tuple(draw(st.lists(hierarchical, min_size=1, max_size=3))))),)))
    if cs:
        descriptions.append(Description((Prop("xmpMM", "DocumentID", Simple("adobe:docid:photoshop:" + draw(hexes)), True),)))
    if owned.burstd:
        mine = tuple(Prop("burstd", xmp.OWNED[k][2], Simple(v), True) for k, v in owned.burstd.items())
        descriptions.insert(draw(st.integers(0, len(descriptions))), Description(mine))
    lay = Layout(
        nl=draw(_NL), ns_gap="\n  ", attr_gap="\n  ", quote="'", xml_decl=False, xpacket=True,
        padding=draw(st.integers(0, 3)), toolkit="Image::ExifTool 12.57", blank_lines=True,
    )
    if cs:  # the same shape, in the xap spelling of its time
        lay = replace(lay, meta="xapmeta", toolkit="XMP toolkit 2.9-9, framework 1.6", blank_lines=False,
                      about="uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b", prefixes=(("xmp", "xap"), ("xmpMM", "xapMM")))
    return descriptions, lay


@st.composite
def photoshop_cs(draw: st.DrawFn, owned: Owned) -> tuple[list[Description], Layout]:
    return draw(exiftool(owned, cs=True))


STYLES = {"darktable": darktable, "lightroom": lightroom, "digikam": digikam, "exiftool": exiftool, "photoshop-cs": photoshop_cs}


@st.composite
def generated(draw: st.DrawFn, fields: SidecarFields, style: str, *, exotic: bool = True) -> Sidecar:
    """A sidecar in `style`, with `owned` placed in it one of the ways the tools leave it."""
    owned = draw(owned_states(fields))
    descriptions, lay = draw(STYLES[style](owned))
    prefixes = dict(lay.prefixes) or {"xmp": draw(st.sampled_from(["xmp", "xap"]))}
    lay = replace(lay, bom=draw(rarely), charrefs=lay.charrefs or ("decimal" if draw(rarely) else ""))
    if draw(rarely):
        lay = replace(lay, about=None)
    why = draw(st.sampled_from([*REFUSED, HEX_REFS])) if exotic and draw(rarely) else ""
    if why == HEX_REFS:
        lay = replace(lay, charrefs="hex")
    features = (*owned.features(), f"xmp prefix {prefixes['xmp']}")
    return Sidecar(make_exotic(render(descriptions, lay, prefixes), why), style, owned.texts(), why, features)


TWO_PREFIXES = "the xmp namespace spelt with two prefixes in two descriptions"  # exiv2 reads nothing
NO_XMPMETA = "a bare rdf:RDF: no <?xml?>, xpacket or x:xmpmeta"  # exiv2 does not recognise the file
REFUSED = (TWO_PREFIXES, NO_XMPMETA)  # forms burstd must always refuse
# exiv2 reads `&#xE9;` (a hex reference to any character from U+0020 to U+00FF) as a space: burstd
# refuses such a sidecar when the reference is in a value burstd reads, as exiv2 disagrees with it.
HEX_REFS = "hex character references to Latin-1 characters"


def make_exotic(data: bytes, why: str) -> bytes:
    """`data` turned into the exotic form `why` ("" leaves it as it is)."""
    if why == TWO_PREFIXES:
        extra = "".join(
            f'<rdf:Description rdf:about="" xmlns:{p}="{xmp.XMP_NS}"><{p}:Nickname>nick</{p}:Nickname></rdf:Description>'
            for p in ("xmpA", "xmpB")
        )
        at = data.rindex(b"</rdf:RDF>")
        return data[:at] + extra.encode() + data[at:]
    if why == NO_XMPMETA:
        data = re.sub(rb"<x:x[am]pmeta[^>]*>|</x:x[am]pmeta>|<\?xpacket end=[^>]*>", b"", data)
        return data[data.index(b"<rdf:RDF") :]
    return data


# --- mutations of the real samples ----------------------------------------------------------------

_SAMPLE_RATING = {"IMG_0001.CR2.xmp": "1", "IMG_5910.xmp": "3", "exiftool_rating_element.xmp": "2", "digikam_no_xpacket.xmp": None}
# Text values in the samples that hold nothing but text (safe to swap for any other text).
_SAMPLE_TEXTS = {
    "IMG_0001.CR2.xmp": ["heron", "sky", "ellipse #1", "IMG_0001.CR2"],
    "IMG_5910.xmp": ["Berkeley", "Patrik", "Squirrel at berkely", "Alvin the Squirrel", "United States"],
    "exiftool_rating_element.xmp": ["Lisboa", "marsh", "Grey heron at dawn", "burstd test data"],
    "digikam_no_xpacket.xmp": ["Lisboa", "Herons &amp; egrets", "Herons"],
}
# The photographer's keywords in the samples (in dc:subject, lr:hierarchicalSubject, digiKam:TagsList).
_SAMPLE_KEYWORDS = {
    "IMG_0001.CR2.xmp": ["heron", "birds"],
    "IMG_5910.xmp": ["Berkley", "USA"],
    "exiftool_rating_element.xmp": ["heron", "marsh"],
    "digikam_no_xpacket.xmp": ["Lisboa", "Herons"],
}
_HIERARCHICAL = re.compile(r"\s*<lr:hierarchicalSubject>.*?</lr:hierarchicalSubject>", re.S)
_RATING_ATTR = re.compile(r"""\s+xmp:Rating=(["'])(-?\d+)\1""")
_RATING_ELEMENT = re.compile(r"\s*<xmp:Rating>(-?\d+)</xmp:Rating>")


@st.composite
def mutated_sample(draw: st.DrawFn, fields: SidecarFields, name: str) -> Sidecar:
    doc = (SAMPLES / name).read_text(encoding="utf-8")
    owned = draw(owned_states(fields))
    q = "'" if "rdf:about=''" in doc else '"'
    for old in draw(st.lists(st.sampled_from(_SAMPLE_TEXTS[name]), unique=True, max_size=3)):
        doc = doc.replace(old, escape(draw(text)))
    keywords = draw(st.lists(st.sampled_from(_SAMPLE_KEYWORDS[name]), unique=True, max_size=2))
    for old, new in zip(keywords, draw(st.permutations(COLLIDING))):  # the photographer's "pick", "burst"...
        doc = doc.replace(old, new)
    variants = ["keywords collide"] if keywords else []
    if draw(st.integers(0, 3)) == 3 and _HIERARCHICAL.search(doc):  # flat keywords only: darktable's carry-over
        doc, variants = _HIERARCHICAL.sub("", doc), [*variants, "no lr:hierarchicalSubject"]
    if name == "IMG_0001.CR2.xmp" and draw(st.booleans()):  # darktable's colour labels
        labels = draw(st.lists(st.sampled_from("01234"), min_size=1, max_size=3, unique=True))
        items = "".join(f"\n     <rdf:li>{label}</rdf:li>" for label in labels)
        at = doc.rindex("\n  </rdf:Description>")
        doc = doc[:at] + f"\n   <darktable:colorlabels>\n    <rdf:Seq>{items}\n    </rdf:Seq>\n   </darktable:colorlabels>" + doc[at:]
        variants.append("colour labels")
    # Take out the sample's own rating, then put `owned` in: its rating where the rating was (or in
    # the Description that declares xmp, or the first), burstd's beside it or in a Description apart.
    doc = _RATING_ELEMENT.sub("", _RATING_ATTR.sub("", doc))
    if draw(st.booleans()) and _SAMPLE_RATING[name] is not None and not owned.burstd:
        owned = Owned(_SAMPLE_RATING[name], name.startswith("exiftool"))  # keep the sample's own rating
    tag_end = _description_tag_end(doc)
    declare = "" if "xmlns:xmp=" in doc[:tag_end] else f" xmlns:xmp={q}{xmp.XMP_NS}{q}"
    attrs, elements = declare, ""
    if owned.rating is not None:
        if owned.rating_element:
            elements += f"\n   <xmp:Rating>{owned.rating}</xmp:Rating>"
        else:
            attrs += f" xmp:Rating={q}{owned.rating}{q}"
    if owned.burstd and not owned.burstd_elements:
        attrs += f" xmlns:burstd={q}{xmp.BURSTD_NS}{q}" + "".join(
            f" burstd:{xmp.OWNED[k][2]}={q}{escape(v)}{q}" for k, v in owned.burstd.items()
        )
    doc = doc[:tag_end] + attrs + ">" + elements + doc[tag_end + 1 :]
    if owned.burstd and owned.burstd_elements:
        apart = "".join(f"<burstd:{xmp.OWNED[k][2]}>{escape(v)}</burstd:{xmp.OWNED[k][2]}>" for k, v in owned.burstd.items())
        at = doc.rindex("</rdf:RDF>")
        doc = doc[:at] + f"<rdf:Description rdf:about='' xmlns:burstd='{xmp.BURSTD_NS}'>{apart}</rdf:Description>\n" + doc[at:]
    wrapper = draw(st.sampled_from(["keep", "toggle-xpacket", "toggle-xml-decl"]))
    if wrapper == "toggle-xpacket":
        doc = _toggle_xpacket(doc)
    elif wrapper == "toggle-xml-decl":
        doc = doc.split("?>", 1)[1].lstrip("\n") if doc.startswith("<?xml") else '<?xml version="1.0" encoding="UTF-8"?>\n' + doc
    if draw(st.booleans()):
        doc = doc.replace("\n", "\r\n")
    return Sidecar(doc.encode("utf-8"), f"sample:{name}", owned.texts(), features=(*owned.features(), wrapper, *variants))


def _description_tag_end(doc: str) -> int:
    """Index of the `>` closing the start tag of the Description that declares xmp (or the first)."""
    at = doc.find("xmlns:xmp=")
    start = doc.rfind("<rdf:Description", 0, at) if at >= 0 else doc.index("<rdf:Description")
    end = doc.index(">", start)  # no attribute value in the samples holds a '>'
    assert doc[end - 1] != "/", "every sample's Description has children"
    return end


def _toggle_xpacket(doc: str) -> str:
    if "<?xpacket" in doc:
        head, rest = doc.split("?>", 1) if doc.startswith("<?xpacket") else ("", doc)
        rest = re.sub(r"""<\?xpacket end=["']w["']\?>""", "", rest)
        return rest.lstrip("\n") if head else rest
    decl, body = doc.split("?>\n", 1) if doc.startswith("<?xml") else ("", doc)
    packet = f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}' + " " * 100 + '\n<?xpacket end="w"?>'
    return f"{decl}?>\n{packet}" if decl else packet


FORMS = [*STYLES, *(f"sample:{name}" for name in sorted(_SAMPLE_RATING))]


def sidecars(fields: SidecarFields, form: str, *, exotic: bool = True) -> st.SearchStrategy[Sidecar]:
    """Sidecars of one of `FORMS`: a tool's shape, or mutations of one real sample."""
    if form.startswith("sample:"):
        return mutated_sample(fields, form.removeprefix("sample:"))
    return generated(fields, form, exotic=exotic)
