"""Sets end to end: the real CLI and the real daemon on a card holding a burst, an exposure bracket,
a panorama and a single shot (real JPEGs cut from real photos), sidecars read back with exiftool."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.bench.render import exposure
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, digests, frame, load_rgb, make_burst
from tests.test_daemon import Daemon, watching
from tests.test_sequences import T0, WIDE, needs_shared, view, write

pytestmark = pytest.mark.slow  # the CLI and the daemon in subprocesses


def keywords(tags: dict) -> list[str]:
    found = tags.get("XMP-lr:HierarchicalSubject", [])
    return found if isinstance(found, list) else [found]


def bracket(folder: Path, *, first: int, start, evs=(0.0, -2.0, 2.0)) -> list[Path]:
    """An auto-exposure bracket of a real photo: the bias steps, hand-held, within a second."""
    pcb = load_rgb(DATA / "pcb_004.JPG")
    paths = []
    for i, ev in enumerate(evs):
        dx, dy = (int(v) for v in np.random.default_rng(i).integers(-5, 6, size=2))
        rgb = exposure(frame(pcb, dx=dx, dy=dy, size=(900, 600), blur=0), ev)
        paths.append(write(folder / f"DSC_{first + i:04d}.JPG", rgb, when=start + timedelta(seconds=0.2 * i),
                           bias=ev, shutter=1 / 250 * 2**ev))
    return paths


def panorama(folder: Path, *, first: int, start) -> list[Path]:
    woods = load_rgb(WIDE)
    return [write(folder / f"DSC_{first + i:04d}.JPG", view(woods, 0.02 + 0.14 * i), when=start + timedelta(seconds=2 * i))
            for i in range(4)]


@pytest.fixture
def card(tmp_path: Path) -> Path:
    folder = tmp_path / "card"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [1.0, 0.0, 2.0], start=T0, first_number=1, size=(900, 600))
    bracket(folder, first=4, start=T0 + timedelta(seconds=60))
    panorama(folder, first=7, start=T0 + timedelta(seconds=120))
    make_burst(folder, DATA / "BlueSquare.jpg", [0.0], start=T0 + timedelta(seconds=400), first_number=11,
               size=(600, 400))
    return folder


@needs_exiftool
@needs_shared
def test_a_card_with_sets_keeps_them_whole_and_says_what_they_are(burstd, card: Path) -> None:
    before = digests(card)
    report = burstd.json("scan", card)
    groups = {g["kind"]: g for g in report["groups"]}
    assert [(g["kind"], g["size"]) for g in report["groups"]] == [
        ("burst", 3), ("bracket", 3), ("panorama", 4), ("single_shot", 1)]
    summary = report["summary"]
    assert (summary["bursts"], summary["brackets"], summary["panoramas"], summary["single_shots"]) == (1, 1, 1, 1)
    for kind in ("bracket", "panorama"):
        group = groups[kind]
        assert group["kept_whole"]
        names = [Path(m["path"]).name for m in group["members"]]
        assert names == sorted(names)  # shooting order
        for m in group["members"]:
            tags = exiftool_tags(Path(m["path"] + ".xmp"))
            assert (tags["XMP-xmp:Rating"], tags["XMP-burstd:Kind"]) == (3, kind)
            day = "2026-11-24"
            assert keywords(tags) == [f"burstd|{kind}|{day} {group['id']}"]  # no burstd|pick
    burst = groups["burst"]
    pick = exiftool_tags(Path(burst["members"][0]["path"] + ".xmp"))
    assert "burstd|pick" in keywords(pick) and "XMP-burstd:Kind" not in pick
    assert digests(card) == before, "an image file was written"

    text = burstd("scan", card, "-v", "--dry-run", check=0).stdout
    assert f"{groups['bracket']['id']}: bracket of 3" in text and f"{groups['panorama']['id']}: panorama of 4" in text
    assert "11 shots in 1 burst, 1 bracket, 1 panorama and 1 single shot" in text
    status = burstd("status", check=3).stdout  # 3: the daemon is not running
    assert "1 burst, 1 bracket, 1 panorama, 1 single shot" in status

    # Ranked like bursts on request: a pick, stars by rank, the kind kept.
    ranked = burstd.json("scan", card, "--sets", "rank")
    bracket_group = next(g for g in ranked["groups"] if g["kind"] == "bracket")
    assert not bracket_group["kept_whole"]
    assert sorted(m["rating"] for m in bracket_group["members"]) == [1, 2, 3]
    top = exiftool_tags(Path(bracket_group["members"][0]["path"] + ".xmp"))
    assert "burstd|pick" in keywords(top) and top["XMP-burstd:Kind"] == "bracket"

    # Undo takes all of it back: the sidecars burstd created are gone.
    assert burstd("undo", card, check=0).returncode == 0
    assert burstd("undo", card, check=0).returncode == 0
    assert not list(card.glob("*.xmp"))


@needs_exiftool
def test_a_set_becoming_a_burst_loses_its_kind(burstd, tmp_path: Path) -> None:
    """burstd:Kind is burstd's: taken out of the sidecar again when the frames are no set any more."""
    folder = tmp_path / "b"
    folder.mkdir()
    paths = bracket(folder, first=1, start=T0)
    burstd.json("scan", folder)
    assert exiftool_tags(paths[1].with_name(paths[1].name + ".xmp"))["XMP-burstd:Kind"] == "bracket"
    for path in paths[1:]:  # the -2 and +2 EV frames gone; a copy of the 0 EV frame: a burst of two
        path.unlink()
        path.with_name(path.name + ".xmp").unlink()
    shutil.copy(paths[0], folder / "DSC_0009.JPG")
    report = burstd.json("scan", folder)
    assert [g["kind"] for g in report["groups"]] == ["burst"]
    assert "XMP-burstd:Kind" not in exiftool_tags(paths[0].with_name(paths[0].name + ".xmp"))


