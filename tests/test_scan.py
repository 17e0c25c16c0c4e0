"""`burstd scan` end to end: the real CLI in a subprocess, real photos, sidecars read back by exiftool."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from burstd.ranking import NOISE_MARGIN
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, SHARED, digests, make_burst

pytestmark = pytest.mark.slow  # end-to-end scans of real photos through the CLI

T0 = datetime(2026, 11, 24, 14, 3, 7)


def ratings(report: dict) -> dict[str, int]:
    return {Path(m["path"]).name: m["rating"] for b in report["groups"] for m in b["members"]}


def groups(report: dict) -> list[list[str]]:
    return [sorted(Path(m["path"]).name for m in b["members"]) for b in report["groups"]]


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """A card dump: two hand-held bursts of different scenes 1 s apart, and a single shot later."""
    folder = tmp_path / "card"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [1.5, 0.0, 2.5, 1.0, 3.0], start=T0, first_number=1, size=(900, 600))
    make_burst(folder, DATA / "pcb_004.JPG", [2.0, 1.2, 0.0, 3.0], start=T0.replace(second=8, microsecond=500000), first_number=6, seed=2, size=(900, 600))
    make_burst(folder, DATA / "flower.jpg", [0.0], start=T0.replace(minute=9), first_number=10, size=(400, 300))
    return folder


@needs_exiftool
def test_card_is_grouped_ranked_and_rated(burstd, card: Path) -> None:
    before = digests(card)
    report = burstd.json("scan", card, check=0)
    assert groups(report) == [
        ["DSC_0001.JPG", "DSC_0002.JPG", "DSC_0003.JPG", "DSC_0004.JPG", "DSC_0005.JPG"],
        ["DSC_0006.JPG", "DSC_0007.JPG", "DSC_0008.JPG", "DSC_0009.JPG"],
        ["DSC_0010.JPG"],
    ]
    # Sharpest first: blur 0.0, 1.0, 1.5, 2.5, 3.0 -> tiers 3 2 1 1 1.
    assert ratings(report) == {
        "DSC_0002.JPG": 3, "DSC_0004.JPG": 2, "DSC_0001.JPG": 1, "DSC_0003.JPG": 1, "DSC_0005.JPG": 1,
        "DSC_0008.JPG": 3, "DSC_0007.JPG": 2, "DSC_0006.JPG": 1, "DSC_0009.JPG": 1,
        "DSC_0010.JPG": 3,
    }
    for name, rating in ratings(report).items():
        tags = exiftool_tags(card / f"{name}.xmp")
        assert tags["XMP-xmp:Rating"] == rating
    assert digests(card) == before, "an image file was written"


def real_sweep(tmp_path: Path) -> tuple[Path, int]:
    """The real focus sweep of a circuit board, copied; on a fresh clone without shared/, the three
    frames kept in tests/data."""
    sweep = SHARED / "focus_pcb_depthmap"
    folder = tmp_path / "sweep"
    if sweep.is_dir():
        shutil.copytree(sweep, folder)
        return folder, 10
    folder.mkdir()
    for name in ("pcb_003.JPG", "pcb_004.JPG", "pcb_005.JPG"):
        shutil.copy(DATA / name, folder)
    return folder, 3


@needs_exiftool
def test_real_focus_sweep_is_a_focus_stack_kept_whole(burstd, tmp_path: Path) -> None:
    if not (SHARED / "focus_pcb_depthmap").is_dir():
        pytest.skip("needs ../shared/photos: three frames of the sweep alone do not show it sweeping")
    folder, size = real_sweep(tmp_path)
    before = digests(folder)
    report = burstd.json("scan", folder, check=0)
    (group,) = report["groups"]
    assert (group["kind"], group["size"], group["kept_whole"]) == ("focus-stack", size, True)
    assert report["summary"]["focus_stacks"] == 1 and report["summary"]["bursts"] == 0
    members = group["members"]
    # In shooting order, every frame the max rank: nothing to cull, no pick.
    assert [Path(m["path"]).name for m in members] == sorted(p.name for p in folder.glob("pcb_*.JPG"))
    assert [(m["rank"], m["rating"]) for m in members] == [(i, 3) for i in range(1, size + 1)]
    for m in members:
        tags = exiftool_tags(Path(m["path"] + ".xmp"))
        keywords = tags["XMP-lr:HierarchicalSubject"]
        keywords = keywords if isinstance(keywords, list) else [keywords]
        assert (tags["XMP-xmp:Rating"], tags["XMP-burstd:Kind"]) == (3, "focus-stack")
        assert keywords == [f"burstd|focus-stack|2015-06-06 {group['id']}"]
        assert "burstd|pick" not in keywords
    assert digests(folder) == before, "an image file was written"
    # --set-rating gives a kept set other stars; --sets rank brings the ranking back.
    rated = burstd.json("scan", folder, "--set-rating", "2", check=0)["groups"][0]["members"]
    assert {m["rating"] for m in rated} == {2}


@needs_exiftool
def test_real_focus_sweep_picks_the_sharpest_when_sets_are_ranked(burstd, tmp_path: Path) -> None:
    folder, size = real_sweep(tmp_path)
    expected_pick = "pcb_004.JPG"
    report = burstd.json("scan", folder, "--sets", "rank", check=0)
    assert len(report["groups"]) == 1 and report["groups"][0]["size"] == size
    # Three frames alone do not show the sweep: on a fresh clone without shared/ they are a burst.
    kind = "focus-stack" if size == 10 else "burst"
    assert (report["groups"][0]["kind"], report["groups"][0]["kept_whole"]) == (kind, False)
    members = report["groups"][0]["members"]
    assert Path(members[0]["path"]).name == expected_pick
    assert exiftool_tags(folder / f"{expected_pick}.xmp")["XMP-xmp:Rating"] == 3
    if size == 10:
        assert Path(members[1]["path"]).name == "pcb_003.JPG"
        # Rank 0 is written explicitly: darktable would show a missing rating as 1 star.
        for m in members[8:]:
            assert m["rating"] == 0
            assert exiftool_tags(Path(m["path"] + ".xmp"))["XMP-xmp:Rating"] == 0


def test_focus_stack_without_exif_falls_back_to_content_and_names(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    folder.mkdir()
    for i in range(6):
        shutil.copy(DATA / f"step{i}.jpg", folder)
    report = burstd.json("scan", folder, "--dry-run", check=0)
    assert groups(report) == [[f"step{i}.jpg" for i in range(6)]]
    assert report["groups"][0]["kind"] == "focus-stack"
    report = burstd.json("scan", folder, "--dry-run", "--sets", "rank", check=0)
    assert groups(report) == [[f"step{i}.jpg" for i in range(6)]]
    members = report["groups"][0]["members"]
    assert Path(members[0]["path"]).name == "step1.jpg"
    assert Path(members[-1]["path"]).name == "step5.jpg"
    # No EXIF time: the files' mtimes (the copy's) are not shown as the moment they were taken.
    assert {(m["time_source"], m["capture_time"]) for m in members} == {("unknown", None)}
    assert not list(folder.glob("*.xmp")), "--dry-run wrote a sidecar"


@needs_exiftool
def test_a_set_without_exif_time_gets_an_undated_keyword(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    folder.mkdir()
    for i in range(6):
        shutil.copy(DATA / f"step{i}.jpg", folder)
    report = burstd.json("scan", folder, check=0)
    burst_id = report["groups"][0]["id"]
    for i in range(6):
        keywords = exiftool_tags(folder / f"step{i}.jpg.xmp")["XMP-lr:HierarchicalSubject"]
        keywords = keywords if isinstance(keywords, list) else [keywords]
        assert f"burstd|focus-stack|undated {burst_id}" in keywords, keywords


def reencoded(source: Path, dest: Path, quality: int) -> Path:
    """The same photograph saved again at another JPEG quality, its EXIF (and capture time) kept."""
    with Image.open(source) as im:
        im.save(dest, "JPEG", quality=quality, exif=im.info["exif"])
    return dest


@needs_exiftool
def test_the_same_photo_re_encoded_shares_the_picks_stars(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    for name in ("pcb_004.JPG", "pcb_005.JPG"):  # the sharpest frame of a real focus sweep, and a softer one
        shutil.copy(DATA / name, folder)
    copies = {reencoded(DATA / "pcb_004.JPG", folder / f"pcb_004_q{q}.JPG", q).name for q in (90, 85)}
    report = burstd.json("scan", folder, check=0)
    (burst,) = report["groups"]
    assert burst["noise_margin"] == NOISE_MARGIN
    members = {Path(m["path"]).name: m for m in burst["members"]}
    sharp = {"pcb_004.JPG"} | copies
    # The tiers alone would give 3 2 1 1: the copies cannot be told apart from the pick, so they share its stars.
    assert {name: m["rating"] for name, m in members.items()} == {**dict.fromkeys(sharp, 3), "pcb_005.JPG": 1}
    pick = Path(burst["members"][0]["path"]).name
    assert {name for name, m in members.items() if m["indistinguishable_from_pick"]} == sharp - {pick}
    assert members["pcb_005.JPG"]["rank"] == 4 and not members["pcb_005.JPG"]["indistinguishable_from_pick"]
    for name, m in members.items():
        tags = exiftool_tags(folder / f"{name}.xmp")
        keywords = tags["XMP-lr:HierarchicalSubject"]
        keywords = keywords if isinstance(keywords, list) else [keywords]
        assert tags["XMP-xmp:Rating"] == m["rating"], name
        assert ("burstd|pick" in keywords) == (m["rank"] == 1), name  # still one pick: rank 1


def test_rerun_is_cached_and_writes_nothing(burstd, card: Path) -> None:
    burstd("scan", card, check=0)
    mtimes = {p.name: p.stat().st_mtime_ns for p in card.glob("*.xmp")}
    report = burstd.json("scan", card, check=0)
    assert report["summary"]["analysed"] == 0 and report["summary"]["cached"] == 10
    assert report["summary"]["sidecars"] == {"unchanged": 10}
    assert {p.name: p.stat().st_mtime_ns for p in card.glob("*.xmp")} == mtimes


def test_manual_rating_is_kept_and_force_overrides(burstd, card: Path) -> None:
    burstd("scan", card, check=0)
    sidecar = card / "DSC_0003.JPG.xmp"
    text = sidecar.read_text()
    sidecar.write_text(text.replace('xmp:Rating="1"', 'xmp:Rating="5"'))
    edited = sidecar.read_bytes()
    report = burstd.json("scan", card, check=0)
    actions = {Path(s["path"]).name: s["action"] for b in report["groups"] for m in b["members"] for s in m["sidecars"]}
    assert actions["DSC_0003.JPG.xmp"] == "kept-manual"
    assert sidecar.read_bytes() == edited
    burstd("scan", card, "--force", check=0)
    assert 'xmp:Rating="1"' in sidecar.read_text()


def test_exclude_leaves_existing_sidecars_alone(burstd, card: Path) -> None:
    existing = card / "DSC_0001.JPG.xmp"
    shutil.copy(DATA / "IMG_5910.xmp.orig", existing)
    before = existing.read_bytes()
    report = burstd.json("scan", card, "-e", check=0)
    actions = {Path(s["path"]).name: s["action"] for b in report["groups"] for m in b["members"] for s in m["sidecars"]}
    assert actions["DSC_0001.JPG.xmp"] == "excluded"
    assert existing.read_bytes() == before
    assert actions["DSC_0002.JPG.xmp"] == "created"


def test_bad_input_is_reported_once_each_and_the_rest_is_rated(burstd, card: Path) -> None:
    (card / "zero.jpg").write_bytes(b"")
    (card / "notes.jpg").write_text("not a photo\n")
    (card / "half.JPG").write_bytes((DATA / "pcb_004.JPG").read_bytes()[:200_000])
    for name in ("sony_alpha_a7iii_raw_image.ARW",):
        shutil.copy(DATA / name, card)
    (card / "readme.txt").write_text("ignored silently: not an image name, not an image\n")
    (card / ".DSC_0099.JPG.a1B2c3").write_bytes(b"rsync temp file")
    result = burstd("scan", card, check=1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, result.stderr
    assert any("zero.jpg" in l and "empty" in l for l in lines)
    assert any("notes.jpg" in l and "not an image" in l for l in lines)
    assert any("half.JPG" in l and "truncated" in l for l in lines)
    assert any("sony_alpha_a7iii_raw_image.ARW" in l for l in lines)
    assert len(list(card.glob("DSC_*.JPG.xmp"))) == 10
    for bad in ("zero.jpg", "notes.jpg", "half.JPG", "sony_alpha_a7iii_raw_image.ARW"):
        assert not (card / f"{bad}.xmp").exists()
    # Nothing was cached as good: a second run reports the same failures again.
    again = burstd("scan", card, check=1)
    assert len(again.stderr.strip().splitlines()) == 4


def test_raw_and_jpeg_of_one_shot_are_rated_alike(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "pair"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 2.0], start=T0, first_number=1, size=(900, 600))
    shutil.copy(DATA / "colorchart.dng", folder / "DSC_0001.DNG")
    shutil.copy(DATA / "colorchart.dng", folder / "DSC_0002.DNG")
    report = burstd.json("scan", folder, check=0)
    assert report["summary"]["analysed"] == 2  # the RAWs were not decoded
    (burst,) = report["groups"]
    assert [sorted(Path(f).name for f in m["files"]) for m in burst["members"]] == [
        ["DSC_0001.DNG", "DSC_0001.JPG"], ["DSC_0002.DNG", "DSC_0002.JPG"],
    ]
    for raw, jpeg, rating in (("DSC_0001.DNG", "DSC_0001.JPG", 3), ("DSC_0002.DNG", "DSC_0002.JPG", 2)):
        assert "rating=\"%d\"" % rating in (folder / f"{raw}.xmp").read_text().replace("xmp:Rating", "rating")
        assert "rating=\"%d\"" % rating in (folder / f"{jpeg}.xmp").read_text().replace("xmp:Rating", "rating")


def test_a_lone_raw_is_analysed_from_its_pixels(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    shutil.copy(DATA / "colorchart.dng", folder)
    report = burstd.json("scan", folder, "--dry-run", check=0)
    (member,) = report["groups"][0]["members"]
    assert member["source"].startswith("raw-halfsize")  # no embedded preview in this DNG


def test_heif_is_decoded(burstd, tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    folder = tmp_path / "heif"
    folder.mkdir()
    pillow_heif.register_heif_opener()
    with Image.open(DATA / "IMG_5910.jpg") as im:
        im.save(folder / "IMG_0001.HEIC", format="HEIF", exif=im.getexif().tobytes())
    report = burstd.json("scan", folder, "--dry-run", check=0)
    (member,) = report["groups"][0]["members"]
    assert member["source"].startswith("heif") and member["time_source"] == "exif"


def test_usage_errors_exit_2(burstd, tmp_path: Path) -> None:
    assert burstd("scan", tmp_path / "missing").returncode == 2
    result = burstd("scan", tmp_path, "-m", "9", "-d", "3")
    assert result.returncode == 2
    assert "--max-rank: expected an integer 1-5, got 9" in result.stderr and "--diff" in result.stderr  # every problem at once
    assert burstd("scan").returncode == 2


def test_original_flags_and_long_forms(burstd, card: Path) -> None:
    a = burstd.json("scan", card, "--dry-run", "-f", "-m", "5", "-d", "0.2", check=0)
    b = burstd.json("scan", card, "--dry-run", "--feature_matching", "--max_rank", "5", "--diff", "0.2", check=0)
    c = burstd.json("scan", card, "--dry-run", "--feature-matching", "--max-rank", "5", check=0)
    assert a["settings"]["method"] == b["settings"]["method"] == c["settings"]["method"] == "features"
    assert groups(a) == groups(b)
    assert max(m["rating"] for bu in a["groups"] for m in bu["members"]) == 5


def test_recursive_scans_each_folder_on_its_own(burstd, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    make_burst(root / "a", DATA / "IMG_5910.jpg", [0.0, 2.0], start=T0, first_number=1, size=(900, 600))
    make_burst(root / "b", DATA / "IMG_5910.jpg", [2.0, 0.0], start=T0, first_number=3, size=(900, 600))
    top = burstd("scan", root, "--dry-run", check=2)  # the images are all in sub-folders: -r is needed
    assert top.stdout == "" and f"add -r to include them: burstd scan -r {root}" in top.stderr
    report = burstd.json("scan", root, "-r", "--dry-run", check=0)
    assert groups(report) == [["DSC_0001.JPG", "DSC_0002.JPG"], ["DSC_0003.JPG", "DSC_0004.JPG"]]


def test_progress_bar_only_when_stderr_is_a_terminal(burstd, card: Path) -> None:
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.conftest import ROOT

    master, slave = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "burstd", "scan", str(card), "--dry-run"],
            stdout=subprocess.PIPE, stderr=slave, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
        )
        os.close(slave)
        shown = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's far end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert result.returncode == 0
    assert b"analyse  [" in shown and b"10/10" in shown
    assert b"analyse  [" not in result.stdout  # the bar never pollutes stdout
    assert "analyse  [" not in burstd("scan", card, "--dry-run", check=0).stderr  # no terminal, no bar


def test_a_broken_jpeg_does_not_cost_its_raw_the_rating(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "pair"
    folder.mkdir()
    (folder / "DSC_0001.JPG").write_bytes((DATA / "pcb_004.JPG").read_bytes()[:150_000])  # truncated
    shutil.copy(DATA / "colorchart.dng", folder / "DSC_0001.DNG")
    result = burstd("scan", folder, "--json", check=1)
    report = __import__("json").loads(result.stdout)
    (burst,) = report["groups"]
    (member,) = burst["members"]
    assert Path(member["path"]).name == "DSC_0001.DNG" and member["source"].startswith("raw-")
    assert (folder / "DSC_0001.DNG.xmp").exists() and not (folder / "DSC_0001.JPG.xmp").exists()
    assert [Path(e["path"]).name for e in report["errors"]] == ["DSC_0001.JPG"]


def test_a_warm_rescan_counts_the_rescued_raw_with_the_rest_as_cached(burstd, tmp_path: Path) -> None:
    """The RAW analysed in place of a broken JPEG is a second pass of the analyse stage: its counts
    add to the first pass's, they do not replace them."""
    folder = tmp_path / "pair"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.5, 2.5, 1.0], start=T0, first_number=2, size=(900, 600))
    (folder / "DSC_0001.JPG").write_bytes((DATA / "pcb_004.JPG").read_bytes()[:150_000])  # truncated
    shutil.copy(DATA / "colorchart.dng", folder / "DSC_0001.DNG")
    db = tmp_path / "c.sqlite3"
    cold = burstd.json("scan", folder, "--cache", db, check=1)["summary"]
    assert (cold["analysed"], cold["cached"]) == (5, 0)
    warm = burstd.json("scan", folder, "--cache", db, check=1)["summary"]
    assert (warm["analysed"], warm["cached"]) == (0, 5)  # the broken JPEG is retried, and fails again


