"""Proof with the real darktable that burstd's plugin (`burstd/darktable/burstd.lua`) groups each burst
under its pick at import, and that its refresh brings burstd's later ratings into darktable's library
(keeping ratings set in darktable and darkroom history), headless under Xvfb."""

from __future__ import annotations

import shutil
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from burstd.darktable import plugin
from burstd.models import SidecarFields
from burstd.sidecar import xmp
from burstd.sidecar.packet import read_packet, update_packet
from burstd.sidecar.xmp import ArrayEdit, plan_sidecar
from tests import xmp_forms
from tests.bench.files import Body, Exposure, write_dng
from tests.conftest import ROOT
from tests.darktable import (
    SCREENSHOT_RC, Imported, _lua_string, needs_darktable, read_library, run_lua, save_screen, xvfb_framebuffer,
)
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, load_rgb, make_burst

pytestmark = [pytest.mark.slow, needs_darktable]  # the real darktable under Xvfb

T0 = datetime(2026, 11, 24, 11, 0, 0)
SIDECARS = Path(__file__).parent / "data" / "sidecars"
ARTIFACTS = ROOT / "tests" / "artifacts"
REFRESH_FILM = "lua/burstd: refresh film roll from burstd's sidecars"
REFRESH_SELECTED = "lua/burstd: refresh selected images from burstd's sidecars"


def import_folder(conf: Path, folder: Path, screenshot: Path | None = None) -> list[str]:
    """darktable imports `folder` (from Lua: a folder on its command line sometimes deadlocks it) and
    quits once the plugin has grouped what it imported; with `screenshot`, first saves its lighttable
    there, grouping on (collapsed groups)."""
    show = "" if screenshot is None else """
dt.gui.libs.global_toolbox.grouping = true
dt.control.sleep(3000) -- thumbnails
ready()
"""
    fb = conf.parent / "framebuffer"
    if screenshot is not None:
        (conf / "darktablerc").write_text(SCREENSHOT_RC)
    return run_lua(conf, f"""
local plugin = require "burstd/burstd"
dt.database.import({_lua_string(str(folder))})
wait_for("the import and the plugin's grouping", function() return plugin.done.grouped >= 1 end, 40)
log("imported " .. #dt.database)
{show}
""", server_args=xvfb_framebuffer(fb) if screenshot else "",
       ready=(lambda: save_screen(fb, screenshot)) if screenshot else None)


def refresh(conf: Path, action: str, before: str = "") -> list[str]:
    """darktable runs `before` (Lua), then the plugin's refresh through its shortcut's action, and quits."""
    return run_lua(conf, f"""
local plugin = require "burstd/burstd"
local function image(name)
  for i = 1, #dt.database do
    if dt.database[i].filename == name then return dt.database[i] end
  end
  error("no image " .. name)
end
{before}
dt.gui.action({_lua_string(action)}, 0, "", "", 1.0)
wait_for("the refresh", function() return plugin.done.refreshed >= 1 end, 60)
log(plugin.last_refresh.summary)
for _, problem in ipairs(plugin.last_refresh.problems) do log(problem) end
""")


def install(burstd, conf: Path) -> None:
    conf.mkdir(parents=True, exist_ok=True)
    burstd("install-darktable-plugin", "--darktable-config", conf, check=0)


def groups(stored: dict[str, Imported]) -> dict[str, set[str]]:
    """Every group of more than one image: its leader's file name -> the file names in it."""
    by_id = {image.id: name for name, image in stored.items()}
    found: dict[str, set[str]] = {}
    for name, image in stored.items():
        found.setdefault(by_id[image.group_id], set()).add(name)
    return {leader: members for leader, members in found.items() if len(members) > 1}


def raw_companions(jpegs: list[Path]) -> None:
    """A DNG beside each JPEG, the same frame, as a camera shooting RAW+JPEG writes them."""
    body = Body("NIKON CORPORATION", "NIKON Z 6_2", "6012345", "NIKKOR Z 24-70mm f/4 S", "DSC_")
    for jpeg in jpegs:
        rgb = np.ascontiguousarray(load_rgb(jpeg)[::2, ::2])
        shot = Exposure(T0.astimezone(), Fraction(1, 1000), Fraction(4), 400, Fraction(0))
        write_dng(jpeg.with_suffix(".DNG"), rgb, body, shot)


