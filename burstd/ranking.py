"""Rank the frames of a burst by sharpness and map ranks to ratings. Pure: values in, values out.

Sharpness is compared only within a burst and over the same region: each frame's analysis carries a
grid of per-tile focus measures; the burst's subject region is the set of tiles that are sharpest
across the burst (the median over frames, so one frame's motion cannot pick the region), and every
frame is scored over those same tiles.

Where the burst has a subject burstd can see, that is where sharpness is measured instead
(`subject.py`: the faces of its people, the camera's focus point, or the moving subject), and every
frame says which region it was measured on.

People's eyes come first (`people.py`): when at least one frame has every eye of the burst's people
open, frames where someone's eyes are closed go after all the others, and get fewer stars than every
frame without closed eyes (the stars of their rank, at most one less than the lowest of those, never
below 0), or are rejected (-1) with `reject_closed_eyes`. So a frame with closed eyes is never the
pick while one with all eyes open exists, however sharp it is.

Scores closer than the measure's own repeat-noise (`NOISE_MARGIN`) claim no difference: such frames
share their stars (see `tie_heads`), never across the line between open and closed eyes. The order,
and so the one pick, stays the measured one.

A set (an exposure bracket, a focus stack, a panorama) is shot to be merged later: every frame of it
is needed. Kept whole (`SetPolicy.KEEP`, the default), `rate_set` gives every frame the same rating,
no pick and no reject, members in shooting order: a kept set's rank is the frame's place in the
shooting order (1 = the first frame shot), not a sharpness rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from burstd.models import (
    Burst, Kind, PickReason, RatedBurst, RatedShot, Region, RegionKind, ScanSettings, SetPolicy, Shot,
)
from burstd.people import Person, judge_eyes
from burstd.subject import frame_shifts, measure_subject, tiles_box

# Share of tiles that make up the subject region. A quarter of the frame is large enough to hold
# the subject off-centre and small enough that empty sky or a blurred background cannot dilute it.
REGION_SHARE = 0.25

# Two frames whose scores (relative to their burst's best) differ by no more than this cannot be told
# apart by the measure. `python -m tests.bench.noise` moves real photographs (three hand-held bursts,
# two focus stacks: 47 frames) in ways that leave their sharpness alone: saved again at JPEG quality
# 95, 90, 85; shifted by 1, 2 and 8 pixels; fresh sensor noise of their own level; another decode to
# the same scale. 99 % of the 517 changes of a frame's score stay within 0.063 (median 0.001, 95 %
# within 0.025); shifts dominate, as the tile grid cuts the picture elsewhere, which is what happens
# between any two hand-held frames. Rounded up: 0.065. It stays below the smallest lead of a clearly
# sharper best frame on the benchmark card (0.076), so such a pick keeps its stars to itself.
NOISE_MARGIN = 0.065


def tier_sizes(n: int) -> list[int]:
    """How many frames land on each tier (tier 0 = the pick), for a burst of `n` frames.

    Reproduces the original script's mapping: the pick alone, then two frames, then five, then the
    rest; larger bursts widen the second and third tiers to 10 % and 30 % of the burst. Bursts
    smaller than 1 + 2 + 5 fill those three tiers one frame each from the top, then the tier that is
    emptiest relative to its size.
    """
    if n <= 0:
        return []
    caps = [1, max(2, _round_half_up(0.10 * n)), max(5, _round_half_up(0.30 * n))]
    head = min(n, sum(caps))
    sizes = [0, 0, 0]
    for seat in range(head):
        if seat < 3:
            sizes[seat] = 1
            continue
        open_tiers = [i for i in range(3) if sizes[i] < caps[i]]
        sizes[min(open_tiers, key=lambda i: (sizes[i] / caps[i], i))] += 1
    rest = n - head
    # Below the third tier, further tiers of ten frames (or 30 % of the burst) take the rest.
    while rest > 0:
        size = min(rest, max(10, _round_half_up(0.30 * n)))
        sizes.append(size)
        rest -= size
    return [s for s in sizes if s]


def ratings_for(n: int, *, max_rank: int, scheme: str = "tiers") -> list[int]:
    """Ratings for a burst of `n` frames, sharpest first."""
    if scheme == "linear":
        return [max(0, max_rank - i) for i in range(n)]
    if scheme != "tiers":
        raise ValueError(f"unknown rating scheme {scheme!r}")
    ratings: list[int] = []
    for tier, size in enumerate(tier_sizes(n)):
        ratings.extend([max(0, max_rank - tier)] * size)
    return ratings


def indistinguishable(sharper: float, other: float, margin: float = NOISE_MARGIN) -> bool:
    """True when `other` scores within the measure's repeat-noise of `sharper` (scores relative to the
    burst's best, as `RatedShot.score`)."""
    return sharper - other <= margin


