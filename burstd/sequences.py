"""Sets: exposure brackets, focus stacks and panoramas, told apart from bursts. Pure: analyses in,
links and kinds out.

Grouping (`grouping.py`) walks each body's shots in capture order. Between two consecutive shots,
`link` says whether they are consecutive frames of a set that hashes cannot see (a bracket, whose
exposures change the hashes; a panorama, whose frames share only a strip), or of a series the
camera itself declares. Once a group is formed, `classify` names its kind from its members alone,
so a group the daemon keeps from an earlier session gets the same kind again without storing it.

Everything is measured on `Analysis.thumb` (128 px grey, made at analysis time) and on the focus
grid `Analysis.tiles`: nothing is decoded here.

- **Exposure bracket**: the same framing (small shift, the same edges: `edge_agreement` compares
  gradient orientations, which exposure leaves alone) at exposures at least `BRACKET_MIN_STOPS`
  apart: by EXIF (bias, or shutter, aperture and ISO) when the files say, and then also seen in the
  pixels (the camera's auto exposure following a change of light is no bracket), else by the
  pixels alone (`measured_stops`).
- **Panorama**: consecutive frames overlap after a shift of `PAN_MIN_SHIFT`..`PAN_MAX_SHIFT` of the
  frame (phase correlation, verified by the correlation of the overlap), at one exposure, with no
  region that stays put; or, a slow sweep (`slow_sweep`), smaller steps all one way that add up to
  `SWEEP_SPAN` of the frame, unless a region stayed put over most of them.
- **Tracking pan** (a burst, linked here because hashes cannot see it): the camera follows a
  moving subject, the background slides a few % a frame and the subject stays put (`tracking_step`).
- **Still view** (a burst too, its mirror): the camera holds still while a subject crosses part of
  the frame, the background stays in place (`still_view`); grouping asks it of frames taken at a
  burst's pace only (`STILL_MAX_GAP`).
- **Focus stack**: three or more frames of one static framing and exposure, whose sharp region moves:
  the per-tile focus measures vary tile by tile, not frame by frame (`focus_sweep`); on a tripod's
  still frames, at the thumbnail's scale too (a photo with no detail as fine as the analysed
  pixels). A hand-held burst's frames are sharper or softer as a whole. A person's face in every
  frame makes a burst (`portrait`): people are not stacked, and a focus miss on a face crosses as a
  stack does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import cv2
import numpy as np

from burstd.analysis.features import hash_similarity, thumb_array
from burstd.models import Analysis, Declared, Kind

# Steps of a bracket are 0.7 EV or more in practice (1/3-EV brackets exist, but then hashes keep the
# frames together and the kind comes from the camera's declaration or not at all); a hand-held
# burst's auto exposure drifts by a few tenths.
BRACKET_MIN_STOPS = 0.6
# Seen in the pixels (clipping compresses a step): at least this much, the same way as EXIF says.
BRACKET_SEEN_STOPS = 0.3
# A manual bracket on a tripod may take minutes (changing the shutter by hand between frames).
SET_MAX_GAP = 300.0
# Edge agreement (`edge_agreement`): 1 for the same edges, about 0 for unrelated frames. Measured on
# views of real photos, aligned: the same view hand-held at -2..+3 EV 0.84-1.0; different scenes 0.02-0.08.
SAME_EDGES = 0.45
# Frames this alike by their hashes at one exposure are one moment: no shift is measured. The steps of
# a panorama (10 % of the frame or more) stay below 0.65 on real photos, frames of real bursts above 0.93.
SAME_MOMENT = 0.8
# A shift beyond this share of the frame is not the same framing.
SAME_FRAMING_SHIFT = 0.06
# The same view (`same_view`): frames whose hashes differ (a heavily blurred frame, a reshoot
# reframed by a few %) but whose content matches after a shift of at most SAME_VIEW_SHIFT with a
# correlation of SAME_VIEW_MATCH or more, at one exposure, are one moment. On the benchmark cards:
# consecutive frames of bursts and quick reshoots cut by the hash test 0.75-0.96 (shifts 0.01-0.08);
# a wrong shift between different scenes rarely above 0.45.
SAME_VIEW_SHIFT = 0.1
SAME_VIEW_MATCH = 0.7
# ... and at most this far apart in exposure: a reshoot is re-metered (by 1/3 or 2/3 of a stop); a
# bracket's steps are larger, and its frames, the same framing, are linked as a bracket before this.
SAME_VIEW_STOPS = 1.0
# A still view (`still_view`): the camera held still, a subject moving through part of the frame (a
# person crossing it, as big as half the frame's height, motion blurred), which changes the hashes and
# the overlap's correlation as much as another scene would. What stays is the background, in place:
# `still_share`, the share of the textured 8-px blocks of the thumbnails that correlate by
# STILL_BLOCK_MATCH or more where they were, b shifted by up to STILL_SHAKE px (1.6 % of the frame:
# a hand-held drift). On the people benchmark cards (seeds 1-3), the 48 steps of the 12 bursts of a
# person crossing a still frame 0.67-0.84 (the one the hashes split 0.67-0.73); over nine benchmark
# cards (people 1-3, small 1-3, sets 1-2, 24mp), the 41 neighbouring frames of different groups less
# than max_gap apart at most 0.03 (the earlier 24mp card's pan, whose 5 % steps were groups of their
# own, 0.09), two bodies' frames of one scene (wide and tight) 0.2-0.4 s apart at most 0.14.
STILL_SHARE = 0.4
STILL_BLOCK_MATCH = 0.8
STILL_SHAKE = 2
# ... but the frames of two groups cut from one scene keep their background in place just as well (on
# those cards 148 of 1130 such pairs 0.4 and more, up to 1.0: a reshoot of the same framing minutes
# later, the people cards' backgrounds used again): only time tells them apart. A subject crosses the
# view at a burst's pace (2 fps or faster); the frames of the cards' moving bursts are 0.1 s apart,
# the nearest frames of separate groups of one scene with a share of 0.4 or more 138 s (reshoots).
STILL_MAX_GAP = 0.5
# A panorama's steps: a shift of this share of the frame (at 85 % the overlap is too thin to trust).
PAN_MIN_SHIFT = 0.15
PAN_MAX_SHIFT = 0.85
# Correlation of the overlap after the shift: 0.83-0.99 for steps between views of real photos (down
# to 0.65 for a thin overlap and 1.5 degrees of roll); a wrong shift rarely above 0.45.
PAN_MIN_MATCH = 0.6
PAN_MAX_STOPS = 0.5  # frames of one panorama share one exposure
# Peaks of the phase correlation checked by the overlap's correlation (`measure_shift`). With a thin
# overlap the true shift's peak is weak: on the benchmark's sets card, a 74 % step of a panorama was
# the 16th-20th strongest. Each check costs about 0.02 ms on 128-px thumbnails.
SHIFT_CANDIDATES = 20
# A slow sweep (frames at 10 fps, each a few % further): steps of at least this share of the frame,
# each in the direction of the last, adding up to `SWEEP_SPAN` of the frame or more from the first
# frame to the last (which then share little). Hand-held frames of a burst move by about 1 % at random.
SWEEP_MIN_STEP = 0.02
SWEEP_SPAN = 0.6
# Steps whose directions differ by more than this (cosine) are not one sweep.
SAME_DIRECTION = 0.5
# A region that still matches where it was (a subject followed by the pan): this share of the
# textured overlap means the camera tracked something, so the frames are a burst.
PAN_STATIC_SHARE = 0.08
# A pan that follows a moving subject at a burst's pace (`tracking_step`): the background slides a
# few % a frame while the subject stays put. The subject may be small (a runner, a bird), motion
# blurred and a little off aim from frame to frame, so its blocks are looked for more loosely
# (`static_share(..., loose=True)`): on the benchmark card, a share of TRACKED_SHARE or more in
# every step of its three tracking pans (0.020-0.036 at the least, medians 0.056-0.099), against a
# median of 0.000 over the steps of each of its panoramas and slow sweeps of still scenes.
TRACKED_SHARE = 0.015
# A tracking step's shift, found with a subject in the way, matches less well than a panorama's.
TRACK_MIN_MATCH = 0.5
# A pan following a subject moves the background by about the same step every frame: a step within
# this share of the last one continues it, where the subject did not show (`continues_step`).
STEP_TOLERANCE = 0.25
# Focus sweep (`focus_sweep`): the part of the per-tile focus measures (log) that neither the frame
# nor the tile explains. Real focus stacks 0.31 and 0.60, the benchmark card's 0.25-0.62; real
# hand-held bursts 0.07-0.19, synthetic bursts cut from real photos with frames blurred 0-4 px
# 0.18-0.39 (hence `crossing` and `FOCUS_ONE_FRAME`).
FOCUS_INTERACTION = 0.2
# ... and the share of tiles two frames each have clearly (1.5 x) sharper than the other (`crossing`):
# real focus stacks 0.27 and 0.25, the benchmark cards' 0.15-0.42; real hand-held bursts 0-0.03,
# synthetic bursts cut from real photos with frames blurred 0-4 px 0-0.09, the cards' bursts up to
# 0.31 (frames shaken along other directions, a moving subject). A crossing under FOCUS_CLEAR_CROSSING
# asks for stiller frames (`FOCUS_STILL_WEAK`).
FOCUS_CLEARLY = 1.5
FOCUS_CROSSING = 0.12
FOCUS_CLEAR_CROSSING = 0.2
# ... but the focus plane of a stack moves, so no frame is the sharpest nearly everywhere: when one
# frame is the sharpest on this share of the textured tiles, the group is a burst with one good frame
# whose softer frames cross each other (blurred along different directions). Real focus stacks 0.50
# and 0.75, the benchmark card's 0.25-0.73; bursts of the card whose frames cross 0.93 and 0.97.
FOCUS_ONE_FRAME = 0.85
# Nothing moves in a focus stack, neither the camera (a tripod; a camera's own focus bracketing says
# so in its makernote) nor the subject: between consecutive frames shrunk to 16 px across, no pixel
# changes by more than this many standard deviations of the frame (`largest_change`; defocus barely
# shows at that size). Real focus stacks 0.62 and 0.20; real registered hand-held bursts 0.07-0.15;
# on the benchmark card, bursts with a moving subject 1.16-1.80 (one of which crosses 0.19, like a
# focus stack), hand-held bursts 0.37-2.03. Over three benchmark cards (seeds 1-3) and two sets cards:
# focus stacks 0.02-0.30 (the real circuit board 0.62: focus breathing), bursts that cross 0.68-1.40.
FOCUS_STILL = 0.9
FOCUS_STILL_WEAK = 0.5
# The focus grid measures the finest detail of the analysed pixels (a 24 MP frame at a 1/4 decode is
# 1500 px across). Where the photo holds no detail that fine (a soft lens, a photo enlarged), the grid
# sees noise in every frame and a focus stack's sweep hardly shows: the 24 MP benchmark card renders
# its stacks from photos of 450-512 px enlarged 5x, and there the grid crosses 0.03, 0.25 and 0.03
# (interaction 0.11, 0.20, 0.10), against 0.39, 0.30 and 0.35 for the same stacks on the 1200 px
# card, analysed at 600 px. The thumbnail (128 px) still shows the sweep (`thumb_focus`, per tile of
# the same grid): it crosses 0.25, 0.23 and 0.28 there; every other synthetic stack of the five
# 1200 px cards and the 24 MP card 0.21-0.32 (one 0.00, found by its grid), the real circuit board
# 0.31 (the real sweep without EXIF 0.08, found by its grid). It is read there only for frames as
# still as a tripod's, at most FOCUS_TRIPOD apart (`largest_change`; those three stacks 0.04-0.08):
# a thumbnail's tile is a few pixels, its measure shifts with the framing, and bursts cross there as
# much as stacks do (up to 0.41, a tracking pan), the stillest of them moving 0.26 (three frames of a
# hand-held burst of the 1200 px card, seed 2, rolled by up to 0.8 degrees). Over those cards, the
# people cards and the real photos, no burst without a face, nor any run of three of its frames, that
# moves FOCUS_TRIPOD or less crosses there at all (0.00; the real registered hand-held bursts move
# 0.07-0.15). A still tripod burst taken for a stack would be kept whole, which costs little; a stack
# taken for a burst gets frames culled, which loses the shot.
FOCUS_TRIPOD = 0.2
# People are shot in bursts, not stacked: a portrait burst whose focus wavers between the face and the
# background (the face sharp in one frame, the background in the next) crosses as a focus stack does
# (the people benchmark's focus bursts did, four of 21). So a group with a face in every frame at
# least this share of the frame's long side is no focus stack, unless the camera declares one
# (`declared_kind`). A twentieth: the faces of a group portrait at 1200 px are 8 % and more.
PERSON_MIN_FACE = 0.05


class Link(StrEnum):
    """What ties two consecutive frames into one set."""

    BRACKET = "bracket"
    PANORAMA = "panorama"
    TRACKING = "tracking"  # a burst: the camera follows a subject, the background slides
    DECLARED_BURST = "declared-burst"
    DECLARED_BRACKET = "declared-bracket"
    DECLARED_FOCUS = "declared-focus"


@dataclass(frozen=True, slots=True)
class Shift:
    """Where frame b's content sits against frame a's, as shares of the frame, and how well the
    overlap matches there (correlation, -1..1; 0 when nothing was found)."""

    dx: float
    dy: float
    match: float

    @property
    def size(self) -> float:
        return math.hypot(self.dx, self.dy)


NO_SHIFT = Shift(0.0, 0.0, 0.0)


def link(a: Analysis, b: Analysis) -> tuple[Link, Shift] | None:
    """The set link from frame a to the frame b after it, or None. Time gaps are the caller's."""
    declared = declared_link(a.declared, b.declared)
    if declared is not None:
        return declared, NO_SHIFT
    ta, tb = thumbs(a, b)
    if ta is None or tb is None:
        return None
    if one_moment(a, b):
        return None  # a burst's frames: no shift to measure
    shift = pair_shift(a, b)
    if is_bracket_step(a, b, ta, tb, shift):
        return Link.BRACKET, shift
    if is_pan_step(a, b, ta, tb, shift):
        return Link.PANORAMA, shift
    if tracking_step(a, b, ta, tb, shift):
        return Link.TRACKING, shift
    return None


