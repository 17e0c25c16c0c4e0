"""`burstd scan` and `burstd report` with people: the real CLI in a subprocess on real JPEGs, sidecars read
back by exiftool, the review page in the real chromium.

The faces reach the scan the way the face detector's do: in the analysis cache (a real SQLite file),
where each file's analysis is kept. The files are analysed by a first real scan; their cached
analyses then get hand-made faces (as the detector would give them: boxes, eyes, openness), and the
next scans read them from the cache, the files unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from burstd.models import EyeState, Face
from burstd.store import Store
from burstd.store.analyses import CacheEntry
from burstd.store.database import default_cache_path
from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, digests, make_burst
from tests.test_report import ARTIFACTS, browser, needs_browser  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.slow  # end-to-end scans through the CLI, a page in the real chromium

T0 = datetime(2026, 11, 24, 14, 3, 7)
FACE = (330, 150, 260, 320)  # a head-and-shoulders face in the 900x600 frames (make_burst shifts them by 12 px at most)


def give_faces(faces: dict[str, tuple[Face, ...]]) -> None:
    """Put hand-made faces into the cached analyses of these files (by name), as the detector would."""
    with Store.open(default_cache_path()) as store:
        paths = {Path(p) for p in faces}
        found = store.analyses.lookup((p, p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
        assert set(found) == paths, "the first scan analysed every file"
        store.analyses.save(
            (p, p.stat().st_size, p.stat().st_mtime_ns, CacheEntry(e.kind, replace(e.analysis, faces=faces[str(p)]), e.orb))
            for p, e in found.items()
        )


@pytest.fixture
def people_card(burstd, tmp_path: Path) -> Path:
    """A burst of four frames, the sharpest with the subject's eyes closed, and a single shot with
    closed eyes; analysed by a first scan, then given their faces in the cache."""
    folder = tmp_path / "card"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 1.0, 1.5, 2.0], start=T0, first_number=1, size=(900, 600))
    make_burst(folder, DATA / "flower.jpg", [0.0], start=T0.replace(minute=9), first_number=10, size=(400, 300))
    burstd("scan", folder, "--no-config", "--dry-run", check=0)
    open_, closed = Face(FACE, 0.95, EyeState.OPEN, 0.31, None), Face(FACE, 0.95, EyeState.CLOSED, 0.04, None)
    give_faces({
        str(folder / "DSC_0001.JPG"): (closed,),
        str(folder / "DSC_0002.JPG"): (replace(open_, openness=0.29),),
        str(folder / "DSC_0003.JPG"): (open_,),
        str(folder / "DSC_0004.JPG"): (replace(open_, eyes=EyeState.CLOSED, openness=0.23),),  # a squint: open for this person
        str(folder / "DSC_0010.JPG"): (Face((100, 60, 90, 110), 0.9, EyeState.CLOSED, 0.05, None),),
    })
    return folder


def members(report: dict) -> dict[str, dict]:
    return {Path(m["path"]).name: m for g in report["groups"] for m in g["members"]}


def test_json_gives_faces_regions_and_why_the_pick_won(burstd, people_card: Path) -> None:
    report = burstd.json("scan", people_card, "--no-config", "--dry-run", check=0)
    burst, single = report["groups"]
    assert [Path(m["path"]).name for m in burst["members"]] == ["DSC_0002.JPG", "DSC_0003.JPG", "DSC_0004.JPG", "DSC_0001.JPG"]
    assert [m["rating"] for m in burst["members"]] == [3, 2, 1, 0]
    assert burst["pick_reason"] == "eyes-open"
    assert burst["why"] == "every eye open, while 1 sharper frame had closed eyes; the sharpest of the others on the faces"
    by_name = members(report)
    assert by_name["DSC_0001.JPG"]["faces"] == [{"box": list(FACE), "eyes": "closed", "openness": 0.04}]
    assert by_name["DSC_0004.JPG"]["faces"] == [{"box": list(FACE), "eyes": "open", "openness": 0.23}]
    assert [by_name[n]["eyes_closed"] for n in ("DSC_0001.JPG", "DSC_0002.JPG", "DSC_0004.JPG", "DSC_0010.JPG")] == [
        True, False, False, True]
    region = by_name["DSC_0002.JPG"]["sharpness_region"]
    assert region["kind"] == "faces"
    x, y, w, h = region["box"]
    assert FACE[0] - 120 <= x and x + w <= FACE[0] + FACE[2] + 120 and FACE[1] - 120 <= y and y + h <= FACE[1] + FACE[3] + 120
    assert single["pick_reason"] == "single-shot" and single["members"][0]["faces"][0]["eyes"] == "closed"
    assert single["members"][0]["sharpness_region"]["kind"] == "faces"
    assert report["settings"]["reject_closed_eyes"] is False
    # -v (and --dry-run) says it too.
    out = burstd("scan", people_card, "--no-config", "--dry-run", check=0).stdout
    assert "burst of 4, every eye open, while 1 sharper frame had closed eyes" in out
    assert "DSC_0001.JPG  eyes closed" in out


@needs_exiftool
def test_closed_eyes_are_keyworded_and_rejected_on_request(burstd, people_card: Path) -> None:
    before = digests(people_card, "*.JPG")
    report = burstd.json("scan", people_card, "--no-config", "--reject-closed-eyes", check=0)
    assert report["settings"]["reject_closed_eyes"] is True
    assert {n: m["rating"] for n, m in members(report).items()} == {
        "DSC_0002.JPG": 3, "DSC_0003.JPG": 2, "DSC_0004.JPG": 1, "DSC_0001.JPG": -1, "DSC_0010.JPG": 3}
    closed = exiftool_tags(people_card / "DSC_0001.JPG.xmp")
    assert closed["XMP-xmp:Rating"] == -1
    assert "burstd|eyes-closed" in closed["XMP-lr:HierarchicalSubject"]
    pick = exiftool_tags(people_card / "DSC_0002.JPG.xmp")
    assert "burstd|pick" in pick["XMP-lr:HierarchicalSubject"]
    assert "burstd|eyes-closed" not in pick["XMP-lr:HierarchicalSubject"]
    # A single shot with closed eyes: the keyword alone (a single shot has no burst keyword).
    assert exiftool_tags(people_card / "DSC_0010.JPG.xmp")["XMP-lr:HierarchicalSubject"] in ("burstd|eyes-closed", ["burstd|eyes-closed"])
    # The setting comes from the configuration as well; without it the frame is only ranked last.
    (people_card / ".burstd.toml").write_text("reject_closed_eyes = false\n")
    again = burstd.json("scan", people_card, check=0)
    assert members(again)["DSC_0001.JPG"]["rating"] == 0
    assert digests(people_card, "*.JPG") == before, "an image file was written"


@needs_browser
def test_review_page_draws_the_faces_and_marks_closed_eyes(burstd, people_card: Path, tmp_path: Path, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out = tmp_path / "page.html"
    burstd("report", people_card, "--no-config", "-o", out, check=0)
    browser.get(out.as_uri())
    (row,) = browser.find_elements(By.CSS_SELECTOR, "section.burst")
    assert "pick: every eye open, while 1 sharper frame had closed eyes" in row.find_element(By.TAG_NAME, "h2").text
    frames = {f.get_attribute("data-name"): f for f in row.find_elements(By.CSS_SELECTOR, "figure.frame")}
    assert list(frames) == ["DSC_0002.JPG", "DSC_0003.JPG", "DSC_0004.JPG", "DSC_0001.JPG"]
    loaded = "return [...document.querySelectorAll('figure.frame img')].every(i => i.complete && i.naturalWidth > 0)"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(loaded))
    where = ("const f = arguments[0].getBoundingClientRect(), i = arguments[1].getBoundingClientRect();"
             "return [(f.left - i.left) / i.width, (f.top - i.top) / i.height, f.width / i.width, f.height / i.height,"
             " getComputedStyle(arguments[0]).borderTopColor];")
    for name, colour in (("DSC_0001.JPG", "rgb(224, 90, 79)"), ("DSC_0002.JPG", "rgb(108, 192, 112)")):
        figure = frames[name]
        (box,) = figure.find_elements(By.CSS_SELECTOR, "i.face")
        left, top, width, height, border = browser.execute_script(where, box, figure.find_element(By.TAG_NAME, "img"))
        # Drawn where the face is on the thumbnail (900x600 frames: FACE in fractions), in its colour.
        assert (left, top, width, height) == pytest.approx((330 / 900, 150 / 600, 260 / 900, 320 / 600), abs=0.02)
        assert border == colour
    assert "eyes closed" in frames["DSC_0001.JPG"].text and "eyes closed" not in frames["DSC_0002.JPG"].text
    # The single shot with closed eyes is marked too.
    single = browser.find_element(By.CSS_SELECTOR, "figure.frame.single")
    assert "closed" in single.get_attribute("class") and single.find_elements(By.CSS_SELECTOR, "i.face.eyes-closed")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report-people.png"))
    # The crop of a burst frame is of the faces' region.
    frames["DSC_0002.JPG"].find_element(By.TAG_NAME, "img").click()
    natural = "return document.getElementById('ov-crop').naturalWidth"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(natural) > 0)
    assert browser.execute_script(natural) <= 420, "a crop of the faces' tiles, not of the frame"
