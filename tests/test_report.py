"""`burstd report` end to end: real photos, real sidecars (read back by exiftool), the page parsed, and
the page driven in a real headless chromium."""

from __future__ import annotations

import importlib.util
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

from tests.helpers_exiftool import exiftool_tags, needs_exiftool
from tests.photos import DATA, make_burst

pytestmark = pytest.mark.slow  # end-to-end pages, one opened in the real chromium

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
T0 = datetime(2026, 11, 24, 14, 3, 7)
ODD_PREFIX = "odd <b>&\"'_"  # a singleton whose name must be escaped everywhere
MANUAL = "DSC_0001.JPG"  # rank 3 of the first burst; its rating is changed by hand


class Page(HTMLParser):
    """The frames of the page: per burst row (and the singletons), each frame's attributes and images."""

    def __init__(self) -> None:
        super().__init__()
        self.bursts: list[list[dict[str, str]]] = []
        self.singles: list[dict[str, str]] = []
        self.totals: dict[str, int] = {}
        self.images: list[dict[str, str]] = []
        self._total: str | None = None
        self._frame: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "section" and "burst" in classes:
            self.bursts.append([])
        elif tag == "figure" and "frame" in classes:
            self._frame = {**a, "pick": str("pick" in classes)}
            (self.singles if "single" in classes else self.bursts[-1]).append(self._frame)
        elif tag == "img" and self._frame is not None:
            self._frame["img"] = a["src"]
            self.images.append(a)
        elif tag == "span" and "total" in classes:
            self._total = a["data-total"]

    def handle_data(self, data: str) -> None:
        if self._total is not None and data.strip():
            self.totals[self._total] = int(data)
            self._total = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._frame = None


def parse(page: Path) -> Page:
    parser = Page()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def rated_card(burstd, tmp_path: Path) -> Path:
    """Two bursts and a singleton, scanned (sidecars written), one rating then changed by hand."""
    folder = tmp_path / "card"
    folder.mkdir()
    make_burst(folder, DATA / "IMG_5910.jpg", [1.5, 0.0, 2.5, 1.0, 3.0], start=T0, first_number=1, size=(900, 600))
    make_burst(folder, DATA / "pcb_004.JPG", [2.0, 1.2, 0.0, 3.0], start=T0.replace(second=8, microsecond=500000),
               first_number=6, seed=2, size=(900, 600))
    make_burst(folder, DATA / "flower.jpg", [0.0], start=T0.replace(minute=9), first_number=10, size=(400, 300),
               prefix=ODD_PREFIX)
    burstd("scan", folder, check=0)
    sidecar = folder / f"{MANUAL}.xmp"
    text = sidecar.read_text()
    assert 'xmp:Rating="1"' in text
    sidecar.write_text(text.replace('xmp:Rating="1"', 'xmp:Rating="2"'))
    return folder


@needs_exiftool
def test_page_shows_the_bursts_picks_and_stars_of_the_sidecars(burstd, rated_card: Path) -> None:
    result = burstd("report", rated_card, check=0)
    page_path = rated_card / "burstd-report.html"
    assert str(page_path) in result.stdout
    text = page_path.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text, "the page must not need the network"
    assert ODD_PREFIX not in text, "a file name reached the page unescaped"
    page = parse(page_path)

    assert [[f["data-name"] for f in burst] for burst in page.bursts] == [
        ["DSC_0002.JPG", "DSC_0004.JPG", "DSC_0001.JPG", "DSC_0003.JPG", "DSC_0005.JPG"],  # sharpest first
        ["DSC_0008.JPG", "DSC_0007.JPG", "DSC_0006.JPG", "DSC_0009.JPG"],
    ]
    assert [f["data-name"] for f in page.singles] == [f"{ODD_PREFIX}0010.JPG"]
    for frame in [f for burst in page.bursts for f in burst] + page.singles:
        sidecar = exiftool_tags(rated_card / f"{frame['data-name']}.xmp")
        assert int(frame["data-rating"]) == sidecar["XMP-xmp:Rating"], frame["data-name"]
        assert frame["data-state"] == ("manual" if frame["data-name"] == MANUAL else "written"), frame["data-name"]
    for burst in page.bursts:
        picks = [f for f in burst if f["pick"] == "True"]
        assert picks == [burst[0]]
        assert int(picks[0]["data-rating"]) == max(int(f["data-rating"]) for f in burst)
    assert not any(f["pick"] == "True" for f in page.singles)
    assert page.totals == {"images": 10, "bursts": 2, "single shots": 1, "written": 9, "manual kept": 1, "errors": 0}