def one_moment(a: Analysis, b: Analysis) -> bool:
    """Frames whose hashes say one moment at one exposure: `link` measures nothing between them."""
    return hashes_alike(a, b) >= SAME_MOMENT and not exposure_stepped(a, b)


def hashes_alike(a: Analysis, b: Analysis) -> float:
    """Mean of pHash and dHash similarity (1 identical, about 0.5 unrelated): pHash sees layout,
    dHash edges. Grouping's burst test compares with it too."""
    return 0.5 * (hash_similarity(a.phash, b.phash) + hash_similarity(a.dhash, b.dhash))


def declared_link(a: Declared, b: Declared) -> Link | None:
    """What the camera says ties a and b: the same bracketing series, or one burst (continuous drive
    with consecutive frame numbers, or a shared burst identifier such as Apple's BurstUUID)."""
    if a.group_id and a.group_id != b.group_id and b.group_id:
        return None
    consecutive = a.sequence is None or b.sequence is None or b.sequence == a.sequence + 1
    if a.bracket and a.bracket == b.bracket and consecutive:
        return Link.DECLARED_FOCUS if a.bracket == "focus" else Link.DECLARED_BRACKET
    if a.group_id and a.group_id == b.group_id:
        return Link.DECLARED_BURST
    if a.drive == b.drive == "continuous" and a.sequence is not None and b.sequence == a.sequence + 1:
        return Link.DECLARED_BURST
    return None