# --- the configuration files: the same as the daemon's, the command line over them ---------------------


def pick_ratings(card: Path) -> dict[str, int]:
    """The rating exiftool reads from each sidecar of the card."""
    return {p.name.removesuffix(".xmp"): exiftool_tags(p)["XMP-xmp:Rating"] for p in sorted(card.glob("*.xmp"))}


@needs_exiftool
def test_a_folder_config_sets_scans_stars_and_the_command_line_wins(burstd, card: Path, private_config: Path) -> None:
    (card / ".burstd.toml").write_text("max_rank = 5\n")
    burstd("scan", card, check=0)
    assert max(pick_ratings(card).values()) == 5, "the folder's .burstd.toml is read"
    burstd("scan", card, "-m", "2", check=0)
    assert max(pick_ratings(card).values()) == 2, "an option given wins over the files"
    burstd("scan", card, "--no-config", check=0)
    assert max(pick_ratings(card).values()) == 3, "--no-config: the defaults"
    # The global file, found by $XDG_CONFIG_HOME as the daemon finds it; the folder's file wins over it.
    (private_config / "burstd").mkdir()
    (private_config / "burstd" / "config.toml").write_text("max_rank = 4\nscheme = \"linear\"\n")
    settings = burstd.json("scan", card, "--dry-run", check=0)["settings"]
    assert (settings["max_rank"], settings["scheme"]) == (5, "linear"), "key by key: the nearest file wins"
    (card / ".burstd.toml").unlink()
    assert burstd.json("scan", card, "--dry-run", check=0)["settings"]["max_rank"] == 4
    other = card.parent / "other.toml"
    other.write_text("max_rank = 1\n")
    assert burstd.json("scan", card, "--dry-run", "--config", other, check=0)["settings"]["max_rank"] == 1