def test_pictures_are_small_jpegs_and_reused(burstd, rated_card: Path, tmp_path: Path) -> None:
    out = tmp_path / "review #1.html"  # the thumbnail folder's name needs URL-quoting
    burstd("report", rated_card, "-o", out, check=0)
    files = tmp_path / ".review #1_files"
    page = parse(out)
    assert len(page.images) == 10
    for img in page.images:
        assert img["loading"] == "lazy"
        with Image.open(out.parent / unquote(img["src"])) as im:
            assert im.format == "JPEG" and max(im.size) <= 320
            assert (int(img["width"]), int(img["height"])) == im.size
    frames = [f for burst in page.bursts for f in burst]
    for frame in frames:
        with Image.open(out.parent / unquote(frame["data-preview"])) as im:
            assert im.format == "JPEG" and 320 < max(im.size) <= 1200
        with Image.open(out.parent / unquote(frame["data-crop"])) as im:
            assert im.format == "JPEG" and im.width <= 800 and im.height <= 600
        assert "100% crop" in frame["data-crop-note"]
    assert page.singles[0]["data-crop"] == "" and "no crop" in page.singles[0]["data-crop-note"]
    assert not list(rated_card.glob("*_files")) and not list(rated_card.glob(".*_files")), "pictures go beside the page"

    before = {p.name: p.stat().st_mtime_ns for p in files.iterdir()}
    assert len(before) == 10 * 2 + 9  # thumbnail + preview per shot, a crop per burst frame
    second = burstd("report", rated_card, "-o", out, check=0)
    assert "0 pictures made" in second.stdout
    assert {p.name: p.stat().st_mtime_ns for p in files.iterdir()} == before


def test_default_page_in_the_folder_is_never_taken_for_photos(burstd, rated_card: Path) -> None:
    for _ in range(2):  # the second run would see the first run's pictures, were they not hidden
        burstd("report", "-r", rated_card, check=0)
    page = parse(rated_card / "burstd-report.html")
    assert page.totals["images"] == 10 and len(page.images) == 10
    assert (rated_card / ".burstd-report_files").is_dir()
    assert burstd.json("scan", "-r", "--dry-run", rated_card)["summary"]["shots"] == 10


