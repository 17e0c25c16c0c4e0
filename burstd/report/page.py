"""The review page: what burstd decided for a folder, as a static HTML page with its thumbnails.

It owns the page file and the hidden picture folder beside it (`.<page stem>_files/`), nothing else. The
bursts come from the shared pipeline in dry-run mode (analyses from the cache, no sidecar written),
each frame's write state from its sidecar as it is on disk. Thumbnails and previews are made from a
reduced decode (DCT scaling for JPEG, the embedded preview for RAW), never a full decode; only the
100% crops of burst frames read a whole JPEG. Generated files are named by a hash of the source's
path, size and mtime (and the crop's box), so a rerun reuses them and a changed photo gets new ones.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import rawpy
from PIL import Image

from burstd.analysis.decode import UPRIGHT, raw_preview, read_kind, reduced_rgb
from burstd.errors import ImageError, SidecarError
from burstd.fsio import write_atomically
from burstd.models import (
    Face,
    FileProblem,
    Kind,
    RatedBurst,
    RatedShot,
    RegionKind,
    ScanSettings,
    Shot,
    SidecarAction,
    SidecarOutcome,
)
from burstd.naming import natural_key, sidecar_targets
from burstd.pipeline import Progress, scan_folder
from burstd.ranking import kept_whole, subject_region
from burstd.report.html import FaceMark, Picture, ReportBurst, ReportFrame, ReportPage, href, render
from burstd.sidecar.files import read_sidecar
from burstd.store import Store
from burstd.subject import face_box
from burstd.wording import KIND_PLURALS, GroupCounts, pick_why

THUMB_SIDE = 320  # long side of the row thumbnails
PREVIEW_SIDE = 1200  # long side of the click view
CROP_MAX = (800, 600)  # a 100% crop larger than this is cut around the region's centre
QUALITY = 82
_GENERATED = re.compile(r"^[0-9a-f]{20}_[tpc]\.jpg$")

# left, top, right, bottom, then the centre a capped crop keeps: fractions of the stored (unrotated) image
Box = tuple[float, float, float, float, float, float]


@dataclass(slots=True)
class ReportSummary:
    out: Path
    images: int = 0  # image files shown (a RAW and its JPEG are two)
    bursts: int = 0  # of two or more shots; sets apart
    single_shots: int = 0
    groups: GroupCounts = GroupCounts()  # every kind of group
    written: int = 0  # frames whose rating is the one burstd wrote
    manual: int = 0  # frames rated by hand, in a sidecar of either naming style
    pictures_made: int = 0
    pictures_reused: int = 0
    problems: list[FileProblem] = field(default_factory=list)  # files that could not be read or shown
    failed_sidecars: list[SidecarOutcome] = field(default_factory=list)  # sidecars a scan could not write

    @property
    def errors(self) -> int:
        return len(self.problems) + len(self.failed_sidecars)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


@dataclass(frozen=True, slots=True)
class _Pictures:
    thumb: Picture | None
    preview: Picture | None
    crop: Picture | None
    crop_note: str
    made: int
    reused: int


def write_report(directory: Path, out: Path, store: Store, settings: ScanSettings,
                 progress: Progress | None = None, *,
                 settings_in: Callable[[Path], ScanSettings] | None = None) -> ReportSummary:
    """Write the review page of `directory` to `out` (and its thumbnails beside it).

    The bursts are those `scan` finds with the same settings (`settings_in`: a sub-folder's own, as
    for `scan_folder`), as a dry run. `progress(stage, done, total)` is called from the calling thread
    between files, as the pipeline stages do, and once per shot whose pictures are ready ("pictures").
    """
    scan = scan_folder(directory, replace(settings, dry_run=True), store, progress, settings_in=settings_in)
    summary = ReportSummary(out, problems=list(scan.problems), failed_sidecars=scan.failed_outcomes())
    states = {
        m.shot.primary: frame_state(m.shot, settings, [o for f in m.shot.files for o in scan.sidecars.get(f, [])])
        for rated in scan.bursts for m in rated.members
    }
    summary.images = scan.images
    summary.written = sum(1 for s, _ in states.values() if s == "written")
    summary.manual = sum(1 for s, _ in states.values() if s == "manual")
    ordered = sorted(scan.bursts, key=_shooting_order)
    # Hidden, so that `scan -r`, a rerun with `-r` and the daemon's catch-up never take the
    # thumbnails for photos when the page lies inside the folder it shows (the default). Only this
    # one folder is made: the page's own folder must exist (a mistyped path creates nothing).
    files_dir = out.parent / f".{out.stem}_files"
    files_dir.mkdir(exist_ok=True)
    pictures = make_pictures(ordered, files_dir, settings.workers, summary, progress)
    def kept(rated: RatedBurst) -> bool:  # with the folder's own settings, as the scan rated it
        folder = rated.burst.shots[0].primary.parent
        sets = settings.sets if settings_in is None or folder == directory else settings_in(folder).sets
        return kept_whole(rated.burst, sets)

    rows = [_report_burst(rated, states, pictures, directory, kept(rated)) for rated in ordered]
    bursts = [r for r in rows if len(r.frames) > 1]
    singles = [r for r in rows if len(r.frames) == 1]
    summary.groups = scan.groups
    summary.bursts, summary.single_shots = summary.groups.bursts, summary.groups.single_shots
    sets = [(KIND_PLURALS[kind], n) for kind, n in ((Kind.BRACKET, summary.groups.brackets),
            (Kind.FOCUS_STACK, summary.groups.focus_stacks), (Kind.PANORAMA, summary.groups.panoramas)) if n]
    page = ReportPage(
        title=f"burstd report: {directory.resolve()}",
        totals=[("images", summary.images), ("bursts", summary.bursts), *sets, ("single shots", summary.single_shots),
                ("written", summary.written), ("manual kept", summary.manual), ("errors", summary.errors)],
        bursts=bursts,
        single_shots=singles,
        errors=[(str(p.path), p.reason) for p in [*summary.problems, *summary.failed_sidecars]],
    )
    write_atomically(out, render(page).encode("utf-8"))
    _prune(files_dir, {p.href.rsplit("/", 1)[-1] for pics in pictures.values()
                       for p in (pics.thumb, pics.preview, pics.crop) if p})
    return summary


def make_pictures(bursts: Sequence[RatedBurst], files_dir: Path, workers: int, summary: ReportSummary,
                  progress: Progress | None = None) -> dict[Path, _Pictures]:
    """Thumbnail, preview and (for burst frames) crop of every shot, made in parallel or reused."""
    jobs = [(m.shot, box) for rated in bursts for m, box in zip(rated.members, crop_boxes(rated), strict=True)]
    results: list[_Pictures | FileProblem] = []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="report") as pool:
        # Taken one by one as they are ready, so `progress` runs in the caller's thread between shots
        # (the daemon's main thread tells systemd's watchdog it is alive from there).
        for done, result in enumerate(pool.map(lambda job: _pictures_or_problem(job[0], job[1], files_dir), jobs), start=1):
            results.append(result)
            if progress:
                progress("pictures", done, len(jobs))
    pictures: dict[Path, _Pictures] = {}
    for (shot, _), result in zip(jobs, results, strict=True):
        if isinstance(result, FileProblem):  # the frame is still shown, without pictures
            summary.problems.append(result)
            result = _Pictures(None, None, None, "no preview (see the errors at the end)", 0, 0)
        pictures[shot.primary] = result
        summary.pictures_made += result.made
        summary.pictures_reused += result.reused
    return pictures


def frame_state(shot: Shot, settings: ScanSettings, outcomes: Sequence[SidecarOutcome]) -> tuple[str, int | None]:
    """("written" | "manual" | "none" | "unreadable", the rating darktable will show) for one frame.

    A rating set by hand is found as the pipeline finds it (its dry run's outcomes: kept-manual in a
    sidecar of either naming style, `IMG_0001.CR2.xmp` or `IMG_0001.xmp`), so page and scan agree;
    otherwise the frame's first sidecar in the folder's naming style says whether burstd rated it.
    """
    kept = next((o for o in outcomes if o.action is SidecarAction.KEPT_MANUAL and o.previous_rating is not None), None)
    if kept is not None:
        return "manual", kept.previous_rating
    return sidecar_state(sidecar_targets(shot.files, settings.sidecar_style)[0][1])


def sidecar_state(sidecar: Path) -> tuple[str, int | None]:
    """("written" | "manual" | "none" | "unreadable", the sidecar's rating) for one sidecar."""
    try:
        state = read_sidecar(sidecar)
    except SidecarError:
        return "unreadable", None
    if state is None or state.rating is None:
        return "none", None
    return ("written" if state.burstd_rating == state.rating else "manual"), state.rating


def crop_boxes(rated: RatedBurst) -> list[Box | None]:
    """Per member, the bounding box of the region its score was measured on: the faces, the focus
    point or the moving subject (`RatedShot.region`), else the burst's sharpest tiles.

    None for a single shot: a crop only helps to compare frames, and it costs a full decode.
    """
    members = rated.members
    if len(members) < 2:
        return [None] * len(members)
    if all(m.region.kind is not RegionKind.SHARPEST_TILES and m.region.box for m in members):
        return [(*m.region.box, (m.region.box[0] + m.region.box[2]) / 2, (m.region.box[1] + m.region.box[3]) / 2)
                for m in members if m.region.box]
    grids = [m.shot.analysis.tiles for m in members]
    shared = all(grids) and len({len(g) for g in grids}) == 1 and len({m.shot.analysis.grid for m in members}) == 1
    region = subject_region(np.asarray(grids, dtype=np.float64)) if shared else None
    boxes: list[Box | None] = []
    for m in members:
        rows, cols = m.shot.analysis.grid
        if not m.shot.analysis.tiles or rows * cols != len(m.shot.analysis.tiles):
            boxes.append(None)
            continue
        # Mixed grids only happen across differently shaped files; ranking then used each frame's own region.
        tiles = region if region is not None else subject_region(np.asarray([m.shot.analysis.tiles]))
        cells = [divmod(int(i), cols) for i in tiles]
        cx, cy = _nearest_tile_centre(cells, rows, cols)
        boxes.append((min(c for _, c in cells) / cols, min(r for r, _ in cells) / rows,
                      (max(c for _, c in cells) + 1) / cols, (max(r for r, _ in cells) + 1) / rows, cx, cy))
    return boxes


def _nearest_tile_centre(cells: Sequence[tuple[int, int]], rows: int, cols: int) -> tuple[float, float]:
    """The centre of the region tile nearest to the region's middle: where a capped crop is centred.

    The region may be several patches; its plain middle could fall on blurred background between them.
    """
    mx = sum(c + 0.5 for _, c in cells) / len(cells)
    my = sum(r + 0.5 for r, _ in cells) / len(cells)
    r, c = min(cells, key=lambda rc: ((rc[1] + 0.5 - mx) ** 2 + (rc[0] + 0.5 - my) ** 2, rc))
    return (c + 0.5) / cols, (r + 0.5) / rows


def _pictures_or_problem(shot: Shot, box: Box | None, files_dir: Path) -> _Pictures | FileProblem:
    try:
        return _pictures(shot, box, files_dir)
    except ImageError as exc:
        return FileProblem(exc.path, f"report preview: {exc.reason}")
    except (OSError, ValueError, rawpy.LibRawError, Image.DecompressionBombError) as exc:
        return FileProblem(shot.primary, f"report preview: {type(exc).__name__}: {exc}")


def _pictures(shot: Shot, box: Box | None, files_dir: Path) -> _Pictures:
    path = shot.primary
    kind = read_kind(path)
    if kind is None:
        raise ImageError(path, "not an image")
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:20]
    thumb_path, preview_path = files_dir / f"{key}_t.jpg", files_dir / f"{key}_p.jpg"
    made = reused = 0
    if thumb_path.exists() and preview_path.exists():
        reused += 2
    else:
        preview = reduced_rgb(path, kind, PREVIEW_SIDE)
        _save(preview, preview_path)
        preview.thumbnail((THUMB_SIDE, THUMB_SIDE))
        _save(preview, thumb_path)
        made += 2
    crop, note = None, "single shot: no crop (crops are made for the frames of bursts only)"
    if box is not None:
        crop_path = files_dir / (hashlib.sha1(f"{key}{box}".encode()).hexdigest()[:20] + "_c.jpg")
        if crop_path.exists():
            reused += 1
        else:
            _save_crop(path, kind, box, shot.analysis.orientation, crop_path)
            made += 1
        crop = _picture(crop_path, files_dir)
        note = (f"crop of the embedded preview ({crop.width}x{crop.height} px), not the sensor's 100%" if kind == "raw"
                else f"100% crop of the region the score was measured on ({crop.width}x{crop.height} px)")
    return _Pictures(_picture(thumb_path, files_dir), _picture(preview_path, files_dir), crop, note, made, reused)