def scanned_card(burstd, card: Path) -> dict:
    """Two bursts, a single shot and a RAW+JPEG burst, rated by burstd; its --json."""
    card.mkdir()
    make_burst(card, DATA / "IMG_5910.jpg", [0.0, 0.6, 0.9, 1.3], start=T0, first_number=1, size=(900, 600))
    make_burst(card, DATA / "flower.jpg", [0.4, 0.0, 0.5], start=T0.replace(minute=10), first_number=10, size=(400, 300),
               seed=2)
    make_burst(card, DATA / "pcb_003.JPG", [0.0], start=T0.replace(minute=20), first_number=20, size=(600, 400))
    raws = make_burst(card, DATA / "step0.jpg", [1.2, 0.0, 0.7], start=T0.replace(minute=30), first_number=30,
                      size=(600, 400))
    raw_companions(raws)
    return burstd.json("scan", card)


def test_import_groups_each_burst_under_its_pick(burstd, tmp_path: Path) -> None:
    report = scanned_card(burstd, tmp_path / "card")
    bursts = [b for b in report["groups"] if b["size"] > 1]
    singles = [b for b in report["groups"] if b["size"] == 1]
    assert len(bursts) == 3 and len(singles) == 1, report["groups"]
    conf = tmp_path / "darktable"
    install(burstd, conf)

    import_folder(conf, tmp_path / "card", screenshot=ARTIFACTS / "darktable-lighttable.png")

    stored = read_library(conf)
    found = groups(stored)
    assert len(found) == len(bursts), found  # one group per burst, nothing else grouped
    for burst in bursts:
        files = {Path(f).name for m in burst["members"] for f in m["files"]}
        pick = {Path(f).name for m in burst["members"] if m["rank"] == 1 for f in m["files"]}
        (leader,) = [name for name, members in found.items() if members == files]
        assert leader in pick, (leader, pick)
    assert any(len(pick) == 2 for pick in ({Path(f).name for f in m["files"]} for b in bursts for m in b["members"]))
    for single in singles:
        (name,) = [Path(f).name for f in single["members"][0]["files"]]
        assert stored[name].group_id == stored[name].id  # alone


def test_other_sets_are_grouped_under_their_first_frame(burstd, tmp_path: Path) -> None:
    # Three shots a minute apart, which burstd rates as single shots; then keyworded by hand as one set,
    # as burstd keywords a bracket (`burstd|bracket|...`). The first shot is DSC_0042, not DSC_0041.
    card = tmp_path / "card"
    card.mkdir()
    shots = [make_burst(card, DATA / source, [0.0], start=T0.replace(minute=minute), first_number=number, size=(600, 400))[0]
             for source, minute, number in [("BlueSquare.jpg", 42, 41), ("pcb_005.JPG", 41, 42), ("step5.jpg", 43, 43)]]
    assert burstd.json("scan", card)["summary"]["single_shots"] == 3
    for shot in shots:
        sidecar = shot.with_name(shot.name + ".xmp")
        keyword = ArrayEdit((), ("burstd|bracket|2026-11-24 DSC_0042-0badcafe",))
        sidecar.write_bytes(update_packet(sidecar.read_bytes(), {}, (), {xmp.HIERARCHICAL_SUBJECT: keyword}))
    conf = tmp_path / "darktable"
    install(burstd, conf)

    import_folder(conf, card)

    assert groups(read_library(conf)) == {"DSC_0042.JPG": {"DSC_0041.JPG", "DSC_0042.JPG", "DSC_0043.JPG"}}


@needs_exiftool
def test_darktables_configured_import_rating_is_its_default_too(burstd, tmp_path: Path, monkeypatch) -> None:
    # The photographer has darktable give imports 0 stars; they import before burstd rates.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    conf = tmp_path / "xdg" / "darktable"
    conf.mkdir(parents=True)
    (conf / "darktablerc").write_text("ui_last/import_initial_rating=0\n")
    card = tmp_path / "card"
    card.mkdir()
    make_burst(card, DATA / "IMG_5910.jpg", [0.6, 0.0, 0.9], start=T0, first_number=1, size=(900, 600))
    install(burstd, conf)
    import_folder(conf, card)
    assert {i.stars for i in read_library(conf).values()} == {0}
    assert 'xmp:Rating="0"' in (card / "DSC_0001.JPG.xmp").read_text()

    scan = burstd.json("scan", card)
    assert scan["summary"]["sidecars"] == {"updated": 3}  # not kept-manual: 0 stars is darktable's default here
    refresh(conf, REFRESH_SELECTED)
    assert shown(read_library(conf)) == intended(card)