LinkOf = Callable[[Analysis, Analysis], "tuple[Link, Shift] | None"]


def classify(members: Sequence[Analysis], link_of: LinkOf | None = None) -> Kind:
    """The kind of a group of shots in capture order (a single shot is a burst of one).

    `link_of` is `link`, or a memo of it: grouping has measured most pairs already."""
    if len(members) < 2:
        return Kind.BURST
    declared = declared_kind(members)
    if declared is not None:
        return declared
    pairs = list(zip(members, members[1:]))
    links = [(link_of or link)(a, b) for a, b in pairs]
    if all(found is not None and found[0] is Link.PANORAMA for found in links) or slow_sweep(members):
        return Kind.PANORAMA
    brackets = sum(1 for found in links if found is not None and found[0] is Link.BRACKET)
    if brackets and brackets >= (len(pairs)) / 2:
        return Kind.BRACKET
    if focus_sweep(members):
        return Kind.FOCUS_STACK
    return Kind.BURST


def declared_kind(members: Sequence[Analysis]) -> Kind | None:
    """The kind the camera declares for most of the group, if it declares one."""
    votes = [d for d in (m.declared for m in members)]
    for bracket, kind in (("exposure", Kind.BRACKET), ("focus", Kind.FOCUS_STACK)):
        if sum(1 for d in votes if d.bracket == bracket) * 2 > len(votes):
            return kind
    if all(declared_link(a.declared, b.declared) is Link.DECLARED_BURST for a, b in zip(members, members[1:])):
        return Kind.BURST
    return None


