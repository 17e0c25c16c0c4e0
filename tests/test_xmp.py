"""The pure sidecar core: planning, rendering, reading and surgically editing XMP packets."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from burstd.sidecar import xmp

from burstd.sidecar import packet as xmp_packet
from burstd.models import SidecarFields
from burstd.sidecar.xmp import PlanAction, SidecarState

FIELDS = SidecarFields(rating=3, burst_id="b-0001", rank=1, burst_size=5, sharpness=0.87654)
WANTED = xmp.owned_values(FIELDS)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def state(rating: int | None = None, burstd_rating: int | None = None, **values: str) -> SidecarState:
    texts = {xmp.RATING: str(rating)} if rating is not None else {}
    if burstd_rating is not None:
        texts[xmp.BURSTD_RATING] = str(burstd_rating)
    texts.update({f"Xmp.burstd.{k}": v for k, v in values.items()})
    return SidecarState(rating, burstd_rating, texts)


def packet(description: str, *, head: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return (
        f'{head}<x:xmpmeta xmlns:x="adobe:ns:meta/">\n <rdf:RDF xmlns:rdf="{RDF}">\n'
        f"{description}\n </rdf:RDF>\n</x:xmpmeta>\n"
    ).encode()


XMPNS = 'xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
BURSTD = f'xmlns:burstd="{xmp.BURSTD_NS}"'


# --- plan_sidecar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "force", "action"),
    [
        (None, False, PlanAction.CREATE),
        (state(), False, PlanAction.UPDATE),  # a sidecar with no rating at all is not manual
        (state(4), False, PlanAction.KEEP_MANUAL),  # no burstd:Rating: the photographer set it
        (state(4), True, PlanAction.UPDATE),
        (state(0), False, PlanAction.KEEP_MANUAL),  # 0 stars is a choice too
        (state(-1), False, PlanAction.KEEP_MANUAL),  # and so is rejected
        (state(4, 2), False, PlanAction.KEEP_MANUAL),  # burstd wrote 2, someone changed it to 4
        (state(2, 2), False, PlanAction.UPDATE),  # burstd's own rating: burstd may change it
        (state(3, 3), False, PlanAction.UPDATE),  # same rating, other fields missing
        (state(3, 3, BurstId="b-0001", Rank="1", BurstSize="5", Sharpness="0.8765"), False, PlanAction.UNCHANGED),
        (state(3, 3, BurstId="b-0001", Rank="1", BurstSize="5", Sharpness="0.8765"), True, PlanAction.UNCHANGED),
        (state(3, 3, BurstId="b-0002", Rank="1", BurstSize="5", Sharpness="0.8765"), False, PlanAction.UPDATE),
    ],
)
def test_plan_sidecar(current: SidecarState | None, force: bool, action: PlanAction) -> None:
    assert xmp.plan_sidecar(current, FIELDS, force=force).action is action


@pytest.mark.parametrize(
    ("current", "updates"),
    [
        (None, WANTED),
        (state(), WANTED),
        (state(2, 2, BurstId="b-0001", Rank="1", BurstSize="5", Sharpness="0.8765"),
         {xmp.RATING: "3", xmp.BURSTD_RATING: "3"}),
        (state(3, 3, BurstId="b-0001", Rank="2", BurstSize="5", Sharpness="0.1000"),
         {xmp.RANK: "1", xmp.SHARPNESS: "0.8765"}),
    ],
)
def test_plan_sets_only_what_differs(current: SidecarState | None, updates: dict[str, str]) -> None:
    assert dict(xmp.plan_sidecar(current, FIELDS, force=False).updates) == updates


def test_owned_values_text() -> None:
    assert WANTED == {
        "Xmp.xmp.Rating": "3",
        "Xmp.burstd.Rating": "3",
        "Xmp.burstd.BurstId": "b-0001",
        "Xmp.burstd.Rank": "1",
        "Xmp.burstd.BurstSize": "5",
        "Xmp.burstd.Sharpness": "0.8765",
    }


@pytest.mark.parametrize(
    "fields",
    [
        SidecarFields(rating=6, burst_id="b", rank=1, burst_size=1, sharpness=1.0),
        SidecarFields(rating=-2, burst_id="b", rank=1, burst_size=1, sharpness=1.0),
        SidecarFields(rating=1, burst_id="b", rank=0, burst_size=1, sharpness=1.0),
        SidecarFields(rating=1, burst_id="b", rank=1, burst_size=1, sharpness=float("nan")),
        SidecarFields(rating=1, burst_id="b\x00", rank=1, burst_size=1, sharpness=1.0),
    ],
)
def test_owned_values_rejects_nonsense(fields: SidecarFields) -> None:
    with pytest.raises(ValueError):
        xmp.owned_values(fields)


# --- new_packet -------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", [-1, 0, 3, 5])
@pytest.mark.parametrize("burst_id", ["b-0001", 'a<b>&"c\'', "tab\there\nnewline", "ça été"])
def test_new_packet_round_trips(rating: int, burst_id: str) -> None:
    fields = SidecarFields(rating=rating, burst_id=burst_id, rank=2, burst_size=7, sharpness=0.5)
    text = xmp_packet.new_packet(fields).decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"')
    root = ET.fromstring(text.encode())
    (description,) = root.iter(f"{{{RDF}}}Description")
    assert description.get(f"{{{xmp.XMP_NS}}}Rating") == str(rating)  # written even when 0 or -1
    assert description.get(f"{{{xmp.BURSTD_NS}}}BurstId") == burst_id
    assert description.get(f"{{{xmp.BURSTD_NS}}}Sharpness") == "0.5000"
    assert xmp_packet.read_packet(text.encode()) == SidecarState(rating, rating, xmp.owned_values(fields))


# --- read_packet ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "rating", "burstd_rating"),
    [
        (f'<rdf:Description rdf:about="" {XMPNS} xmp:Rating="4"/>', 4, None),
        (f"<rdf:Description rdf:about='' {XMPNS} xmp:Rating='-1'/>", -1, None),
        (f'<rdf:Description rdf:about="" {XMPNS}><xmp:Rating>2</xmp:Rating></rdf:Description>', 2, None),
        (f'<rdf:Description rdf:about="" {XMPNS}><xmp:Rating> 2 </xmp:Rating></rdf:Description>', 2, None),
        ('<rdf:Description rdf:about="" xmlns:xap="http://ns.adobe.com/xap/1.0/" xap:Rating="5"/>', 5, None),
        (f'<rdf:Description rdf:about="" {XMPNS} {BURSTD} xmp:Rating="3" burstd:Rating="1"/>', 3, 1),
        (f'<rdf:Description rdf:about="" {XMPNS}/>'
         f'<rdf:Description rdf:about="" {BURSTD}><burstd:Rating>2</burstd:Rating></rdf:Description>', None, 2),
        ('<rdf:Description rdf:about="" xmlns:m="http://ns.microsoft.com/photo/1.0/" m:Rating="50"/>', None, None),
        (f'<rdf:Description rdf:about="" {XMPNS} xmp:Rating="2.0"/>', 2, None),
    ],
)
def test_read_packet(description: str, rating: int | None, burstd_rating: int | None) -> None:
    got = xmp_packet.read_packet(packet(description))
    assert (got.rating, got.burstd_rating) == (rating, burstd_rating)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"hello, world\n", "is not XML"),
        (b"\xff\xfe<\x00x\x00", "is not UTF-8 text, so not an XMP sidecar"),
        (packet(f'<rdf:Description {XMPNS} xmp:Rating="1"/>')[:-40], "is truncated"),
        (b'<?xml version="1.0"?>\n', "is truncated"),
        (b"<a><b></a></b>", "is not well-formed XML (mismatched tag at line 1"),
        (b'<?xml version="1.0"?><html><body>hi</body></html>', "is XML but not XMP (its root element is <html>)"),
        (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><foo/></x:xmpmeta>', "is XML but not XMP (no rdf:RDF element)"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', "is not XMP (it has a DOCTYPE)"),
        (packet(f'<rdf:Description {XMPNS} xmp:Rating="1"/><rdf:Description {XMPNS} xmp:Rating="2"/>'),
         "xmp:Rating appears more than once"),
        (packet(f'<rdf:Description {XMPNS} xmp:Rating="1"><xmp:Rating>2</xmp:Rating></rdf:Description>'),
         "xmp:Rating appears more than once"),
        (packet(f'<rdf:Description {XMPNS}><xmp:Rating><rdf:Bag/></xmp:Rating></rdf:Description>'),
         "xmp:Rating is not a simple value"),
        (packet(f'<rdf:Description {XMPNS} xmp:Rating="three"/>'), "xmp:Rating is not a number: 'three'"),
        (packet(f'<rdf:Description {XMPNS} xmp:Rating="2.5"/>'), "xmp:Rating is not a whole number: '2.5'"),
    ],
)
def test_read_packet_says_why_it_cannot(data: bytes, reason: str) -> None:
    with pytest.raises(xmp.XmpError) as caught:
        xmp_packet.read_packet(data)
    assert str(caught.value).startswith(reason)


# --- update_packet ----------------------------------------------------------------------------

UPDATE_CASES = [
    # (original Description, updates, expected Description)
    (
        f'<rdf:Description rdf:about="" {XMPNS}\n   xmp:Rating="1"/>',
        {xmp.RATING: "3"},
        f'<rdf:Description rdf:about="" {XMPNS}\n   xmp:Rating="3"/>',
    ),
    (  # an element stays an element, in its place
        f'<rdf:Description rdf:about="" {XMPNS}>\n  <xmp:Rating>1</xmp:Rating>\n</rdf:Description>',
        {xmp.RATING: "-1"},
        f'<rdf:Description rdf:about="" {XMPNS}>\n  <xmp:Rating>-1</xmp:Rating>\n</rdf:Description>',
    ),
    (
        f'<rdf:Description rdf:about="" {XMPNS}><xmp:Rating/></rdf:Description>',
        {xmp.RATING: "2"},
        f'<rdf:Description rdf:about="" {XMPNS}><xmp:Rating>2</xmp:Rating></rdf:Description>',
    ),
    (  # missing ones are added with the file's own spacing and quotes untouched
        "<rdf:Description rdf:about=''\n    xmlns:dc='http://purl.org/dc/elements/1.1/'\n   dc:format='x'/>",
        {xmp.RATING: "0", xmp.BURST_ID: "a&b"},
        "<rdf:Description rdf:about=''\n    xmlns:dc='http://purl.org/dc/elements/1.1/'\n   dc:format='x'"
        f'\n   {XMPNS}\n   {BURSTD}\n   xmp:Rating="0"\n   burstd:BurstId="a&amp;b"/>',
    ),
    (  # the file spells xmp as xap: use its prefix
        '<rdf:Description xmlns:xap="http://ns.adobe.com/xap/1.0/" xap:Rating="1"></rdf:Description>',
        {xmp.RATING: "4"},
        '<rdf:Description xmlns:xap="http://ns.adobe.com/xap/1.0/" xap:Rating="4"></rdf:Description>',
    ),
    (  # "burstd" already means something else here: pick another prefix, never rename theirs
        '<rdf:Description xmlns:burstd="http://example.com/other/" burstd:Rating="x"/>',
        {xmp.BURSTD_RATING: "2"},
        '<rdf:Description xmlns:burstd="http://example.com/other/" burstd:Rating="x"'
        f' xmlns:burstd2="{xmp.BURSTD_NS}" burstd2:Rating="2"/>',
    ),
    (  # single-quoted value: escaped for its own quote
        f"<rdf:Description {BURSTD} burstd:BurstId='old'/>",
        {xmp.BURST_ID: "it's"},
        f"<rdf:Description {BURSTD} burstd:BurstId='it&apos;s'/>",
    ),
    (  # added next to the owned ones already there, not to the first Description
        f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="x"/>\n'
        f'<rdf:Description {XMPNS}><xmp:Rating>1</xmp:Rating></rdf:Description>',
        {xmp.RATING: "2", xmp.RANK: "1"},
        f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="x"/>\n'
        f'<rdf:Description {XMPNS} {BURSTD} burstd:Rank="1"><xmp:Rating>2</xmp:Rating></rdf:Description>',
    ),
    (  # another property's value that merely looks like ours is not ours
        f'<rdf:Description {XMPNS} xmlns:n="urn:n" n:Note=\'xmp:Rating="5"\' xmp:Rating="1"/>',
        {xmp.RATING: "2"},
        f'<rdf:Description {XMPNS} xmlns:n="urn:n" n:Note=\'xmp:Rating="5"\' xmp:Rating="2"/>',
    ),
]


@pytest.mark.parametrize(("before", "updates", "after"), UPDATE_CASES)
@pytest.mark.parametrize("head", ['<?xml version="1.0" encoding="UTF-8"?>\n', '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'])
def test_update_packet_touches_only_owned_bytes(before: str, updates: dict[str, str], after: str, head: str) -> None:
    assert xmp_packet.update_packet(packet(before, head=head), updates) == packet(after, head=head)


def test_update_packet_refuses_packet_without_description() -> None:
    with pytest.raises(xmp.XmpError, match="has no rdf:Description"):
        xmp_packet.update_packet(packet(""), {xmp.RATING: "1"})
