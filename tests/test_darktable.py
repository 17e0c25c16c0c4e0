"""Proof with the real darktable: what burstd writes is what darktable shows, and its edits survive."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.darktable import import_files, needs_darktable, running_darktable
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, make_burst

pytestmark = pytest.mark.slow  # the real darktable under Xvfb

T0 = datetime(2026, 11, 24, 11, 0, 0)
SIDECARS = Path(__file__).parent / "data" / "sidecars"
ARTIFACTS = ROOT / "tests" / "artifacts"
XMP_LABELS = {"Red": 0, "Yellow": 1, "Green": 2, "Blue": 3, "Purple": 4}


def copy_for_darktable(folder: Path, dest: Path) -> list[Path]:
    """darktable rewrites sidecars on import: it gets a copy, images and sidecars alike."""
    shutil.copytree(folder, dest)
    return sorted(p for p in dest.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))


@needs_darktable
@needs_exiftool
def test_darktable_shows_the_stars_and_rejects_burstd_wrote(burstd, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    # Twelve frames: the tiers give 3 2 2 1 1 1 1 1 0 0 0 0, and the far blurriest is rejected instead.
    blurs = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 6.0]
    make_burst(card, DATA / "IMG_5910.jpg", blurs, start=T0, first_number=1, size=(900, 600))
    make_burst(card, DATA / "flower.jpg", [0.0], start=T0.replace(minute=30), first_number=20, size=(400, 300))
    burstd("scan", card, "--reject-below", "0.2", check=0)
    intended = {p.name.removesuffix(".xmp"): exiftool_tags(p)["XMP-xmp:Rating"] for p in card.glob("*.xmp")}
    assert 0 in intended.values() and -1 in intended.values(), intended  # both cases really occur

    stored = import_files(copy_for_darktable(card, tmp_path / "copy"), tmp_path / "dt")

    table = {name: (d.stars, d.rejected) for name, d in stored.items()}
    expected = {name: (0, True) if r < 0 else (r, False) for name, r in intended.items()}
    # darktable keeps the star count of a rejected image: compare rejects by the flag alone.
    assert {n: (s if not rej else 0, rej) for n, (s, rej) in table.items()} == expected


@needs_darktable
def test_a_darktable_edit_history_survives_burstds_merge(burstd, tmp_path: Path) -> None:
    # 1. darktable itself writes a sidecar with a 13-step history: import an image whose sidecar
    #    has that history (darktable rewrites the sidecar on import, in its own words).
    first = tmp_path / "first"
    first.mkdir()
    shutil.copy(DATA / "flower.jpg", first / "DSC_0100.JPG")
    shutil.copy(SIDECARS / "IMG_0001.CR2.xmp", first / "DSC_0100.JPG.xmp")
    before = import_files([first / "DSC_0100.JPG"], tmp_path / "dt1")["DSC_0100.JPG"]
    assert len(before.history) == 13
    darktable_written = (first / "DSC_0100.JPG.xmp").read_text()
    assert "darktable:history" in darktable_written

    # 2. burstd rates the image through that darktable-written sidecar (forced: its 1 star is not burstd's).
    second = tmp_path / "second"
    shutil.copytree(first, second)
    burstd("scan", second, "--force", "-m", "4", check=0)
    merged = (second / "DSC_0100.JPG.xmp").read_text()
    assert 'xmp:Rating="4"' in merged and merged.count("xmp:Rating") == 1

    # 3. A fresh darktable library imports it: the same history, and burstd's rating.
    after = import_files(copy_for_darktable(second, tmp_path / "copy"), tmp_path / "dt2")["DSC_0100.JPG"]
    assert after.history == before.history
    assert after.stars == 4


def _listed(value: object) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


@needs_darktable
@needs_exiftool
def test_darktable_shows_the_keywords_and_labels_burstd_wrote(burstd, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_burst(card, DATA / "IMG_5910.jpg", [0.0, 0.6, 0.9, 6.0], start=T0, first_number=1, size=(900, 600))
    make_burst(card, DATA / "flower.jpg", [0.0], start=T0.replace(minute=30), first_number=20, size=(400, 300))
    # A burst without any EXIF: its keyword is undated, and darktable must keep it whole.
    make_burst(card, DATA / "pcb_004.JPG", [0.0, 2.0], start=T0, first_number=30, size=(900, 600), prefix="IMG_",
               camera=None, with_exif_time=False)
    # A frame the photographer had keyworded elsewhere: flat dc:subject only, and Lightroom's xmp:Label.
    shutil.copy(SIDECARS / "exiftool_rating_element.xmp", card / "DSC_0003.JPG.xmp")
    burstd("scan", card, "--reject-below", "0.2", "--pick-label", "green", "--force", check=0)

    # What burstd meant, read from its sidecars with exiftool (darktable reads xmp:Label over its own labels).
    intended = {}
    for sidecar in sorted(card.glob("*.xmp")):
        tags = exiftool_tags(sidecar)
        rating = tags["XMP-xmp:Rating"]
        label = tags.get("XMP-xmp:Label")
        labels = {XMP_LABELS[label]} if label else {int(c) for c in _listed(tags.get("XMP-darktable:Colorlabels"))}
        intended[sidecar.name.removesuffix(".xmp")] = (
            max(rating, 0), rating < 0, frozenset(labels), frozenset(_listed(tags.get("XMP-lr:HierarchicalSubject"))),
        )
    stored = import_files(copy_for_darktable(card, tmp_path / "copy"), tmp_path / "dt")
    table = {name: (0 if d.rejected else d.stars, d.rejected, d.labels, d.tags) for name, d in stored.items()}

    lines = ["| file | stars | rejected | colour labels | tags | burstd intended |", "|---|---|---|---|---|---|"]
    for name in sorted(table):
        stars, rejected, labels, tags = table[name]
        same = "same" if intended.get(name) == table[name] else f"DIFFERENT: {intended.get(name)}"
        lines.append(f"| {name} | {stars} | {'yes' if rejected else 'no'} | {sorted(labels) or '-'} | "
                     f"{', '.join(sorted(tags)) or '-'} | {same} |")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "darktable-table.md").write_text("\n".join(lines) + "\n")
    assert table == intended, "\n".join(lines)

    # The cases this test is about really occur.
    pick = next(n for n, v in intended.items() if "burstd|pick" in v[3])
    assert intended[pick][2] == {2}  # the green pick label
    assert any(v[1] for v in intended.values())  # a reject
    assert {"heron", "marsh"} <= intended["DSC_0003.JPG"][3]  # the photographer's flat keywords, carried over
    assert intended["DSC_0003.JPG"][2] == {0}  # their xmp:Label (Red) wins in darktable
    assert intended["DSC_0020.JPG"][3] == frozenset()  # a single shot: no keyword
    undated = {t for t in intended["IMG_0030.JPG"][3] if t.startswith("burstd|burst|")}
    assert len(undated) == 1 and undated.pop().startswith("burstd|burst|undated IMG_0030-")


@needs_darktable
def test_status_warns_while_darktable_holds_its_library(burstd, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    card = root / "2026-11-24"
    card.mkdir(parents=True)
    make_burst(card, DATA / "flower.jpg", [0.0, 0.5], start=T0, first_number=1, size=(400, 300))
    conf = tmp_path / "darktable" / "config"
    config = tmp_path / "burstd.toml"
    config.write_text(f'roots = ["{root}"]\ndarktable_config = "{conf}"\n')
    with running_darktable(sorted(card.glob("*.JPG")), conf) as pid:
        info = burstd.json("status", "--config", config, "--cache", tmp_path / "db.sqlite3", check=3)
        (warning,) = info["warnings"]
        assert f"pid {pid}" in warning and str(card) in warning and "look for updated XMP files" in warning
        assert "warning: darktable is open" in burstd("status", "--config", config, "--cache", tmp_path / "db.sqlite3").stdout
    # darktable gone (killed: its lock file stays behind, stale): no warning.
    assert (conf / "library.db.lock").exists()
    assert burstd.json("status", "--config", config, "--cache", tmp_path / "db.sqlite3", check=3)["warnings"] == []