def intended(card: Path) -> dict[str, tuple[int, bool, frozenset[int], frozenset[str]]]:
    """What burstd's sidecars say, read back with exiftool: (stars, rejected, colour labels, burstd keywords)."""
    found = {}
    for sidecar in sorted(card.glob("*.xmp")):
        tags = exiftool_tags(sidecar)
        rating = tags["XMP-xmp:Rating"]
        labels = frozenset(int(c) for c in _listed(tags.get("XMP-darktable:Colorlabels")))
        keywords = frozenset(k for k in _listed(tags.get("XMP-lr:HierarchicalSubject")) if k.startswith("burstd|"))
        found[sidecar.name.removesuffix(".xmp")] = (max(rating, 0), rating < 0, labels, keywords)
    return found


def shown(stored: dict[str, Imported]) -> dict[str, tuple[int, bool, frozenset[int], frozenset[str]]]:
    """What darktable's library holds, in the same terms (a reject's stars do not count)."""
    return {
        name: (0 if i.rejected else i.stars, i.rejected, i.labels, frozenset(t for t in i.tags if t.startswith("burstd|")))
        for name, i in stored.items()
    }


def _listed(value: object) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


@needs_exiftool
def test_refresh_brings_burstds_ratings_into_an_early_import(burstd, tmp_path: Path, monkeypatch) -> None:
    # The photographer imports the card before burstd has rated it: darktable writes its own sidecars
    # (1 star). DSC_0020 is a single shot carrying a darktable history from elsewhere.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    conf = tmp_path / "xdg" / "darktable"  # the default darktable config folder: `burstd scan` reads its darktablerc
    card = tmp_path / "card"
    card.mkdir()
    make_burst(card, DATA / "IMG_5910.jpg", [0.9, 0.0, 0.6, 1.2, 1.5, 6.0], start=T0, first_number=1, size=(900, 600))
    make_burst(card, DATA / "flower.jpg", [0.0], start=T0.replace(minute=30), first_number=20, size=(400, 300))
    shutil.copy(SIDECARS / "IMG_0001.CR2.xmp", card / "DSC_0020.JPG.xmp")
    install(burstd, conf)
    import_folder(conf, card)
    first = read_library(conf)
    assert {i.stars for n, i in first.items() if n != "DSC_0020.JPG"} == {1} and first["DSC_0020.JPG"].history
    assert 'xmp:Rating="1"' in (card / "DSC_0003.JPG.xmp").read_text()  # darktable's untouched default

    # burstd rates: darktable's untouched default is not a rating set by hand; DSC_0020's is.
    options = ("--reject-below", "0.2", "--pick-label", "green")
    scan = burstd.json("scan", card, *options)
    actions = {Path(o["path"]).name: o["action"] for b in scan["groups"] for m in b["members"] for o in m["sidecars"]}
    assert actions.pop("DSC_0020.JPG.xmp") == "kept-manual"
    assert set(actions.values()) == {"updated"}, actions
    wanted = intended(card)
    burst = next(b for b in scan["groups"] if b["size"] == 6)
    pick = next(Path(m["path"]).name for m in burst["members"] if m["rank"] == 1)
    by_hand = next(Path(m["path"]).name for m in burst["members"] if m["rank"] == 2)
    assert wanted[pick][2] == {2} and any(w[1] for w in wanted.values())  # a green pick label, a reject

    # darktable still open: the photographer rates one frame (darktable then rewrites its sidecar,
    # keywords and all) and puts the pick in a group with the single shot; then refreshes the film roll.
    logged = refresh(conf, REFRESH_FILM, before=f"""
image({_lua_string(by_hand)}).rating = 5
image({_lua_string(pick)}):group_with(image("DSC_0020.JPG"))
""")
    # 3 ratings: the pick's, the other 2-star frame's and the reject's (the 1-star frames had it already)
    assert "burstd: refreshed 7 images from their sidecars: 3 ratings, 7 keywords and 1 colour label changed, " \
           "1 group formed; 1 rating set in darktable kept" in logged
    after = read_library(conf)
    expected = wanted | {by_hand: (5, False, *wanted[by_hand][2:]), "DSC_0020.JPG": (1, False, frozenset(), frozenset())}
    assert shown(after) == expected
    assert groups(after) == {pick: {Path(m["path"]).name for m in burst["members"]}}  # the single shot left alone

    # The photographer edits a frame in the darkroom (the single shot's style), then burstd rates again
    # with five stars at most, and the photographer refreshes the selection (none: the collection).
    edited = next(Path(m["path"]).name for m in burst["members"] if m["rank"] == 3)
    run_lua(conf, f"""
local function image(name)
  for i = 1, #dt.database do
    if dt.database[i].filename == name then return dt.database[i] end
  end
end
local style = dt.styles.create(image("DSC_0020.JPG"), "burstd test", "a darkroom history")
image({_lua_string(edited)}):apply_style(style)
dt.control.sleep(3000) -- darktable renders the edited thumbnail
""")
    history = read_library(conf)[edited].history
    assert len(history) > 0
    burstd("scan", card, *options, "-m", "5", check=0)
    wanted = intended(card)
    assert wanted[pick][0] == 5 and wanted[edited][3] and "burstd:Rating" in (card / f"{edited}.xmp").read_text()
    refresh(conf, REFRESH_SELECTED)
    final = read_library(conf)
    assert shown(final) == wanted | {by_hand: (5, False, *wanted[by_hand][2:]), "DSC_0020.JPG": expected["DSC_0020.JPG"]}
    assert final[edited].history == history  # the darkroom history is untouched
    assert final[edited].stars == wanted[edited][0]
    assert groups(final) == groups(after)

    # burstd no longer sees a burst there (every frame its own shot): the keywords go, the frames leave
    # the group; the colour label burstd took back stays (labels are never taken off). The frame rated
    # by hand is left alone by burstd, keyword and all, and is alone in its set now.
    burstd("scan", card, *options, "-m", "5", "-d", "0.999", check=0)
    wanted = intended(card)
    assert [name for name, (*_, keywords) in wanted.items() if keywords] == [by_hand]
    broken = card / "DSC_0020.JPG.xmp"  # and a sidecar broken meanwhile: named, left alone, the rest refreshed
    broken.write_bytes(broken.read_bytes()[:700])
    logged = refresh(conf, REFRESH_FILM)
    assert any(line.endswith("; 1 sidecar unreadable (see the log)") for line in logged), logged
    assert f"{broken}: is truncated (in <rdf:Description>); left as it is" in logged
    assert len(broken.read_bytes()) == 700
    split = read_library(conf)
    assert groups(split) == {}
    kept_label = (*wanted[pick][:2], frozenset({2}), frozenset())
    assert shown(split) == wanted | {"DSC_0020.JPG": expected["DSC_0020.JPG"], pick: kept_label}
    assert not any(b"darktable|burstd" in sidecar.read_bytes() for sidecar in card.glob("*.xmp"))  # the record stays inside


