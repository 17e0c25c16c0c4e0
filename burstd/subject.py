"""Where a burst's sharpness is measured: where its subject is. Pure: values in, values out.

The first of these that applies to a burst decides, for all of its frames:

1. **Faces**, when the burst has people (`people.main_people`). Each person's face is compared with
   that person's own face in the other frames (`Face.sharpness`, the focus measure over the eyes, over
   that person's sharpest frame), and the frame's score is the mean over its people; a person not
   found in a frame counts as their softest frame. When the analysis gave no face sharpness, the focus
   tiles the faces cover (at least half of each, `tiles_under`) are measured instead: coarse (a tile
   is an eighth of the frame's width), so a face much smaller than a tile is measured with its
   background.
2. **The camera's focus point**, when every frame's makernote gives it (`Declared.af_point`): the
   two by two tiles nearest to it.
3. **The moving subject**, in a burst (not a set: `Kind`) of three frames or more whose frames,
   aligned on each other (the hand-held shift measured on the thumbnails by phase correlation),
   differ in a few tiles only: in each frame, the tiles mostly covered by where it differs from the
   burst's background (the median of the aligned frames), which is where the subject is in that
   frame (their largest connected patch: the subject is one body). A sharp background then cannot
   outvote a subject blurred by its own motion. Not when any frame differs in more than 40 % of its
   tiles (a pan, a flash, an exposure step: the whole scene changed), nor when fewer than half of
   the frames differ anywhere.
4. Otherwise None: the ranking measures the quarter of the tiles sharpest across the burst
   (`ranking.subject_region`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from burstd.analysis.features import thumb_array
from burstd.models import Face, RegionKind, Shot
from burstd.people import Person

Box = tuple[float, float, float, float]  # left, top, right, bottom: fractions of the stored image

# Phase correlation's own confidence (0..1) below which a measured shift is taken as none: the
# thumbnails share too little (a new scene, a flash frame) for the shift to mean anything.
MIN_SHIFT_RESPONSE = 0.05
# A pixel of a thumbnail moves when the frame differs there from the burst's aligned background by
# more than this, in units of the thumbnails' own contrast (each is scaled to mean 0, deviation 1).
# On real hand-held bursts (shifts of 10 to 40 px, blur up to sigma 3) the tiles' mean difference
# stays below 0.21 once aligned; a subject that moves by its own width differs by 0.6 to 2.5.
MOTION_LEVEL = 0.4
# ... and a tile is the moving subject's when at least this share of its pixels moves: a tile the
# subject only grazes would measure the background (a sharp background beside a blurred subject).
MOTION_COVER = 0.5
# At most this many frames, spread over the burst, give the background's median.
BACKGROUND_FRAMES = 7
# A moving subject is a part of the frame: when more than this share of a frame's tiles moves, it is
# the whole scene that changed (a pan, a flash, an exposure step) and the burst gets no moving region.
# Per frame, not over the burst: a subject crossing the frame passes over most tiles in turn.
MOTION_MAX_SHARE = 0.4
# Frames blurred in one OpenCV call (as channels): OpenCV 5 takes at most 128.
BLUR_CHANNELS = 64


@dataclass(frozen=True, slots=True)
class Measured:
    """Sharpness per frame over the subject's region, and that region per frame."""

    kind: RegionKind
    scores: tuple[float, ...]  # higher is sharper; comparable within the burst only
    boxes: tuple[Box | None, ...]


def frame_shifts(shots: Sequence[Shot]) -> list[tuple[float, float]]:
    """Each frame's displacement from the first frame, as fractions of width and height (from the
    thumbnails by phase correlation); (0, 0) where it cannot be measured."""
    thumbs = [thumb_array(s.analysis.thumb, s.analysis.thumb_size).astype(np.float32) for s in shots]
    if not thumbs or thumbs[0].size == 0:
        return [(0.0, 0.0)] * len(shots)
    first = thumbs[0]
    window = cv2.createHanningWindow(first.shape[::-1], cv2.CV_32F)
    h, w = first.shape
    shifts = []
    for t in thumbs:
        if t.shape != first.shape:
            shifts.append((0.0, 0.0))
            continue
        (dx, dy), response = cv2.phaseCorrelate(first, t, window)
        shifts.append((dx / w, dy / h) if response >= MIN_SHIFT_RESPONSE else (0.0, 0.0))
    return shifts


def measure_subject(shots: Sequence[Shot], people: Sequence[Person], shifts: Sequence[tuple[float, float]],
                    *, moving: bool = True) -> Measured | None:
    """Scores over the subject's region (the module docstring's order), or None: measure as before.
    `moving` False: never the moving subject (a focus stack's sharp plane moving through the scene,
    with its focus breathing, changes tiles as a moving subject does)."""
    if people and (on_faces := _on_faces(shots, people)) is not None:
        return on_faces
    points = [s.analysis.declared.af_point for s in shots]
    if shots and all(p is not None for p in points) and _same_grids(shots):
        rows, cols = shots[0].analysis.grid
        regions = [_around(p, rows, cols) for p in points if p is not None]
        return _over_tiles(RegionKind.FOCUS_POINT, shots, regions)
    regions = moving_tiles(shots, shifts) if moving else None
    if regions is not None:
        return _over_tiles(RegionKind.MOVING_SUBJECT, shots, regions)
    return None