def tie_heads(scores: Sequence[float], margin: float = NOISE_MARGIN) -> list[int]:
    """For scores sharpest first, the position of the frame whose stars each frame takes.

    The pick heads the first group and every frame it cannot be told apart from joins it; the next
    frame heads the next group, and so on. A group is measured from its head, never chained from
    member to member: a long run of frames each a little softer than the one before would otherwise
    all share the pick's stars. So every frame indistinguishable from the pick gets the pick's stars,
    and within a group no frame gets fewer stars than the frame heading it.
    """
    heads: list[int] = []
    for position, score in enumerate(scores):
        head = heads[-1] if heads else 0
        heads.append(head if indistinguishable(scores[head], score, margin) else position)
    return heads


def subject_region(tiles: np.ndarray, share: float = REGION_SHARE) -> np.ndarray:
    """Indices of the tiles forming the burst's subject: the sharpest by median over frames."""
    median = np.median(tiles, axis=0)
    count = max(1, math.ceil(share * tiles.shape[1]))
    return np.argsort(median, kind="stable")[::-1][:count]


def burst_scores(shots: Sequence[Shot]) -> list[float]:
    """A sharpness score per shot, comparable within this burst only (higher is sharper)."""
    return sharpest_tiles(shots)[0]


def sharpest_tiles(shots: Sequence[Shot]) -> tuple[list[float], list[tuple[float, float, float, float] | None]]:
    """`burst_scores`, and per frame the bounding box of the tiles they were measured on (None
    where the frames' grids differ)."""
    grids = [s.analysis.tiles for s in shots]
    if not grids or any(len(g) == 0 for g in grids) or len({len(g) for g in grids}) != 1:
        # Mixed grids can only happen across differently shaped files; fall back to each
        # frame's own sharpest region.
        return [_own_region_score(g) for g in grids], [None] * len(shots)
    tiles = np.asarray(grids, dtype=np.float64)
    region = subject_region(tiles)
    scores = [float(v) for v in tiles[:, region].mean(axis=1)]
    rows, cols = shots[0].analysis.grid
    if len({s.analysis.grid for s in shots}) != 1 or rows * cols != len(grids[0]):
        return scores, [None] * len(shots)
    return scores, [tiles_box(region, rows, cols)] * len(shots)