@pytest.fixture
def daemon(tmp_path: Path):
    yield from watching(tmp_path)


@needs_exiftool
def test_a_bracket_arriving_in_a_watched_folder_becomes_one_bracket_incrementally(daemon: Daemon, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    make_burst(staging, DATA / "IMG_5910.jpg", [1.0, 0.0, 2.0], start=T0, first_number=1, size=(900, 600))
    frames = bracket(staging, first=4, start=T0 + timedelta(seconds=60))
    card = daemon.root / "card"
    card.mkdir()
    daemon.start()
    # The burst and the bracket's first frame: a session; then the rest of the bracket: another.
    for name in ("DSC_0001.JPG", "DSC_0002.JPG", "DSC_0003.JPG", "DSC_0004.JPG"):
        shutil.copy2(staging / name, card)
    daemon.wait_sessions(1)
    burst_sidecars = {p.name: p.stat().st_mtime_ns for p in card.glob("DSC_000[123].JPG.xmp")}
    assert len(burst_sidecars) == 3
    for path in frames[1:]:
        shutil.copy2(path, card)
    sessions = daemon.wait_sessions(2)
    assert (sessions[0]["files"], sessions[0]["bursts"], sessions[0]["brackets"], sessions[0]["single_shots"]) == (2, 1, 1, 0)
    ids = set()
    for path in frames:
        tags = exiftool_tags(card / (path.name + ".xmp"))
        assert (tags["XMP-xmp:Rating"], tags["XMP-burstd:Kind"], tags["XMP-burstd:BurstSize"]) == (3, "bracket", 3)
        ids.add(tags["XMP-burstd:BurstId"])
    assert len(ids) == 1
    # The burst was kept as it was: its sidecars not even rewritten.
    assert {p.name: p.stat().st_mtime_ns for p in card.glob("DSC_000[123].JPG.xmp")} == burst_sidecars
    assert "1 bracket" in daemon.cli("status").stdout
    assert json.loads(daemon.cli("status", "--json").stdout)["sessions"][0]["brackets"] == 1
    assert daemon.stop() == 0