def thumbs(a: Analysis, b: Analysis) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Both thumbnails, or None for both when they cannot be compared (missing, other shapes)."""
    ta, tb = thumb_array(a.thumb, a.thumb_size), thumb_array(b.thumb, b.thumb_size)
    if ta.size == 0 or ta.shape != tb.shape or min(ta.shape) < 16:
        return None, None
    return ta, tb


# --- exposure brackets -------------------------------------------------------------------------


def exif_stops(a: Analysis, b: Analysis) -> float | None:
    """How much more light b got than a, in stops, by EXIF; None when the files do not say.

    Auto bracketing steps the exposure bias (the camera turns it into shutter or aperture); a manual
    bracket keeps the bias and steps the shutter, aperture or ISO.
    """
    if a.exposure_bias is not None and b.exposure_bias is not None and a.exposure_bias != b.exposure_bias:
        return b.exposure_bias - a.exposure_bias
    ea, eb = _exposure_value(a), _exposure_value(b)
    return None if ea is None or eb is None else eb - ea


def _exposure_value(a: Analysis) -> float | None:
    """log2 of the light the sensor's signal stands for (shutter x ISO / f-number squared)."""
    if not a.exposure_time or a.exposure_time <= 0:
        return None
    value = math.log2(a.exposure_time)
    if a.aperture and a.aperture > 0:
        value -= 2 * math.log2(a.aperture)
    if a.iso and a.iso > 0:
        value += math.log2(a.iso / 100)
    return value


def exposure_stepped(a: Analysis, b: Analysis) -> bool:
    """Whether b's exposure differs from a's by a bracket's step, by EXIF where the files say, else
    by their thumbnails. Cheap: grouping asks it before measuring anything else."""
    said = exif_stops(a, b)
    if said is None:
        ta, tb = thumbs(a, b)
        said = 0.0 if ta is None or tb is None else measured_stops(ta, tb)
    return abs(said) >= BRACKET_MIN_STOPS


def measured_stops(ta: np.ndarray, tb: np.ndarray) -> float:
    """How much brighter b looks than a, in stops: the median ratio of linear light (an sRGB-like
    gamma undone), pixel by pixel, over the pixels neither frame has near black or white. Whole-frame
    means would understate a bracket's steps: its bright frames clip (a +2 to +3 EV step of a real
    photo measured 0.61 stops by means, 0.91 by this median). Frames with hardly a pixel in range
    compare their mean light."""
    usable = (ta > 8) & (ta < 230) & (tb > 8) & (tb < 230)
    if usable.mean() < 0.05:
        return float(math.log2((_LINEAR[tb].mean() + 1e-4) / (_LINEAR[ta].mean() + 1e-4)))
    return float(np.median(_LOG_LINEAR[tb[usable]] - _LOG_LINEAR[ta[usable]]))


_LINEAR = (np.arange(256, dtype=np.float64) / 255.0) ** 2.2
_LOG_LINEAR = np.log2(_LINEAR + 1e-4)


def edge_agreement(ta: np.ndarray, tb: np.ndarray) -> float:
    """How alike the edges of two frames are, whatever their exposure: the mean of cos(2 x the
    angle between their gradients), weighted by the weaker gradient (each frame's gradients
    scaled by its own median strength, so a darker frame counts as much). 1: the same edges;
    about 0: unrelated frames."""
    (xa, ya, ma), (xb, yb, mb) = _gradients(ta), _gradients(tb)
    weight = np.minimum(ma / _strength(ma), mb / _strength(mb))
    total = float(weight.sum())
    if total <= 0:
        return 0.0
    cos = (xa * xb + ya * yb) / np.maximum(ma * mb, 1e-6)
    return float((weight * (2 * cos * cos - 1)).sum() / total)