def rate_burst(
    burst: Burst,
    *,
    max_rank: int,
    scheme: str = "tiers",
    singleton_rating: int | None = None,
    reject_below: float | None = None,
    reject_closed_eyes: bool = False,
) -> RatedBurst:
    """Order a burst (the pick first) and give every frame its rating.

    The order is by sharpness over the subject's region, frames with closed eyes last when a frame
    with every eye open exists (see the module docstring). The scheme rates by rank; frames within the
    noise margin of a sharper frame take that frame's rating instead (`tie_heads`). Frames tied with
    the pick are never rejected.
    """
    shots = burst.shots
    n = len(shots)
    # The frames' shifts serve to match faces and to find a moving subject (three frames or more).
    with_faces = sum(1 for s in shots if s.analysis.faces) > 1
    shifts = frame_shifts(shots) if n > 2 or with_faces else [(0.0, 0.0)] * n
    eyes = judge_eyes(shots, shifts)
    scores, kind, boxes = _measure(burst, eyes.people, shifts)
    best = max(scores) if scores else 0.0
    demoted = eyes.closed if eyes.demotes else (False,) * n
    order = sorted(range(n), key=lambda i: (demoted[i], -scores[i], i))
    relative = [scores[i] / best if best > 0 else 1.0 for i in order]
    if n == 1:
        ratings = [max_rank if singleton_rating is None else singleton_rating]
    else:
        ratings = ratings_for(n, max_rank=max_rank, scheme=scheme)
    opened = n - sum(demoted)  # the frames without closed eyes come first, at positions 0 .. opened-1
    heads = tie_heads(relative[:opened]) + [opened + h for h in tie_heads(relative[opened:])]
    lowest_open = min((ratings[h] for h in heads[:opened]), default=0)
    members = []
    for position, index in enumerate(order):
        head = heads[position]
        rating = ratings[head]
        if demoted[index]:
            rating = -1 if reject_closed_eyes else min(rating, max(0, lowest_open - 1))
        if reject_below is not None and head > 0 and relative[position] < reject_below:
            rating = -1
        tied_to = head + 1 if head != position else None
        members.append(RatedShot(shots[index], position + 1, relative[position], rating, tied_to,
                                 Region(kind, boxes[index]), eyes.faces[index], eyes.closed[index]))
    return RatedBurst(burst, tuple(members), _pick_reason(scores, order, demoted))


def _measure(burst: Burst, people: Sequence[Person], shifts: Sequence[tuple[float, float]],
             ) -> tuple[list[float], RegionKind, list[tuple[float, float, float, float] | None]]:
    """Each frame's sharpness, where it was measured, and that region per frame."""
    measured = measure_subject(burst.shots, people, shifts, moving=burst.kind is Kind.BURST)
    if measured is None:
        scores, boxes = sharpest_tiles(burst.shots)
        return scores, RegionKind.SHARPEST_TILES, boxes
    return list(measured.scores), measured.kind, list(measured.boxes)


def _pick_reason(scores: Sequence[float], order: Sequence[int], demoted: Sequence[bool]) -> PickReason:
    if len(scores) == 1:
        return PickReason.SINGLE_SHOT
    if any(scores[i] > scores[order[0]] for i in range(len(scores)) if demoted[i]):
        return PickReason.EYES_OPEN
    return PickReason.SHARPEST


def kept_whole(burst: Burst, sets: SetPolicy) -> bool:
    """Whether a group is a set kept whole: rated alike, no pick, no reject (`rate_set`)."""
    return burst.kind is not Kind.BURST and len(burst.shots) > 1 and sets is SetPolicy.KEEP


def rate_set(burst: Burst, *, rating: int) -> RatedBurst:
    """Every frame of a set kept whole gets `rating`; members stay in shooting order, each ranked by
    its place in it. Scores are still each frame's sharpness relative to the set's sharpest, for the
    review page and --json; they decide nothing here."""
    scores, boxes = sharpest_tiles(burst.shots)
    best = max(scores) if scores else 0.0
    members = tuple(
        RatedShot(shot, position, score / best if best > 0 else 1.0, rating,
                  region=Region(RegionKind.SHARPEST_TILES, box), faces=shot.analysis.faces)
        for position, (shot, score, box) in enumerate(zip(burst.shots, scores, boxes), start=1)
    )
    return RatedBurst(burst, members, PickReason.KEPT_WHOLE)


def rate_group(burst: Burst, settings: ScanSettings) -> RatedBurst:
    """A group rated as the settings say: a set kept whole (`rate_set`), anything else as a burst."""
    if kept_whole(burst, settings.sets):
        return rate_set(burst, rating=settings.max_rank if settings.set_rating is None else settings.set_rating)
    return rate_burst(
        burst,
        max_rank=settings.max_rank,
        scheme=settings.scheme,
        singleton_rating=settings.singleton_rating,
        reject_below=settings.reject_below,
        reject_closed_eyes=settings.reject_closed_eyes,
    )


def _own_region_score(grid: Sequence[float]) -> float:
    if not grid:
        return 0.0
    values = np.sort(np.asarray(grid, dtype=np.float64))[::-1]
    return float(values[: max(1, math.ceil(REGION_SHARE * len(values)))].mean())


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)