def moving_tiles(shots: Sequence[Shot], shifts: Sequence[tuple[float, float]]) -> list[tuple[int, ...]] | None:
    """Per frame, the tiles where it differs from the burst's aligned background; None when the
    burst has no moving subject (fewer than three frames, nothing moves, or too much does)."""
    if len(shots) < 3 or not _same_grids(shots):
        return None
    thumbs = [thumb_array(s.analysis.thumb, s.analysis.thumb_size) for s in shots]
    if thumbs[0].size == 0 or any(t.shape != thumbs[0].shape for t in thumbs):
        return None
    h, w = thumbs[0].shape
    aligned = np.stack([_aligned(t, dx * w, dy * h) for t, (dx, dy) in zip(thumbs, shifts, strict=True)])
    # Borders a shift brought in from outside the frame are not the subject.
    margin = math.ceil(max(max(abs(dx) * w, abs(dy) * h) for dx, dy in shifts)) + 1
    background = _median_frames(_spread(list(aligned)))
    rows, cols = shots[0].analysis.grid
    inside = np.zeros((h, w, 1), np.float32)
    inside[margin : h - margin, margin : w - margin] = 1.0
    # Frames as the channels of one image (OpenCV blurs each channel on its own), at most
    # BLUR_CHANNELS at a time: OpenCV 5 takes no more than 128 channels.
    difference = np.abs(aligned - background).transpose(1, 2, 0)
    moving = np.concatenate([
        cv2.GaussianBlur(np.ascontiguousarray(difference[:, :, start : start + BLUR_CHANNELS]), (0, 0), 1.0)
        .reshape(h, w, -1)
        for start in range(0, len(shots), BLUR_CHANNELS)
    ], axis=2)
    moving = (moving > MOTION_LEVEL).astype(np.float32)
    cover = _tile_means(moving * inside, inside, rows, cols)  # tiles x frames
    flagged = [_largest_patch(column >= MOTION_COVER, rows, cols) for column in cover.T]
    if max(map(len, flagged)) > MOTION_MAX_SHARE * rows * cols:
        return None  # in some frame the whole scene changed
    union = set().union(*flagged)
    if not union or sum(map(bool, flagged)) * 2 < len(shots):
        return None
    # A frame where nothing moves (the subject stood still there) is measured where it moves elsewhere.
    return [f or tuple(sorted(union)) for f in flagged]


def _largest_patch(mask: np.ndarray, rows: int, cols: int) -> tuple[int, ...]:
    """The tiles of the largest 8-connected patch of a tile mask: the subject is one body; a stray tile
    elsewhere (a frame aligned a pixel off, a leaf in the wind) would measure the background."""
    count, labels = cv2.connectedComponents(mask.reshape(rows, cols).astype(np.uint8), connectivity=8)
    if count <= 1:
        return ()
    sizes = np.bincount(labels.ravel())[1:]
    return tuple(int(i) for i in np.flatnonzero(labels.ravel() == 1 + int(np.argmax(sizes))))


def tiles_under(box: Box, rows: int, cols: int) -> tuple[int, ...]:
    """Indices of the tiles a box (fractions of the image) covers at least half of; when it covers
    none that much (a face smaller than a tile), the tile it covers most. A tile mostly outside the
    box would measure the background instead."""
    left, top, right, bottom = (min(max(v, 0.0), 1.0) for v in box)
    covered = {}
    for r in range(rows):
        for c in range(cols):
            width = min(right, (c + 1) / cols) - max(left, c / cols)
            height = min(bottom, (r + 1) / rows) - max(top, r / rows)
            if width > 0 and height > 0:
                covered[r * cols + c] = width * cols * height * rows
    if not covered:  # a box of no area: the tile that holds its corner
        return (min(int(top * rows), rows - 1) * cols + min(int(left * cols), cols - 1),)
    mostly = tuple(i for i, share in covered.items() if share >= 0.5)
    return mostly or (max(covered, key=covered.__getitem__),)


def tiles_box(tiles: Sequence[int], rows: int, cols: int) -> Box:
    """The bounding box (fractions of the image) of some tiles."""
    cells = [divmod(int(i), cols) for i in tiles]
    return (min(c for _, c in cells) / cols, min(r for r, _ in cells) / rows,
            (max(c for _, c in cells) + 1) / cols, (max(r for r, _ in cells) + 1) / rows)


def face_box(face: Face, width: int, height: int) -> Box | None:
    """A face's box as fractions of the image; None when the image's size is unknown."""
    if width <= 0 or height <= 0:
        return None
    x, y, w, h = face.box
    return x / width, y / height, (x + w) / width, (y + h) / height