# --- the plugin's own sidecar reader, against burstd's ------------------------------------------------

_READ_ALL = """
-- The plugin refuses an older Lua API, with a message, and starts nothing.
local real_major, real_string = dt.configuration.api_version_major, dt.configuration.api_version_string
dt.configuration.api_version_major, dt.configuration.api_version_string = 8, "8.0.0"
local refused = require "burstd/burstd"
dt.configuration.api_version_major, dt.configuration.api_version_string = real_major, real_string
package.loaded["burstd/burstd"] = nil
log("refused " .. tostring(refused.read_sidecar == nil and refused.done.grouped == 0))
local plugin = require "burstd/burstd"
local function hex(text)
  if text == nil then return "-" end
  return "=" .. tostring(text):gsub(".", function(c) return string.format("%02x", c:byte()) end)
end
local function list(items)
  local out = {}
  for _, item in ipairs(items) do out[#out + 1] = hex(item) end
  return "[" .. table.concat(out, ",") .. "]"
end
for _, path in ipairs(PATHS) do
  local s, reason = plugin.read_sidecar(path)
  if s then
    log(table.concat({"read", hex(path), hex(s.rating), hex(s.burstd_rating), hex(s.burst_id), hex(s.rank),
      hex(s.burst_size), hex(s.label), list(s.keywords), list(s.colorlabels), list(s.burstd_labels)}, " "))
  else
    log("unread " .. hex(path) .. " " .. hex(reason))
  end
end
"""