def _gradients(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # A little blur first: at 128 px, a sub-pixel shift between hand-held frames turns fine texture.
    f = cv2.GaussianBlur(t.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    return gx, gy, np.hypot(gx, gy)


def _strength(magnitude: np.ndarray) -> float:
    return float(np.percentile(magnitude, 75)) or 1.0


def is_bracket_step(a: Analysis, b: Analysis, ta: np.ndarray, tb: np.ndarray, shift: Shift) -> bool:
    """Consecutive frames of an exposure bracket: the same framing, the exposure stepped."""
    if shift.size > SAME_FRAMING_SHIFT:
        return False
    seen = measured_stops(ta, tb)
    said = exif_stops(a, b)
    if said is not None:
        # The camera followed a change of light (auto exposure) when the pixels show no step.
        if abs(said) < BRACKET_MIN_STOPS or seen * said <= 0 or abs(seen) < BRACKET_SEEN_STOPS:
            return False
    elif abs(seen) < BRACKET_MIN_STOPS:
        return False
    h, w = ta.shape
    oa, ob = _overlap(ta, tb, round(shift.dx * w), round(shift.dy * h))
    return edge_agreement(oa, ob) >= SAME_EDGES


# --- panoramas ---------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def pair_shift(a: Analysis, b: Analysis) -> Shift:
    """`measure_shift` of two analyses' thumbnails, remembered for the last few pairs: grouping asks
    for a pair's shift when linking, when merging sweeps and when classifying."""
    ta, tb = thumbs(a, b)
    if ta is None or tb is None:
        return NO_SHIFT
    return _shift_between(_thumb_spectrum(a.thumb, a.thumb_size), _thumb_spectrum(b.thumb, b.thumb_size))


def measure_shift(ta: np.ndarray, tb: np.ndarray, candidates: int = SHIFT_CANDIDATES) -> Shift:
    """Where b's content sits against a's (phase correlation of the equalised frames, so another
    exposure does not matter; zero-padded so that shifts up to the whole frame do not wrap around). The strongest few peaks are each checked by the correlation of
    the overlap they imply, and the best checked one wins: with a thin overlap, the highest peak of
    the phase correlation is often not the true shift."""
    return _shift_between(_spectrum(ta), _spectrum(tb), candidates)


@dataclass(frozen=True, slots=True)
class _Spectrum:
    """A thumbnail equalised, and the DFT of it tapered and zero-padded: `measure_shift`'s view of one
    frame, the same whichever pair the frame is in."""

    equalised: np.ndarray
    dft: np.ndarray


def _spectrum(t: np.ndarray) -> _Spectrum:
    equalised = cv2.equalizeHist(t)
    spectrum = cv2.dft(_padded(equalised), flags=cv2.DFT_COMPLEX_OUTPUT)
    equalised.flags.writeable = spectrum.flags.writeable = False  # shared by the cache below
    return _Spectrum(equalised, spectrum)


@lru_cache(maxsize=8)
def _thumb_spectrum(thumb: bytes, size: tuple[int, int]) -> _Spectrum:
    """`_spectrum` of an analysis' thumbnail, remembered for the last few: grouping measures a frame
    against the frame before it and the frame after it (a third of the work of a shift)."""
    return _spectrum(thumb_array(thumb, size))


def _shift_between(a: _Spectrum, b: _Spectrum, candidates: int = SHIFT_CANDIDATES) -> Shift:
    """`measure_shift` from the two frames' spectra."""
    ta, tb = a.equalised, b.equalised
    h, w = ta.shape
    cross = cv2.mulSpectrums(b.dft, a.dft, 0, conjB=True)
    cross /= np.maximum(cv2.magnitude(cross[..., 0], cross[..., 1]), 1e-9)[..., None]
    surface = cv2.GaussianBlur(cv2.idft(cross, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE), (3, 3), 0)
    peaks = np.flatnonzero((surface == cv2.dilate(surface, np.ones((5, 5), np.uint8))) & (surface > 0))
    strongest = peaks[np.argsort(surface.ravel()[peaks])[::-1][:candidates]]
    best = NO_SHIFT
    for index in strongest:
        y, x = divmod(int(index), surface.shape[1])
        dy = int(y - surface.shape[0] if y > surface.shape[0] // 2 else y)
        dx = int(x - surface.shape[1] if x > surface.shape[1] // 2 else x)
        match = overlap_match(ta, tb, dx, dy)
        if match > best.match:
            best = Shift(dx / w, dy / h, match)
    return best


def _padded(t: np.ndarray) -> np.ndarray:
    h, w = t.shape
    f = t.astype(np.float32)
    f -= f.mean()
    f *= _taper(h, w)
    out = np.zeros((2 * h, 2 * w), np.float32)
    out[:h, :w] = f
    return out


@lru_cache(maxsize=8)
def _taper(h: int, w: int) -> np.ndarray:
    """A taper over the outer 5 % of each side (a Tukey window): the hard border of the zero padding
    would otherwise dominate the spectrum. No wider: a thin overlap lies along the frame's edge. (On
    pairs of views of 12 real photos, 1.5 degrees of roll each, 20 % overlap: 35 of 36 found, against
    28 with a Hann taper over the whole frame.)"""
    return np.outer(_tukey(h), _tukey(w)).astype(np.float32)


def _tukey(n: int, share: float = 0.1) -> np.ndarray:
    window = np.ones(n)
    ramp = max(1, int(share * n / 2))
    rise = 0.5 * (1 - np.cos(np.pi * np.arange(ramp) / ramp))
    window[:ramp], window[n - ramp :] = rise, rise[::-1]
    return window


def overlap_match(ta: np.ndarray, tb: np.ndarray, dx: int, dy: int, min_share: float = 0.12) -> float:
    """Correlation of a's and b's pixels where they overlap when b's content sits (dx, dy) from a's
    (b[y + dy, x + dx] shows a[y, x]); 0 when the overlap is under `min_share` of the frame."""
    a, b = _overlap(ta, tb, dx, dy)
    if a.size < min_share * ta.size:
        return 0.0
    a -= a.mean()  # in place: `_overlap` made copies
    b -= b.mean()
    denominator = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _overlap(ta: np.ndarray, tb: np.ndarray, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = ta.shape
    x0, x1, y0, y1 = max(0, -dx), min(w, w - dx), max(0, -dy), min(h, h - dy)
    if x1 <= x0 or y1 <= y0:
        empty = np.zeros(0, np.float32)
        return empty, empty
    return (ta[y0:y1, x0:x1].astype(np.float32), tb[y0 + dy : y1 + dy, x0 + dx : x1 + dx].astype(np.float32))


def is_pan_step(
    a: Analysis, b: Analysis, ta: np.ndarray, tb: np.ndarray, shift: Shift, min_shift: float = PAN_MIN_SHIFT
) -> bool:
    """Consecutive frames of a panorama: a large (at least `min_shift`), well-matched shift at one
    exposure, and nothing that stayed where it was."""
    if not min_shift <= max(abs(shift.dx), abs(shift.dy)) <= PAN_MAX_SHIFT or shift.match < PAN_MIN_MATCH:
        return False
    return same_exposure(a, b, ta, tb, shift) and static_share(ta, tb, shift) < PAN_STATIC_SHARE


def same_exposure(a: Analysis, b: Analysis, ta: np.ndarray, tb: np.ndarray, shift: Shift) -> bool:
    """Whether two frames of a moving view share one exposure: by EXIF, else over their overlap
    only (the view itself brightens or darkens as the camera turns)."""
    said = exif_stops(a, b)
    if said is None:
        oa, ob = _overlap(ta, tb, round(shift.dx * ta.shape[1]), round(shift.dy * ta.shape[0]))
        said = measured_stops(oa.astype(np.uint8), ob.astype(np.uint8))
    return abs(said) <= PAN_MAX_STOPS


def same_view(a: Analysis, b: Analysis) -> bool:
    """Whether b shows a's view again, give or take a few % of reframing, at about one exposure: a
    frame of the same burst the hash test let go (heavy blur changes the hashes), or a quick reshoot."""
    ta, tb = thumbs(a, b)
    if ta is None or tb is None:
        return False
    # The pixels, not EXIF: what matters is whether the frames look alike, and a bracket whose EXIF
    # and pixels agree was linked as one before this is asked.
    if abs(measured_stops(ta, tb)) >= SAME_VIEW_STOPS:
        return False
    shift = pair_shift(a, b)
    return shift.size <= SAME_VIEW_SHIFT and shift.match >= SAME_VIEW_MATCH


def still_view(a: Analysis, b: Analysis) -> bool:
    """Whether b shows a's still view again, a subject having moved through part of it: at one
    exposure, most of the textured background in place (`STILL_SHARE`). The time gap is the
    caller's (`STILL_MAX_GAP`): the pixels of a reshoot minutes later say the same."""
    ta, tb = thumbs(a, b)
    if ta is None or tb is None or not same_exposure(a, b, ta, tb, NO_SHIFT):
        return False
    return still_share(ta, tb) >= STILL_SHARE


def still_share(ta: np.ndarray, tb: np.ndarray, block: int = 8) -> float:
    """The share of the textured blocks (in either frame) whose pixels correlate by
    `STILL_BLOCK_MATCH` or more in a and b, at the best of b's shifts of up to `STILL_SHAKE` px. A
    correlation, not a difference: light noise and a re-metered frame leave it high, a subject
    passing by does not. A light blur first: a sub-pixel shift between hand-held frames would
    decorrelate fine texture (on the people cards, the least share of a moving burst's steps rose
    from 0.13 to 0.67)."""
    shake = STILL_SHAKE
    fa = cv2.GaussianBlur(ta.astype(np.float32), (0, 0), 0.7)
    fb = cv2.GaussianBlur(tb.astype(np.float32), (0, 0), 0.7)
    rows, cols = (fa.shape[0] - 2 * shake) // block, (fa.shape[1] - 2 * shake) // block
    if rows < 1 or cols < 1:
        return 0.0
    h, w = rows * block, cols * block

    def per_block(values: np.ndarray) -> np.ndarray:
        return cv2.resize(values, (cols, rows), interpolation=cv2.INTER_AREA)  # block means

    a = fa[shake : shake + h, shake : shake + w]
    mean_a = per_block(a)
    var_a = np.maximum(per_block(a * a) - mean_a**2, 0.0)
    # b's block means at every shift from one box filter, read every `block` px from the shift.
    box_mean = cv2.boxFilter(fb, -1, (block, block), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    box_square = cv2.boxFilter(fb * fb, -1, (block, block), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    # Textured: a standard deviation of 5 grey levels or more (not sky, not a wall). A block textured
    # in one frame only changed.
    textured_a = var_a >= 25
    best = 0.0
    for y in range(2 * shake + 1):
        for x in range(2 * shake + 1):
            grid = (slice(y, y + h, block), slice(x, x + w, block))
            mean_b = box_mean[grid]
            var_b = np.maximum(box_square[grid] - mean_b**2, 0.0)
            textured_b = var_b >= 25
            textured = int(np.count_nonzero(textured_a | textured_b))
            if not textured:
                continue
            covariance = per_block(a * fb[y : y + h, x : x + w]) - mean_a * mean_b
            kept = textured_a & textured_b & (covariance >= STILL_BLOCK_MATCH * np.sqrt(var_a * var_b))
            best = max(best, float(np.count_nonzero(kept)) / textured)
    return best


def tracking(a: Analysis, b: Analysis) -> bool:
    """`tracking_step` for two frames `link` took for one moment (their hashes alike): grouping asks
    when such a frame is too far from the burst as a whole, the background having slid on. Any other
    pair `link` measured already, its answer stands."""
    if not one_moment(a, b):
        return False
    ta, tb = thumbs(a, b)
    return ta is not None and tb is not None and tracking_step(a, b, ta, tb, pair_shift(a, b))


def continues_step(a: Analysis, b: Analysis, step: Shift) -> bool:
    """Whether the view moved from a to b by `step` again (within `STEP_TOLERANCE`), at one exposure:
    the next frame of a pan following a subject, in a pair where the subject did not show (motion
    blur, a turn of the head)."""
    ta, tb = thumbs(a, b)
    if ta is None or tb is None:
        return False
    shift = pair_shift(a, b)
    return (shift.match >= TRACK_MIN_MATCH and same_direction(step, shift)
            and abs(shift.size - step.size) <= STEP_TOLERANCE * step.size and same_exposure(a, b, ta, tb, shift))


def tracking_step(a: Analysis, b: Analysis, ta: np.ndarray, tb: np.ndarray, shift: Shift) -> bool:
    """Consecutive frames of a pan following a subject: a small step of the background (under a
    panorama's), at one exposure, with a region that stayed where it was."""
    if not SWEEP_MIN_STEP <= max(abs(shift.dx), abs(shift.dy)) < PAN_MIN_SHIFT or shift.match < TRACK_MIN_MATCH:
        return False
    if not same_exposure(a, b, ta, tb, shift):
        return False
    return static_share(ta, tb, shift, loose=True) >= TRACKED_SHARE


def sweep_step(a: Analysis, b: Analysis) -> Shift | None:
    """The step from a to b when it can be one of a sweep's, however small: a well-matched shift of
    `SWEEP_MIN_STEP`..`PAN_MAX_SHIFT` of the frame at one exposure, nothing staying put."""
    ta, tb = thumbs(a, b)
    if ta is None or tb is None:
        return None
    shift = pair_shift(a, b)
    return shift if is_pan_step(a, b, ta, tb, shift, min_shift=SWEEP_MIN_STEP) else None


def same_direction(a: Shift, b: Shift) -> bool:
    return a.dx * b.dx + a.dy * b.dy > SAME_DIRECTION * a.size * b.size


def slow_sweep(members: Sequence[Analysis]) -> bool:
    """Frames of a sweep too slow for `link` to see (a pan at 10 fps, each frame a few % further):
    every step a sweep's, in one direction, adding up to `SWEEP_SPAN` of the frame. Bursts of one
    moment are left at once: their first and last frames are alike (`SAME_MOMENT`)."""
    if len(members) < 3 or hashes_alike(members[0], members[-1]) >= SAME_MOMENT:
        return False
    steps: list[Shift] = []
    for a, b in zip(members, members[1:]):
        step = sweep_step(a, b)
        if step is None or (steps and not same_direction(steps[-1], step)):
            return False
        steps.append(step)
    if math.hypot(sum(s.dx for s in steps), sum(s.dy for s in steps)) < SWEEP_SPAN:
        return False
    return not tracked(members, steps)


def tracked(members: Sequence[Analysis], steps: Sequence[Shift]) -> bool:
    """Whether the camera followed a subject through these steps: over most of them, a region
    stayed where it was (`TRACKED_SHARE`), which no single step shows reliably."""
    shares = []
    for a, b, step in zip(members, members[1:], steps):
        ta, tb = thumbs(a, b)
        shares.append(0.0 if ta is None or tb is None else static_share(ta, tb, step, loose=True))
    return bool(shares) and float(np.median(shares)) >= TRACKED_SHARE


def static_share(ta: np.ndarray, tb: np.ndarray, shift: Shift, block: int = 8, *, loose: bool = False) -> float:
    """The share of a's textured blocks inside the overlap that match b better where they were than
    where the shift puts them: a subject the camera followed while the background slid by. Loose:
    blocks that match only somewhat better in place (a small subject, motion blurred, off aim)."""
    h, w = ta.shape
    dx, dy = round(shift.dx * w), round(shift.dy * h)
    rows, cols = h // block, w // block
    a, b = ta[: rows * block, : cols * block].astype(np.float32), tb[: rows * block, : cols * block].astype(np.float32)
    moved = np.full_like(a, np.inf)  # b's pixels where the shift puts a's (outside the overlap: left out)
    y0, y1, x0, x1 = max(0, -dy), min(rows * block, h - dy), max(0, -dx), min(cols * block, w - dx)
    if y1 > y0 and x1 > x0:
        moved[y0:y1, x0:x1] = tb[y0 + dy : y1 + dy, x0 + dx : x1 + dx]

    def per_block(values: np.ndarray) -> np.ndarray:
        return values.reshape(rows, block, cols, block).mean(axis=(1, 3))

    spread = np.sqrt(np.maximum(per_block(a * a) - per_block(a) ** 2, 0.0))
    here, there = per_block(np.abs(a - b)), per_block(np.abs(a - moved))
    textured = (spread >= 6) & np.isfinite(there)  # sky, a wall: matches anywhere
    closer, within = (0.7, 1.0) if loose else (0.5, 0.3)
    staying = textured & (here < closer * there) & (here < within * spread)
    return float(staying.sum() / textured.sum()) if textured.any() else 0.0


# --- focus stacks ------------------------------------------------------------------------------


def focus_sweep(members: Sequence[Analysis]) -> bool:
    """Three or more frames of one static framing and exposure whose sharp region moves.

    In log space, the per-tile focus measures of a group are a frame effect (a frame shaken or
    defocused as a whole), a tile effect (detail in the scene) and what neither explains: the
    interaction, large when each region of the frame is sharpest in another frame. A burst whose
    frames are blurred by different amounts has some too (fine detail suffers more than coarse), but
    there one frame is the sharper everywhere; in a focus stack two frames *cross*: each is clearly
    sharper than the other somewhere (`crossing`). Frames as still as a tripod's are also read at
    the thumbnail's scale (`thumb_focus`), for a photo with no detail as fine as the focus grid's.
    """
    if len(members) < 3 or portrait(members) or not members[0].tiles or len({m.grid for m in members}) != 1:
        return False
    moved = largest_step(members)
    if moved is None:
        return False
    crossed = grid_crossing(members)
    if crossed:
        return moved <= (FOCUS_STILL if crossed >= FOCUS_CLEAR_CROSSING else FOCUS_STILL_WEAK)
    if moved > FOCUS_TRIPOD:
        return False
    return swept(np.log(np.asarray([thumb_focus(m) for m in members]) + 1e-3)) > 0


def largest_step(members: Sequence[Analysis]) -> float | None:
    """The largest `largest_change` between consecutive frames; None when a pair cannot be compared
    or steps the exposure (a focus stack keeps one; a bracket's clipping moves its sharp regions)."""
    moved = 0.0
    for a, b in zip(members, members[1:]):
        ta, tb = thumbs(a, b)
        if ta is None or tb is None or abs(measured_stops(ta, tb)) >= BRACKET_MIN_STOPS:
            return None
        moved = max(moved, largest_change(ta, tb))
    return moved


def grid_crossing(members: Sequence[Analysis]) -> float:
    """The `swept` crossing of the frames' focus grids, when their interaction is at least
    `FOCUS_INTERACTION`, else 0."""
    logs = np.log(np.asarray([m.tiles for m in members], dtype=np.float64) + 1e-3)
    interaction = logs - logs.mean(1, keepdims=True) - logs.mean(0, keepdims=True) + logs.mean()
    return 0.0 if math.sqrt(float((interaction**2).mean())) < FOCUS_INTERACTION else swept(logs)


def swept(logs: np.ndarray) -> float:
    """For log focus measures (frames x tiles) that sweep, their `crossing` (at least
    `FOCUS_CROSSING`, no frame the sharpest nearly everywhere: `FOCUS_ONE_FRAME`), else 0."""
    crossed = crossing(logs)
    return crossed if crossed >= FOCUS_CROSSING and sharpest_share(logs) < FOCUS_ONE_FRAME else 0.0


def thumb_focus(a: Analysis) -> np.ndarray:
    """The mean squared Laplacian of the thumbnail over each tile of the focus grid (`Analysis.grid`).
    No smoothing first: shrinking to 128 px averaged the noise away, and a focus stack's blur, a few
    pixels at the analysed scale, is about half a pixel here."""
    t = thumb_array(a.thumb, a.thumb_size).astype(np.float32)
    rows, cols = a.grid
    th, tw = t.shape[0] // rows, t.shape[1] // cols
    lap = cv2.Laplacian(t, cv2.CV_32F, ksize=1)[: rows * th, : cols * tw]
    return (lap * lap).reshape(rows, th, cols, tw).mean(axis=(1, 3)).ravel().astype(np.float64)


def portrait(members: Sequence[Analysis]) -> bool:
    """A face of `PERSON_MIN_FACE` of the frame or larger in every frame: people, who are no focus stack."""
    return all(any(max(f.box[2], f.box[3]) >= PERSON_MIN_FACE * max(m.width, m.height) for f in m.faces)
               for m in members)


def crossing(logs: np.ndarray) -> float:
    """For log focus measures (frames x tiles): over every pair of frames, the largest share of tiles
    that each frame of the pair has clearly sharper (`FOCUS_CLEARLY` times) than the other, the
    smaller of the two shares, over the `textured_tiles`."""
    logs = logs[:, textured_tiles(logs)]
    if logs.shape[1] == 0:
        return 0.0
    clearly = math.log(FOCUS_CLEARLY)
    best = 0.0
    for i in range(len(logs) - 1):
        difference = logs[i + 1 :] - logs[i]  # every later frame against frame i
        shares = np.minimum((difference > clearly).mean(1), (difference < -clearly).mean(1))
        best = max(best, float(shares.max()))
    return best


def textured_tiles(logs: np.ndarray) -> np.ndarray:
    """The tiles with something to focus on: at least a tenth of the sharpest tile's best measure
    in some frame (below, the measure is noise)."""
    return logs.max(0) >= logs.max() - math.log(10)


def sharpest_share(logs: np.ndarray) -> float:
    """For log focus measures (frames x tiles): the largest share of the `textured_tiles` on which
    one frame is the sharpest of the group."""
    textured = textured_tiles(logs)
    if not textured.any():
        return 1.0
    wins = np.bincount(np.argmax(logs[:, textured], axis=0), minlength=len(logs))
    return float(wins.max() / textured.sum())


def largest_change(ta: np.ndarray, tb: np.ndarray) -> float:
    """The largest change of a pixel between two frames shrunk to 16 px across, each frame's pixels in
    units of its own standard deviation: defocus (and exposure) leave it small, anything that moved
    (the camera, a subject) does not."""
    h, w = ta.shape
    size = (16, max(1, round(16 * h / w)))
    a = cv2.resize(ta, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(tb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    a = (a - a.mean()) / max(float(a.std()), 1e-6)
    b = (b - b.mean()) / max(float(b.std()), 1e-6)
    return float(np.abs(a - b).max())