def _on_faces(shots: Sequence[Shot], people: Sequence[Person]) -> Measured | None:
    """Scores on the people's faces; None when they cannot be measured there (no focus measure of
    the faces, and no tiles to place them on: frames of different shapes, or of unknown size)."""
    boxes = [_union([face_box(f, s.analysis.width, s.analysis.height) for p in people
                     if (f := p.faces[i]) is not None]) for i, s in enumerate(shots)]
    if all(f is None or f.sharpness is not None for p in people for f in p.faces):
        per_person = []
        for p in people:
            values = [f.sharpness for f in p.faces if f is not None and f.sharpness is not None]
            best, worst = max(values), min(values)
            per_person.append([(worst if f is None or f.sharpness is None else f.sharpness) / best if best > 0 else 1.0
                               for f in p.faces])
        scores = tuple(float(np.mean(column)) for column in zip(*per_person, strict=True))
        return Measured(RegionKind.FACES, scores, tuple(boxes))
    if not _same_grids(shots) or all(b is None for b in boxes):
        return None
    rows, cols = shots[0].analysis.grid
    union = _union(boxes)
    # A frame where nobody was found is measured where the faces are in the others.
    regions = [tiles_under(b if b is not None else union, rows, cols) for b in boxes]  # type: ignore[arg-type]
    return _over_tiles(RegionKind.FACES, shots, regions)


def _over_tiles(kind: RegionKind, shots: Sequence[Shot], regions: Sequence[Sequence[int]]) -> Measured:
    rows, cols = shots[0].analysis.grid
    scores = tuple(float(np.mean([s.analysis.tiles[i] for i in region])) for s, region in zip(shots, regions, strict=True))
    return Measured(kind, scores, tuple(tiles_box(r, rows, cols) for r in regions))


def _around(point: tuple[float, float], rows: int, cols: int) -> tuple[int, ...]:
    """The two by two tiles nearest the focus point (the point lies between their centres): the
    subject under a focus point is rarely smaller, and one tile alone may cut it at its edge."""
    c0 = min(max(round(point[0] * cols) - 1, 0), max(cols - 2, 0))
    r0 = min(max(round(point[1] * rows) - 1, 0), max(rows - 2, 0))
    return tuple(r * cols + c for r in range(r0, min(r0 + 2, rows)) for c in range(c0, min(c0 + 2, cols)))


def _spread(frames: list[np.ndarray]) -> list[np.ndarray]:
    """At most `BACKGROUND_FRAMES` of the frames, spread over the burst, for a median: as good a
    median, and a long burst's costs no more than a short one's."""
    picks = np.linspace(0, len(frames) - 1, min(len(frames), BACKGROUND_FRAMES)).round().astype(int)
    return [frames[i] for i in picks]


def _median_frames(frames: list[np.ndarray]) -> np.ndarray:
    """`np.median(np.stack(frames), axis=0)`, to the bit and ten times faster: numpy partitions each
    pixel's few values on its own, where an odd-even transposition sort of whole frames (elementwise
    minimum and maximum, exact) sorts every pixel at once."""
    ordered = list(frames)
    for rounds in range(len(ordered)):
        for i in range(rounds % 2, len(ordered) - 1, 2):
            ordered[i], ordered[i + 1] = np.minimum(ordered[i], ordered[i + 1]), np.maximum(ordered[i], ordered[i + 1])
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / np.float32(2)


def _same_grids(shots: Sequence[Shot]) -> bool:
    grids = {s.analysis.grid for s in shots}
    if len(grids) != 1:
        return False
    rows, cols = next(iter(grids))
    return rows * cols > 0 and all(len(s.analysis.tiles) == rows * cols for s in shots)


def _aligned(thumb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The thumbnail moved back onto the first frame, scaled to mean 0 and deviation 1."""
    h, w = thumb.shape
    moved = cv2.warpAffine(thumb.astype(np.float32), np.float32([[1, 0, -dx], [0, 1, -dy]]), (w, h),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return (moved - moved.mean()) / (moved.std() + 1e-6)


def _tile_means(values: np.ndarray, weights: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Weighted mean of `values` (height x width x frames) over each tile of a rows x cols grid laid
    over the whole thumbnail: tiles (row-major) x frames."""
    h, w = values.shape[:2]
    ys = np.linspace(0, h, rows + 1).round().astype(int)[:-1]
    xs = np.linspace(0, w, cols + 1).round().astype(int)[:-1]
    sums = np.add.reduceat(np.add.reduceat(values, ys, axis=0), xs, axis=1)
    counts = np.add.reduceat(np.add.reduceat(weights, ys, axis=0), xs, axis=1)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return means.reshape(rows * cols, -1)


def _union(boxes: Sequence[Box | None]) -> Box | None:
    known = [b for b in boxes if b is not None]
    if not known:
        return None
    return min(b[0] for b in known), min(b[1] for b in known), max(b[2] for b in known), max(b[3] for b in known)
