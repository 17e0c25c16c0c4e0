"""The benchmark in miniature: a tiny synthetic card of easy cases, scanned by the real `burstd scan`.

Only what must always hold is asserted: bursts far apart in time or scene, and the two bodies of one
event, are grouped exactly; where a burst's best frame is clearly sharper, it is ranked first.
No timing. The full benchmark is `python -m tests.bench`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.bench.cardgen import generate
from tests.bench.render import PHOTOS
from tests.bench.score import predictions, score_run

pytestmark = [
    pytest.mark.slow,  # generates and scans a benchmark card
    # The card is made from the real photos of ../shared/photos (research data, never copied into the
    # project); a checkout without them cannot make it.
    pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"the benchmark card needs the real photos in {PHOTOS}"),
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    root = tmp_path_factory.mktemp("bench")
    card, truth = generate(root, "tiny", seed=1, workers=2)
    env = os.environ | {"XDG_STATE_HOME": str(root / "state")}
    proc = subprocess.run(
        [sys.executable, "-m", "burstd", "scan", str(card), "--dry-run", "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return truth, json.loads(proc.stdout)


def test_tiny_card_is_what_the_test_expects(tiny_run):
    truth, _ = tiny_run
    situations = {info["situation"] for info in truth["files"].values()}
    assert situations == {"burst", "single", "scene_cut", "two_bodies"}
    assert 30 <= len(truth["files"]) <= 60
    assert all(b["clearly"] for b in truth["bursts"].values() if b["rankable"])


def test_easy_bursts_are_grouped_exactly(tiny_run):
    truth, report = tiny_run
    labels, _, _ = predictions(report)
    predicted: dict[str, set[str]] = defaultdict(set)
    for name, info in truth["files"].items():
        predicted[info["burst"]].add(labels.get(name, "missing"))
    wrong = {b: sorted(p) for b, p in predicted.items() if len(p) != 1}
    assert not wrong, f"truth bursts split across predicted bursts: {wrong}"
    scored = score_run(truth, report)
    assert scored["missing"] == []
    assert scored["grouping"]["f1"] == 1.0, scored["grouping"]["pairs"]
    assert scored["situations"]["two_bodies"]["f1"] == 1.0


def test_clearly_sharpest_frame_is_ranked_first(tiny_run):
    truth, report = tiny_run
    ranking = score_run(truth, report)["ranking"]
    assert ranking["top1_clearly_bursts"] >= 6
    assert ranking["misses"] == []


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")
def test_generated_exif_reads_back_with_exiftool(tiny_run):
    truth, report = tiny_run
    card = Path(report["directory"])
    out = subprocess.run(
        ["exiftool", "-json", "-n", "-Make", "-Model", "-SerialNumber", "-LensModel", "-SubSecDateTimeOriginal",
         "-ExposureTime", "-FNumber", "-ISO", "-ExposureCompensation", "-Orientation", str(card / "IMG_0001.JPG")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tags = json.loads(out)[0]
    assert (tags["Make"], tags["Model"], tags["SerialNumber"]) == ("Canon", "Canon EOS R6", "032021001234")
    assert tags["LensModel"] == "RF24-105mm F4 L IS USM"
    when = truth["files"]["IMG_0001.JPG"]["time"]  # ISO 8601, milliseconds
    assert tags["SubSecDateTimeOriginal"].startswith(when[:19].replace("-", ":").replace("T", " "))
    assert tags["SubSecDateTimeOriginal"].endswith("+02:00")
    iso = truth["files"]["IMG_0001.JPG"]["iso"]
    assert (tags["ExposureTime"], tags["FNumber"], tags["ISO"], tags["ExposureCompensation"], tags["Orientation"]) == (
        0.004, 4, iso, 0, 1)


def test_generation_is_deterministic(tmp_path, tiny_run):
    truth, report = tiny_run
    card, again = generate(tmp_path, "tiny", seed=1, workers=1)
    assert again["files"] == truth["files"]
    first = Path(report["directory"])
    for name in list(truth["files"])[:10]:
        assert (card / name).read_bytes() == (first / name).read_bytes(), name