def _unhex(field: str) -> str | None:
    return None if field == "-" else bytes.fromhex(field[1:]).decode()


def _unlist(field: str) -> tuple[str, ...]:
    return tuple(_unhex(item) for item in field[1:-1].split(",") if item)  # type: ignore[misc]


def as_burstd_reads(data: bytes) -> tuple | None:
    """What the plugin must read in a sidecar, as burstd's own parser reads it (None: burstd refuses it)."""
    try:
        state = read_packet(data)
    except xmp.XmpError:
        return None
    integer = lambda key: None if key not in state.values else int(float(state.values[key]))  # noqa: E731
    labels = tuple(n for n in state.values.get(xmp.BURSTD_COLOR_LABELS, "").split(";") if n)
    return (state.rating, state.burstd_rating, state.values.get(xmp.BURST_ID), integer(xmp.RANK),
            integer(xmp.BURST_SIZE), state.values.get(xmp.LABEL), state.arrays.get(xmp.HIERARCHICAL_SUBJECT, ()),
            state.arrays.get(xmp.COLOR_LABELS, ()), labels)


def drawn_sidecars(count: int) -> list[tuple[bytes, SidecarFields]]:
    """`count` sidecars in every shape the tools write them (`tests/xmp_forms.py`), each with fields to merge."""
    found = []

    @settings(derandomize=True, database=None, deadline=None, max_examples=count, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data(), form=st.sampled_from(xmp_forms.FORMS))
    def draw(data: st.DataObject, form: str) -> None:
        sidecar = data.draw(xmp_forms.sidecars(data.draw(xmp_forms.tagged_fields()), form, exotic=False))
        found.append((sidecar.data, data.draw(xmp_forms.tagged_fields())))

    draw()
    return found


def test_the_plugin_reads_sidecars_as_burstd_does_and_refuses_old_darktables(tmp_path: Path) -> None:
    # Sidecars in every shape the tools write, each as it is and after burstd merged its keywords and
    # labels into it; real darktable-written ones; broken ones. One darktable run reads them all.
    folder = tmp_path / "sidecars"
    folder.mkdir()
    files: dict[Path, bytes] = {}
    for n, (data, fields) in enumerate(drawn_sidecars(80)):
        files[folder / f"{n}-as-found.xmp"] = data
        try:
            plan = plan_sidecar(read_packet(data), fields, force=True)
            files[folder / f"{n}-merged.xmp"] = update_packet(data, plan.updates, plan.removals, plan.arrays)
        except xmp.XmpError:
            pass
    for sample in sorted(SIDECARS.glob("*.xmp")):
        files[folder / sample.name] = sample.read_bytes()
    broken = {"truncated.xmp": files[folder / "IMG_0001.CR2.xmp"][:900], "empty.xmp": b"", "html.xmp": b"<html><p>hi</p></html>"}
    for name, data in broken.items():
        files[folder / name] = data
    for path, data in files.items():
        path.write_bytes(data)
    conf = tmp_path / "darktable"
    (conf / "lua" / "burstd").mkdir(parents=True)
    (conf / "lua" / "burstd" / "burstd.lua").write_bytes(plugin.source())  # started by the driver, not by luarc
    paths = "local PATHS = {" + ", ".join(_lua_string(str(p)) for p in files) + "}\n"

    logged = run_lua(conf, paths + _READ_ALL)

    assert "refused true" in logged
    read = {}
    for line in logged:
        kind, _, rest = line.partition(" ")
        path, *fields = rest.split(" ")
        if kind == "read":
            rating, burstd_rating, burst_id, rank, size, label, keywords, colorlabels, labels = fields
            as_int = lambda f: None if _unhex(f) is None else int(_unhex(f))  # noqa: E731
            read[_unhex(path)] = (as_int(rating), as_int(burstd_rating), _unhex(burst_id), as_int(rank), as_int(size),
                                  _unhex(label), _unlist(keywords), _unlist(colorlabels), _unlist(labels))
        elif kind == "unread":
            read[_unhex(path)] = None
    checked = 0
    for path, data in files.items():
        expected = as_burstd_reads(data)
        if path.name in broken:
            assert read[str(path)] is None, path.name
        elif expected is not None:
            assert read[str(path)] == expected, (path.name, data.decode(errors="replace"))
            checked += 1
    assert checked >= 150