def test_a_burst_without_exif_time_shows_time_unknown_not_offsets(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(6):  # a real focus stack without any EXIF: its files' times are the copy's
        (folder / f"step{i}.jpg").write_bytes((DATA / f"step{i}.jpg").read_bytes())
    make_burst(folder, DATA / "IMG_5910.jpg", [0.0, 2.0], start=T0, first_number=1, size=(900, 600))
    burstd("report", folder, check=0)
    text = (folder / "burstd-report.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section class="burst[^"]*" data-burst-id="([^"]+)"[^>]*><h2>(.*?)</h2>(.*?)</section>', text)
    heads = {burst_id.split("-")[0]: head for burst_id, head, _ in sections}
    captions = {burst_id.split("-")[0]: re.findall(r'<span class="meta">(.*?)</span>', body) for burst_id, _, body in sections}
    assert " · time unknown " in heads["step0"] and " s " not in heads["step0"]
    assert " · 0.10 s " in heads["DSC_0001"]
    assert len(captions["step0"]) == 6 and not any("+" in c for c in captions["step0"]), captions["step0"]
    assert any("+0.10 s" in c for c in captions["DSC_0001"]), captions["DSC_0001"]
    # The focus stack is drawn as a set: its kind, its frames in shooting order, no pick.
    assert heads["step0"].startswith("Focus stack ") and " · shooting order " in heads["step0"]
    assert heads["DSC_0001"].startswith("Burst ")
    assert [c.split(" · ")[0] for c in captions["step0"]] == [f"step{i}.jpg" for i in range(6)]
    stack = next(body for burst_id, _, body in sections if burst_id.startswith("step0"))
    assert 'class="frame pick"' not in stack and 'class="frame pick"' in text


def test_raw_gets_its_thumbnail_from_the_embedded_preview(burstd, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    raw = DATA / "nikon_z_9_high_efficiency_compressed_dx_cropped_max_overexposed.dng"
    (folder / raw.name).write_bytes(raw.read_bytes())
    burstd("report", folder, check=0)
    page = parse(folder / "burstd-report.html")
    assert [f["data-name"] for f in page.singles] == [raw.name] and page.singles[0]["data-state"] == "none"
    with Image.open(folder / unquote(page.singles[0]["img"])) as im:
        assert im.format == "JPEG" and max(im.size) <= 320


def test_failed_file_is_listed_and_exit_is_one(burstd, rated_card: Path) -> None:
    (rated_card / "broken.JPG").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = burstd("report", rated_card, check=1)
    assert "broken.JPG" in result.stderr
    page = parse(rated_card / "burstd-report.html")
    assert page.totals["errors"] == 1 and len(page.bursts) == 2


def test_not_a_folder_is_a_usage_error(burstd, tmp_path: Path) -> None:
    assert "is not a folder" in burstd("report", tmp_path / "missing", check=2).stderr


# --- in a real browser -------------------------------------------------------------------------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
_missing = [what for what, ok in (
    ("chromium (apt: chromium)", CHROMIUM.exists()),
    ("chromedriver (apt: chromium-driver)", CHROMEDRIVER.exists()),
    ("selenium (pip: selenium)", importlib.util.find_spec("selenium") is not None),
) if not ok]
needs_browser = pytest.mark.skipif(bool(_missing), reason="browser test needs " + ", ".join(_missing))


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@needs_browser
@needs_exiftool
def test_page_in_a_real_browser(burstd, rated_card: Path, tmp_path: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    out = tmp_path / "review page.html"
    burstd("report", rated_card, "-o", out, check=0)
    browser.get(out.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "section.burst")
    assert len(rows) == 2
    style = "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineColor];"
    for row in rows:
        frames = row.find_elements(By.CSS_SELECTOR, "figure.frame")
        picks = row.find_elements(By.CSS_SELECTOR, "figure.frame.pick")
        assert len(picks) == 1 and picks[0] == frames[0]
        ratings = {f.get_attribute("data-name"): exiftool_tags(rated_card / f"{f.get_attribute('data-name')}.xmp")["XMP-xmp:Rating"]
                   for f in frames}
        assert ratings[picks[0].get_attribute("data-name")] == max(ratings.values())
        # Highlighted: drawn with a visible outline the other frames do not have.
        assert browser.execute_script(style, picks[0])[0] == "solid"
        assert browser.execute_script(style, picks[0]) != browser.execute_script(style, frames[1])
    loaded = "return [...document.querySelectorAll('section.burst img')].every(i => i.complete && i.naturalWidth > 0)"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(loaded))
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report.png"))

    rows[0].find_element(By.CSS_SELECTOR, "figure.pick img").click()
    overlay = browser.find_element(By.ID, "overlay")
    assert overlay.is_displayed()
    natural = "return [document.getElementById('ov-preview').naturalWidth, document.getElementById('ov-crop').naturalWidth]"
    WebDriverWait(browser, 10).until(lambda d: min(d.execute_script(natural)) > 0)
    assert "100% crop" in browser.find_element(By.ID, "ov-crop-note").text
    browser.save_screenshot(str(ARTIFACTS / "report-overlay.png"))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    WebDriverWait(browser, 5).until(lambda d: not overlay.is_displayed())