def test_scan_config_problems_exit_2_naming_the_file(burstd, card: Path) -> None:
    missing = card.parent / "missing.toml"
    result = burstd("scan", card, "--config", missing, check=2)
    assert result.stderr == f"burstd scan: {missing}: no such configuration file\n"
    assert "not allowed with argument" in burstd("scan", card, "--config", missing, "--no-config", check=2).stderr
    (card / ".burstd.toml").write_text("max_rank = 9\n")
    result = burstd("scan", card, check=2)
    assert f"{card / '.burstd.toml'}: key 'max_rank': expected an integer 1-5, got 9" in result.stderr
    assert "Traceback" not in result.stderr and not list(card.glob("*.xmp")), "nothing done"
    burstd("scan", card, "--no-config", "--dry-run", check=0)


@needs_exiftool
def test_recursive_scan_and_report_use_each_folders_own_config(burstd, tmp_path: Path) -> None:
    root = tmp_path / "root"
    for name, first in (("sports", 1), ("family", 3), ("broken", 5)):
        (root / name).mkdir(parents=True)
        make_burst(root / name, DATA / "IMG_5910.jpg", [0.0, 2.0], start=T0, first_number=first, size=(900, 600))
    (root / "sports" / ".burstd.toml").write_text("max_rank = 5\n")
    (root / "broken" / ".burstd.toml").write_text("bogus = 1\n")
    result = burstd("scan", root, "-r")
    assert result.returncode == 1, result.stderr
    assert result.stderr == (f"burstd: {root / 'broken'}: skipped, its configuration is invalid: "
                             f"{root / 'broken' / '.burstd.toml'}: key 'bogus': unknown key\n")
    assert pick_ratings(root / "sports") == {"DSC_0001.JPG": 5, "DSC_0002.JPG": 4}
    assert pick_ratings(root / "family") == {"DSC_0003.JPG": 3, "DSC_0004.JPG": 2}
    assert not list((root / "broken").glob("*.xmp"))
    # The review page reads the same files the same way: what it plans is what scan wrote.
    out = tmp_path / "review.html"
    burstd("report", root, "-r", "-o", out, check=1)
    page = out.read_text()
    assert "would rate it" not in page, "the page contradicts the sidecars scan just wrote"
    assert sorted(int(r) for r in re.findall(r'data-rating="(-?\d+)"', page)) == [2, 3, 4, 5]
