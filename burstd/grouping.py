"""Split a stream of shots into groups: bursts and sets. Pure: shots and settings in, groups out.

The stream is split per camera body and ordered by capture time (ties and shots without a trusted
time: natural file-name order). Shots are then grouped in sequence: a shot joins the current burst
when nothing in its metadata forbids it (another lens, a gap longer than `max_gap`) and its content is
similar enough both to the previous frame and to the burst as a whole. The second test keeps a slow
pan, where every frame resembles the last, from chaining into one endless burst.

A shot also joins the current group when `sequences.link` ties it to the previous frame as the next
frame of a set hashes cannot see (an exposure bracket, a panorama's next step) or of a series the
camera declares. A panorama grows only by such steps, in one direction. Every group then gets its
kind from `sequences.classify`, from its members alone.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from burstd.analysis.features import orb_similarity
from burstd.models import Analysis, Burst, Shot, TimeSource
from burstd.naming import natural_key
from burstd.sequences import (
    SET_MAX_GAP, STILL_MAX_GAP, Link, Shift, classify, continues_step, exposure_stepped, hashes_alike, link, same_direction,
    slow_sweep, same_view, still_view, sweep_step, tracking,
)

Similarity = Callable[[Shot, Shot], float]

# With no threshold given, the cut between "same moment" and "new scene" is learnt from the
# similarities of consecutive shots, but never leaves these bounds (per method).
# Measured on the benchmark cards: frames of one burst stay above ~0.78 even when noisy and
# hand-held, different scenes fall below ~0.6; the frames of a pan fill the space between, which is
# why the learnt cut may not wander above 0.78 (it would start splitting noisy bursts).
# With -f, the share of matching ORB features: about 0 across scenes, 0.3-0.8 within a burst.
DEFAULT_THRESHOLD = {"hash": 0.76, "features": 0.15}
THRESHOLD_BOUNDS = {"hash": (0.66, 0.78), "features": (0.08, 0.22)}
# The burst-as-a-whole test compares with at most this many members, spread evenly over the burst
# (first and last included), so a 300-frame burst costs no more per shot than a 16-frame one.
WHOLE_BURST_SAMPLE = 16
# How much looser the burst-as-a-whole test is than the frame-to-frame one.
WHOLE_BURST_SLACK = {"hash": 0.08, "features": 0.10}


@dataclass(frozen=True, slots=True)
class GroupingParams:
    method: str = "hash"
    threshold: float | None = None  # None: adapt to the data
    max_gap: float = 30.0

    @property
    def sees_views(self) -> bool:
        """Whether a burst may also take frames by their view (`same_view`, a pan following a
        subject, a still view a subject crosses), not by similarity alone: not when the photographer
        set the similarity (`-d`)."""
        return self.threshold is None


def hash_pair_similarity(a: Shot, b: Shot) -> float:
    """Mean of pHash and dHash similarity: pHash sees layout, dHash sees edges."""
    return hashes_alike(a.analysis, b.analysis)


def group_bursts(
    shots: Sequence[Shot],
    params: GroupingParams,
    descriptors: dict[object, bytes] | None = None,
) -> list[Burst]:
    """Bursts in capture order (by their first shot); every shot lands in exactly one burst.

    `descriptors` maps each shot's primary path to its ORB descriptors when method is "features".
    """
    return regroup(shots, params, (), descriptors)[0]


def regroup(
    shots: Sequence[Shot],
    params: GroupingParams,
    previous: Sequence[Sequence[str]],
    descriptors: dict[object, bytes] | None = None,
) -> tuple[list[Burst], frozenset[str]]:
    """Group incrementally: keep the bursts of `previous` that nothing new can touch.

    `previous` is the folder's last grouping, as member paths (`str(path)`) per burst in capture
    order. Per body, the leading run of previous bursts that still match the shots exactly is kept
    as it was, except the last of them, which shots arriving after it may join: grouping starts
    again from there. A file sorting into the middle (a second card, a late copy) or a deleted one
    breaks the match at its burst, so regrouping starts from the first affected position.
    Returns the bursts in capture order and the ids of those kept untouched.
    """
    similarity = _similarity(params, descriptors)
    links = _LinkMemo()
    bursts: list[list[Shot]] = []
    kept_ids: set[str] = set()
    for body_shots in split_by_body(shots).values():
        ordered = order_shots(body_shots)
        paths = {str(s.primary) for s in ordered}
        kept: list[list[Shot]] = []
        position = 0
        for members in (b for b in previous if b and b[0] in paths):
            run = ordered[position : position + len(members)]
            if [str(s.primary) for s in run] != list(members):
                break
            kept.append(run)
            position += len(run)
        if kept and position < len(ordered):
            position -= len(kept.pop())
        threshold = params.threshold
        if threshold is None:
            threshold = adaptive_threshold(ordered, similarity, params)
        bursts.extend(kept)
        kept_ids.update(burst_id(b) for b in kept)
        bursts.extend(_merge_sweeps(_sequence(ordered[position:], similarity, threshold, params, links), params))
    bursts.sort(key=lambda b: _order_key(b[0]))
    groups = [Burst(burst_id(b), tuple(b), classify([s.analysis for s in b], links)) for b in bursts]
    return groups, frozenset(kept_ids)


def split_by_body(shots: Sequence[Shot]) -> dict[str, list[Shot]]:
    bodies: dict[str, list[Shot]] = defaultdict(list)
    for shot in shots:
        bodies[shot.analysis.body].append(shot)
    return dict(bodies)


def order_shots(shots: Sequence[Shot]) -> list[Shot]:
    """Capture-time order when every shot has an EXIF time; otherwise file-name order.

    Copy tools reset mtimes, so a shot without EXIF time has no trustworthy time at all: its place
    comes from the camera's file numbering.
    """
    if all(s.analysis.time_source is TimeSource.EXIF for s in shots):
        return sorted(shots, key=_order_key)
    return sorted(shots, key=lambda s: (natural_key(str(s.primary.parent)), natural_key(s.primary.name)))


def adaptive_threshold(ordered: Sequence[Shot], similarity: Similarity, params: GroupingParams) -> float:
    """Split consecutive similarities into two classes (Otsu) and cut between them.

    A card mixes pairs from one burst (very similar) with pairs across a scene change (dissimilar).
    Too few pairs, or no clear second class, keep the default.
    """
    default = DEFAULT_THRESHOLD[params.method]
    low, high = THRESHOLD_BOUNDS[params.method]
    values = [
        similarity(a, b)
        for a, b in zip(ordered, ordered[1:])
        if not _metadata_cut(a, b, params.max_gap)
    ]
    if len(values) < 8:
        return default
    cut = otsu_cut(np.asarray(values))
    if cut is None:
        return default
    return float(min(high, max(low, cut)))


def otsu_cut(values: np.ndarray) -> float | None:
    """The value that best separates two classes, or None when there are not two classes."""
    v = np.sort(values)
    if v[-1] - v[0] < 0.15:
        return None
    best, best_cut = -1.0, None
    for i in range(1, len(v)):
        if v[i] == v[i - 1]:
            continue
        lo, hi = v[:i], v[i:]
        between = len(lo) * len(hi) * (lo.mean() - hi.mean()) ** 2
        if between > best:
            best, best_cut = between, (v[i - 1] + v[i]) / 2
    return best_cut


def burst_id(shots: Sequence[Shot]) -> str:
    """Stable id: the first shot's name plus a short digest of every member's path.

    Only letters, digits, `_`, `-` and `.` survive from the name, so the id is safe in XML, in a
    darktable tag (no commas) and on any terminal, whatever bytes the file name holds.
    """
    raw = "\n".join(str(s.primary) for s in shots).encode("utf-8", "surrogateescape")
    digest = hashlib.blake2s(raw, digest_size=4).hexdigest()
    stem = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in shots[0].primary.stem)
    return f"{stem[:40]}-{digest}"


class _LinkMemo:
    """`sequences.link` of each pair measured once per regrouping: grouping and `classify` both ask."""

    def __init__(self) -> None:
        self.found: dict[tuple[int, int], tuple[Link, Shift] | None] = {}

    def __call__(self, a: Analysis, b: Analysis) -> tuple[Link, Shift] | None:
        key = (id(a), id(b))
        if key not in self.found:
            self.found[key] = link(a, b)
        return self.found[key]


def _sequence(
    ordered: Sequence[Shot], similarity: Similarity, threshold: float, params: GroupingParams, links: _LinkMemo
) -> list[list[Shot]]:
    groups: list[list[Shot]] = []
    current: list[Shot] = []
    moving: _Step | None = None  # the last step of the panorama or tracking pan the group is, if any
    for shot in ordered:
        joined, moving = _joins(current, shot, similarity, threshold, params, links, moving) if current else (False, None)
        if joined:
            current.append(shot)
        else:
            if current:
                groups.append(current)
            current, moving = [shot], None
    if current:
        groups.append(current)
    return groups


@dataclass(frozen=True, slots=True)
class _Step:
    """The last step between frames of a group whose view moves: a panorama's, or the background's
    in a pan following a subject."""

    link: Link
    shift: Shift


def _joins(
    current: list[Shot],
    shot: Shot,
    similarity: Similarity,
    threshold: float,
    params: GroupingParams,
    links: _LinkMemo,
    moving: _Step | None,
) -> tuple[bool, _Step | None]:
    """Whether `shot` joins the current group, and the step of the moving view it continues (None:
    the view does not move)."""
    previous = current[-1]
    within_gap = _gap(previous, shot) <= params.max_gap
    if _lens_cut(previous, shot) or _gap(previous, shot) > SET_MAX_GAP:
        return False, None
    if not within_gap and not exposure_stepped(previous.analysis, shot.analysis):
        return False, None  # only a bracket's next frame joins across a longer pause: measure nothing
    found = links(previous.analysis, shot.analysis)
    pan = moving.shift if moving is not None and moving.link is Link.PANORAMA else None
    if found is not None:
        kind, step = found
        if kind is Link.PANORAMA:
            # A sweep starts from one frame and grows by steps in one direction; after a burst's
            # frames, the burst's own test decides (below).
            sweeping = pan is not None and same_direction(pan, step)
            if within_gap and (len(current) == 1 or sweeping):
                return True, _Step(kind, step)
        elif kind is Link.TRACKING:
            if pan is None and within_gap and params.sees_views:
                return True, _Step(kind, step)
        elif pan is None and (within_gap or kind is Link.BRACKET):
            return True, None  # a bracket (manual ones may take minutes) or a declared series
    if pan is not None or not within_gap:
        return False, None
    if moving is not None and params.sees_views and continues_step(previous.analysis, shot.analysis, moving.shift):
        # A pan following a subject: the subject did not show in this pair, the background's step did.
        return True, moving
    if _similar(current, shot, similarity, threshold, params):
        return True, None
    # Hashes are not the whole story: a burst's heavily blurred frame, or a quick reshoot a few %
    # reframed, shows the same view; a pan following a subject drifts away from the burst's first
    # frames, its next frame still joins; a subject crossing a still view at a burst's pace changes
    # much of the frame, the background stays.
    if not params.sees_views or found is not None:
        return False, None
    a, b = previous.analysis, shot.analysis
    return same_view(a, b) or tracking(a, b) or (_gap(previous, shot) <= STILL_MAX_GAP and still_view(a, b)), None


def _merge_sweeps(groups: list[list[Shot]], params: GroupingParams) -> list[list[Shot]]:
    """Consecutive groups that are pieces of one slow sweep, as one group.

    A pan at 10 fps moves each frame a few % of the frame: the burst test chains a few frames at a
    time and the whole-group test cuts the chain every few frames, so the sweep falls into short
    bursts and single shots. Runs of such groups joined by a small step in one direction are merged
    when all their frames together are one sweep (`sequences.slow_sweep`); anything else stays as it was.
    """
    merged: list[list[Shot]] = []
    start = 0
    while start < len(groups):
        end = start
        while end + 1 < len(groups) and _continues_sweep(groups[end][-1], groups[end + 1][0], params):
            end += 1
        members = [shot for group in groups[start : end + 1] for shot in group]
        if end > start and slow_sweep([s.analysis for s in members]):
            merged.append(members)
            start = end + 1
        else:
            merged.append(groups[start])
            start += 1
    return merged


def _continues_sweep(a: Shot, b: Shot, params: GroupingParams) -> bool:
    return not _metadata_cut(a, b, params.max_gap) and sweep_step(a.analysis, b.analysis) is not None


def _similar(current: list[Shot], shot: Shot, similarity: Similarity, threshold: float, params: GroupingParams) -> bool:
    """Today's burst test: similar to the previous frame, and on average to the burst as a whole."""
    if similarity(current[-1], shot) < threshold:
        return False
    sample = _spread(current, WHOLE_BURST_SAMPLE)
    whole = sum(similarity(member, shot) for member in sample) / len(sample)
    return whole >= threshold - WHOLE_BURST_SLACK[params.method]


