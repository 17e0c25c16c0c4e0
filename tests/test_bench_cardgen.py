"""The benchmark card's sets and look-alikes (issue 15): the truth the generator writes for a set is what
it rendered. Generates the `sets` profile (one of each set and look-alike, 480x320) and measures the
files themselves: EXIF read back with exiftool, brightness of bracket frames, where the sharp band of a
focus-stack frame lies on its depth map, how far panorama frames overlap, that a tracking pan's subject
stays put while its background slides. The plan of the full card is checked for its set mix, and
the real `burstd scan --json` of the card is scored end to end.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.bench import render
from tests.bench.cardgen import generate
from tests.bench.plan import ASPECT, plan_card
from tests.bench.score import predicted_groups, score_run

pytestmark = [
    pytest.mark.slow,  # generates a benchmark card
    pytest.mark.skipif(not render.PHOTOS.is_dir(), reason=f"the benchmark card needs the real photos in {render.PHOTOS}"),
]


@pytest.fixture(scope="module")
def sets_card(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    return generate(tmp_path_factory.mktemp("bench"), "sets", seed=1, workers=2)


def _groups(truth: dict, kind: str, situation: str | None = None) -> list[list[str]]:
    """The files of each truth group of `kind`, in shooting order (file names sort so)."""
    return [sorted(b["files"]) for b in truth["bursts"].values()
            if b["kind"] == kind and (situation is None or b["situation"] == situation)]  # fmt: skip


def _grey(card: Path, name: str) -> np.ndarray:
    return cv2.imread(str(card / name), cv2.IMREAD_GRAYSCALE).astype(np.float32)


def _exif(card: Path, names: list[str]) -> dict[str, dict]:
    out = subprocess.run(
        ["exiftool", "-json", "-n", "-ExposureCompensation", "-ExposureTime", "-DateTimeOriginal",
         *(str(card / n) for n in names)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {Path(tags["SourceFile"]).name: tags for tags in json.loads(out)}


def test_the_sets_card_holds_every_kind_and_look_alike(sets_card):
    _, truth = sets_card
    kinds = defaultdict(list)
    for b in truth["bursts"].values():
        kinds[b["kind"]].append(b)
    assert sorted(len(b["files"]) for b in kinds["bracket"]) == [3, 3, 5, 5, 7]
    assert {b["situation"] for b in kinds["bracket"]} == {"bracket", "bracket_shutter", "bracket_noexif"}
    assert len(kinds["focus-stack"]) == 2 and len(kinds["panorama"]) == 2
    assert {b["situation"] for b in kinds["burst"]} >= {"ae_drift", "quick_reshoot", "tracking_pan"}
    assert all(not b["rankable"] for kind in ("bracket", "focus-stack", "panorama") for b in kinds[kind])
    for b in truth["bursts"].values():
        assert {truth["files"][f]["kind"] for f in b["files"]} == {b["kind"]}


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")
def test_bracket_exposures_are_what_truth_and_exif_say(sets_card):
    card, truth = sets_card
    files = truth["files"]
    for names in _groups(truth, "bracket"):
        evs = [files[n]["ev"] for n in names]
        assert len(set(evs)) == len(evs) and 0.0 in evs, evs
        brightness = [float(_grey(card, n).mean()) for n in names]
        by_ev = [b for _, b in sorted(zip(evs, brightness))]
        assert by_ev == sorted(by_ev), (names, evs, brightness)  # more light, brighter frame
        assert by_ev[-1] > 1.5 * by_ev[0]  # stops apart, not a drift
        tags = _exif(card, names)
        situation = files[names[0]]["situation"]
        for n in names:
            if situation == "bracket_noexif":
                assert files[n]["bias"] is None and "DateTimeOriginal" not in tags[n]
                continue
            assert tags[n]["ExposureCompensation"] == pytest.approx(files[n]["bias"], abs=0.01)
            assert tags[n]["ExposureTime"] == pytest.approx(files[n]["exposure_time"], rel=0.01)
            # aperture priority: a stop more light is twice the time; the bias is the ev, or 0 by shutter
            assert files[n]["exposure_time"] == pytest.approx(2 ** files[n]["ev"] / 250, rel=0.05)
            assert files[n]["bias"] == pytest.approx(0.0 if situation == "bracket_shutter" else files[n]["ev"], abs=0.01)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")
def test_ae_drift_moves_the_shutter_at_a_bias_of_zero(sets_card):
    card, truth = sets_card
    (names,) = _groups(truth, "burst", "ae_drift")
    tags = _exif(card, names)
    assert {tags[n]["ExposureCompensation"] for n in names} == {0}
    evs = [truth["files"][n]["ev"] for n in names]
    assert max(abs(e) for e in evs) <= 2 / 3 + 1e-9 and len(set(evs)) > 1
    times = {tags[n]["ExposureTime"] for n in names}
    assert len(times) == len(set(evs))


def _band_sharpness(grey: np.ndarray, depth: np.ndarray, bands: int) -> np.ndarray:
    """Mean squared Laplacian of the frame in each of `bands` equal depth bands."""
    energy = cv2.Laplacian(grey, cv2.CV_32F) ** 2
    index = np.minimum((depth * bands).astype(int), bands - 1)
    return np.array([energy[index == b].mean() for b in range(bands)])


def test_focus_stack_sharp_band_follows_the_focus_plane(sets_card):
    card, truth = sets_card
    files, bands = truth["files"], 5
    for names in _groups(truth, "focus-stack"):
        first = files[names[0]]
        depth = render.depth_map(truth["width"], truth["height"], first["depth"]["angle"], first["depth"]["gamma"])
        focus = [files[n]["focus"] for n in names]
        assert focus == sorted(focus) and focus[0] < 0.05 and focus[-1] > 0.95  # near to far
        sharp = np.array([_band_sharpness(_grey(card, n), depth, bands) for n in names])
        sharp /= sharp.max(axis=0)  # each band relative to its own sharpest frame: texture cancels
        sharpest_band = sharp.argmax(axis=1)
        expected = np.minimum((np.clip(focus, 0, 0.999) * bands).astype(int), bands - 1)
        assert np.all(np.abs(sharpest_band - expected) <= 1), (sharpest_band, expected)
        assert list(sharpest_band) == sorted(sharpest_band), sharpest_band
        near, far = sharp[:, 0], sharp[:, -1]
        assert near[0] > 2 * near[-1] and far[-1] > 2 * far[0]  # near sharp first, far sharp last


def _found_at(template: np.ndarray, image: np.ndarray) -> tuple[int, int]:
    result = cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED)
    _, score, _, (x, y) = cv2.minMaxLoc(result)
    assert score > 0.5, score
    return x, y


def test_panorama_frames_overlap_as_truth_says(sets_card):
    card, truth = sets_card
    files, width = truth["files"], truth["width"]
    for names in _groups(truth, "panorama"):
        for a, b in itertools.pairwise(names):
            pa, pb = files[a]["pose"], files[b]["pose"]
            shift = (pb[0] - pa[0]) / pa[2]  # in frame widths
            assert 0.2 - 1e-6 <= 1 - abs(shift) <= 0.6 + 1e-6
            # a strip of frame a that frame b must show too: found where the shift puts it
            ga, gb = _grey(card, a), _grey(card, b)
            h = ga.shape[0]
            strip_w = round(width * (1 - abs(shift)) * 0.6)
            x0 = round(width * shift + (width * (1 - abs(shift)) - strip_w) / 2) if shift > 0 else \
                round((width * (1 - abs(shift)) - strip_w) / 2)  # fmt: skip
            template = ga[h // 5 : 4 * h // 5, x0 : x0 + strip_w]
            x, _ = _found_at(template, gb)
            assert abs((x - x0) - (-width * shift)) < 0.03 * width, (a, b, x, x0, shift)
        first, last = files[names[0]]["pose"], files[names[-1]]["pose"]
        assert abs(last[0] - first[0]) / first[2] > 0.8  # the ends share little


def test_tracking_pan_subject_stays_while_the_background_slides(sets_card):
    card, truth = sets_card
    files, width, height = truth["files"], truth["width"], truth["height"]
    (names,) = _groups(truth, "burst", "tracking_pan")
    first, last = files[names[0]], files[names[-1]]
    x, y, r = first["subject"]
    for n in names:
        sx, sy, _ = files[n]["subject"]
        assert abs(sx - x) < 0.05 and abs(sy - y) < 0.05 * ASPECT  # the photographer keeps it in place
    slide = (last["pose"][0] - first["pose"][0]) / first["pose"][2]
    assert abs(slide) > 0.25  # the background moved a quarter of the frame or more
    ga, gb = _grey(card, names[0]), _grey(card, names[-1])
    side = round(1.2 * r * width)
    cx, cy = round(x * width), round(y * height)
    subject = ga[cy - side // 2 : cy + side // 2, cx - side // 2 : cx + side // 2]
    fx, fy = _found_at(subject, gb)
    assert abs(fx - (cx - side // 2)) < 0.05 * width and abs(fy - (cy - side // 2)) < 0.05 * height


def test_full_plan_has_the_set_mix():
    frames = plan_card(1, "full")
    groups: dict[str, list] = defaultdict(list)
    for f in frames:
        groups[f.burst].append(f)
    brackets = defaultdict(list)
    for members in groups.values():
        if members[0].kind == "bracket":
            brackets[members[0].situation].append(len(members))
    assert {s: sorted(n) for s, n in brackets.items()} == {
        "bracket": [3, 3, 3, 5, 7], "bracket_shutter": [3, 5, 7], "bracket_noexif": [3, 5, 7]}
    kinds = defaultdict(int)
    for members in groups.values():
        kinds[members[0].kind] += 1
    assert kinds["focus-stack"] == 6 and kinds["panorama"] == 6  # 4 synthetic + 2 real; 4 + 2 slow pans
    pans = [m for m in groups.values() if m[0].situation == "pan"]
    assert len(pans) == 2 and all(len(m) == 20 for m in pans)  # one panorama each, no longer 20 bursts
    fast = [m for m in groups.values() if m[0].situation == "panorama" and m[1].t - m[0].t < 0.2]
    assert len(fast) == 2  # at 10 fps; the other two seconds apart


def test_a_real_scan_of_the_sets_card_is_scored_end_to_end(sets_card, tmp_path):
    """Whatever burstd makes of the sets, every file is scored, every set frame has a rating, and the
    look-alikes are never taken for a set."""
    card, truth = sets_card
    proc = subprocess.run(
        [sys.executable, "-m", "burstd", "scan", str(card), "--dry-run", "--json"],
        capture_output=True, text=True, env=os.environ | {"XDG_STATE_HOME": str(tmp_path)}, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    scored = score_run(truth, report)
    assert scored["missing"] == [] and scored["unexpected"] == []
    set_files = sum(len(b["files"]) for b in truth["bursts"].values() if b["kind"] != "burst")
    assert scored["sets"]["set_files"] == set_files
    groups, _ = predicted_groups(report)
    kind_of = {f: g.kind for g in groups.values() for f in g.files}
    look_alikes = [f for f, info in truth["files"].items()
                   if info["situation"] in ("ae_drift", "quick_reshoot", "tracking_pan", "burst", "single")]  # fmt: skip
    assert {kind_of[f] for f in look_alikes} == {"burst"}