def _save_crop(path: Path, kind: str, box: Box, orientation: int, out: Path) -> None:
    """Crop the region at 100% (capped around its centre) and save it upright.

    A RAW is not demosaiced for this: its embedded preview is the largest image burstd reads.
    """
    # The tiles were measured on the stored (unrotated) pixels, so the box applies before turning upright.
    im, orientation = raw_preview(path) if kind == "raw" else (Image.open(path), orientation)
    with im:
        w, h = im.size
        left, top, right, bottom, cx, cy = box
        x0, y0, x1, y1 = round(left * w), round(top * h), round(right * w), round(bottom * h)
        if x1 - x0 > CROP_MAX[0]:
            x0 = min(max(0, round(cx * w) - CROP_MAX[0] // 2), w - CROP_MAX[0])
            x1 = x0 + CROP_MAX[0]
        if y1 - y0 > CROP_MAX[1]:
            y0 = min(max(0, round(cy * h) - CROP_MAX[1] // 2), h - CROP_MAX[1])
            y1 = y0 + CROP_MAX[1]
        crop = im.crop((x0, y0, x1, y1)).convert("RGB")  # Pillow decodes the JPEG once, here
    if orientation in UPRIGHT:
        crop = crop.transpose(UPRIGHT[orientation])
    _save(crop, out)


def _picture(path: Path, files_dir: Path) -> Picture:
    with Image.open(path) as im:  # reads the header only
        width, height = im.size
    return Picture(href(files_dir.name, path.name), width, height)


def _save(im: Image.Image, path: Path) -> None:
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=QUALITY, optimize=True)
    write_atomically(path, buffer.getvalue())  # a half-written picture would be reused forever


def _prune(files_dir: Path, keep: set[str]) -> None:
    """Remove generated files no frame uses any more (a photo changed, deleted or regrouped)."""
    for p in files_dir.iterdir():
        if _GENERATED.match(p.name) and p.name not in keep:
            p.unlink(missing_ok=True)


def _shooting_order(rated: RatedBurst) -> tuple:
    shots = rated.burst.shots
    first = min(shots, key=lambda s: (s.analysis.capture_time, natural_key(s.primary.name)))
    return natural_key(str(first.primary.parent)), first.analysis.capture_time, natural_key(first.primary.name)


def _report_burst(rated: RatedBurst, states: dict[Path, tuple[str, int | None]],
                  pictures: dict[Path, _Pictures], root: Path, kept: bool) -> ReportBurst:
    # Offsets only between EXIF times: a copy's mtimes differ by the copy's own pace, not the camera's.
    times = [s.analysis.known_time for s in rated.burst.shots]
    start = None if None in times else min(t for t in times if t is not None)
    folder = rated.burst.shots[0].primary.parent
    return ReportBurst(
        id=rated.burst.id,
        folder="" if folder == root else str(folder.relative_to(root) if folder.is_relative_to(root) else folder),
        frames=tuple(_report_frame(m, states, pictures[m.shot.primary], start) for m in rated.members),
        kind=rated.burst.kind,
        kept=kept,
        why=pick_why(rated) if len(rated.members) > 1 and not kept else "",
    )


def _report_frame(m: RatedShot, states: dict[Path, tuple[str, int | None]], pics: _Pictures,
                  start: float | None) -> ReportFrame:  # fmt: skip
    state, rating = states[m.shot.primary]
    return ReportFrame(
        name=m.shot.primary.name, files=tuple(f.name for f in m.shot.files), rank=m.rank, rating=rating,
        planned=m.rating, state=state, score=m.score,
        offset=None if start is None else m.shot.analysis.capture_time - start,
        thumb=pics.thumb, preview=pics.preview, crop=pics.crop, crop_note=pics.crop_note,
        faces=tuple(_face_mark(f, m.shot) for f in m.faces if face_box(f, m.shot.analysis.width, m.shot.analysis.height)),
        eyes_closed=m.eyes_closed,
    )


# EXIF orientation -> where a point (u, v) of the stored image (fractions) lands in the upright picture.
_UPRIGHT_POINT: dict[int, Callable[[float, float], tuple[float, float]]] = {
    1: lambda u, v: (u, v), 2: lambda u, v: (1 - u, v), 3: lambda u, v: (1 - u, 1 - v), 4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u), 6: lambda u, v: (1 - v, u), 7: lambda u, v: (1 - v, 1 - u), 8: lambda u, v: (v, 1 - u),
}


def _face_mark(face: Face, shot: Shot) -> FaceMark:
    """A face's box turned upright with its picture (faces are found in the stored pixels)."""
    a = shot.analysis
    left, top, right, bottom = face_box(face, a.width, a.height)  # type: ignore[misc]
    turn = _UPRIGHT_POINT.get(a.orientation, _UPRIGHT_POINT[1])
    (x0, y0), (x1, y1) = turn(left, top), turn(right, bottom)
    return FaceMark((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), face.eyes.value)