def _spread(members: Sequence[Shot], count: int) -> Sequence[Shot]:
    """At most `count` members, evenly spaced from the first to the last."""
    n = len(members)
    if n <= count:
        return members
    return [members[round(i * (n - 1) / (count - 1))] for i in range(count)]


def _similarity(params: GroupingParams, descriptors: dict[object, bytes] | None) -> Similarity:
    if params.method != "features":
        return hash_pair_similarity
    desc = descriptors or {}

    def similarity(a: Shot, b: Shot) -> float:
        return orb_similarity(desc.get(a.primary, b""), desc.get(b.primary, b""))

    return similarity


def _metadata_cut(a: Shot, b: Shot, max_gap: float) -> bool:
    """Cuts that need no pixels: another lens, or a pause longer than any burst has."""
    return _lens_cut(a, b) or _gap(a, b) > max_gap


def _lens_cut(a: Shot, b: Shot) -> bool:
    return bool(a.analysis.lens and b.analysis.lens and a.analysis.lens != b.analysis.lens)


def _gap(a: Shot, b: Shot) -> float:
    """Seconds between two shots; 0 when either has no EXIF time (then time never splits them)."""
    ma, mb = a.analysis, b.analysis
    if ma.time_source is TimeSource.EXIF and mb.time_source is TimeSource.EXIF:
        return abs(mb.capture_time - ma.capture_time)
    return 0.0


def _order_key(shot: Shot) -> tuple:
    return (shot.analysis.capture_time, natural_key(shot.primary.name))
