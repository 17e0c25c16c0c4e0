"""Who is in a burst, and whose eyes are closed in which frame. Pure: values in, values out.

The analysis finds faces in each frame on its own (`Analysis.faces`, with the eye model's openness:
eyelid gap over eye width, and its own open/closed call made with one global threshold). Here the
frames of one burst are put side by side:

- **People.** A person is the same face position from frame to frame. The hand-held shift between
  frames is taken out first (`subject.frame_shifts`; or not, when the face stayed where it was in the
  frame: a shift measured on a moving subject can be wrong), then a face joins the person whose face in the
  previous frames is nearest, when its centre lies within `MATCH_DISTANCE` of that face's size and the
  two sizes differ by less than `MATCH_SIZE`. The burst's people are those seen in at least half of
  its frames, with a face at least `MAIN_SIZE` of the largest person's: a passer-by in one frame, or
  a small face far behind, decides nothing.
- **Eyes, relative to the same person.** One global threshold fails on squints and on small faces,
  whose openness is lower for every frame. So each face is also compared with the same person's most
  open frame. An eye the model called open is closed all the same below `CLOSED_RATIO` of that
  openness (a half-closed blink the threshold let through); an eye the model called closed is open
  all the same at `SQUINT_RATIO` of it or more (the person's own squint, the same in every frame),
  or at `SQUINT_RATIO_LOOSE` when it reads at least `OPEN_REFERENCE`, which few closed eyes reach.
  Between the two, the model's call stands. The comparison needs a reference: a frame the eye model
  called open, or one that reads at least `OPEN_REFERENCE` (narrow eyes, all just under the model's
  threshold); without one (a single shot, or a person whose eyes read closed everywhere) the model's
  own call stands.
- **Small faces.** A person whose face is under `SMALL_FACE_PX` across in the analysed pixels (the
  median over the burst) has eyes of about 12 px, too few for one global threshold: the readings run
  low and jump with the frame's blur. Their eyes are judged against their own most open frame alone,
  whatever the model called them: closed only below `SMALL_CLOSED_RATIO` of it (a clear blink),
  open from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from burstd.models import EyeState, Face, Shot

# A face continues a person when its centre lies within this share of the face's size (the square
# root of its box area) of that person's last face, once the frames are aligned. Half a face: the
# frames are aligned already, so what is left is the person's own movement, and two people side by
# side are at least a face apart.
MATCH_DISTANCE = 0.5
# ... and when the two sizes differ by less than this factor (a step towards the camera is allowed).
MATCH_SIZE = 1.5
# The burst's people: seen in at least half of its frames, and with a face (median size) at least this
# share of the largest person's.
MAIN_SIZE = 0.4
# Closed though the model called it open: less than this share of the same person's most open frame.
CLOSED_RATIO = 0.5
# Open though the model called it closed: at least this share of the same person's most open frame,
# or `SQUINT_RATIO_LOOSE` of it for a reading of `OPEN_REFERENCE` or more. The eye model reads a closed
# eye's lids at about 0.15 and an open eye at 0.25 to 0.35 (the real eyes_dev crops: medians 0.147
# and 0.315; 85 % of the closed ones under 0.2, 1.3 % of the open ones): a blink is 0.4 to 0.5 of the
# same person's open frames. On the people benchmark (python -m tests.bench.people, seeds 1-3) the
# closed eyes the model called closed read at most 0.65 of the person's most open frame, but one
# read 0.76 (0.182 beside a narrow-eyed person's 0.239), while open eyes the model called closed read
# from 0.77 (0.228, its sharp frame beside a blurred one that read 0.295) and 0.80 (0.2, a soft frame)
# when they read 0.2 or more, and from 0.85 when they read less. A squint kept through the burst
# reads alike in every frame.
SQUINT_RATIO = 0.85
SQUINT_RATIO_LOOSE = 0.7
# A face narrower than this in the analysed (reduced) pixels is small: YuNet's box is about 2.2 eye
# spans wide and an eye about half a span, so its eyes are under 12 px. On the people benchmark's group
# portrait (faces 45-56 px across in the analysed pixels), a smiling face with open eyes read
# 0.10-0.19 in its sharp frames and 0.22-0.27 in its soft ones: 0.38-0.69 of its most open frame, where
# a blink of a larger face is 0.4-0.5. The benchmark's single faces, 60 px and more, read steadily.
SMALL_FACE_PX = 56
# The person's most open frame is a reference only when the model called it open, or when it reads at
# least this much: a narrow-eyed person's open eyes may all fall just under `faces.CLOSED_BELOW`
# (0.219-0.233 in a people benchmark burst whose blink read 0.151), while 85 % of the real closed
# eyes of eyes_dev read under 0.2 (and 1.3 % of the open ones).
OPEN_REFERENCE = 0.2
# A small face's eyes are closed below this share of the same person's most open frame: a clear blink
# (closed lids read about 0.05-0.15 against 0.25-0.35 open), under the 0.38 that open eyes fell to.
SMALL_CLOSED_RATIO = 0.3


@dataclass(frozen=True, slots=True)
class Person:
    """One person of a burst: their face in each frame (None where it was not found)."""

    faces: tuple[Face | None, ...]
    indices: tuple[int | None, ...]  # per frame, the face's place in that frame's `Analysis.faces`

    @property
    def size(self) -> float:
        """Median face size (square root of the box area), in the image's pixels."""
        sizes = sorted(_size(f) for f in self.faces if f is not None)
        return sizes[len(sizes) // 2] if sizes else 0.0


@dataclass(frozen=True, slots=True)
class EyeVerdict:
    """The burst's people and their eyes, frame by frame."""

    people: tuple[Person, ...]  # the burst's people (see the module docstring), largest first
    faces: tuple[tuple[Face, ...], ...]  # per frame, every face found, eyes judged against the same person
    closed: tuple[bool, ...]  # per frame: one of the burst's people has closed eyes
    all_open: tuple[bool, ...]  # per frame: every one of the burst's people is there with open eyes

    @property
    def demotes(self) -> bool:
        """Frames with closed eyes drop below the others: a frame with every eye open exists."""
        return any(self.all_open) and any(self.closed)


def find_people(shots: Sequence[Shot], shifts: Sequence[tuple[float, float]]) -> tuple[Person, ...]:
    """Every face of the burst matched into people (all of them, main or not), largest first.

    `shifts` are each frame's displacement from the first frame, as fractions of width and height.
    """
    tracks: list[list[int | None]] = []  # per track, the face's index in each frame
    last: list[tuple[int, Face]] = []  # per track: (frame, face) where it was last seen
    for i, s in enumerate(shots):
        faces = s.analysis.faces
        if not faces:
            continue
        pairs = sorted(
            (distance, t, j)
            for j, face in enumerate(faces)
            for t, (k, seen) in enumerate(last)
            if (distance := _distance(seen, shots[k], shifts[k], face, s, shifts[i])) is not None
        )
        taken_tracks: set[int] = set()
        placed: set[int] = set()
        for _, t, j in pairs:
            if t in taken_tracks or j in placed or tracks[t][i] is not None:
                continue
            tracks[t][i] = j
            last[t] = (i, faces[j])
            taken_tracks.add(t)
            placed.add(j)
        for j, face in enumerate(faces):
            if j not in placed:
                tracks.append([None] * len(shots))
                tracks[-1][i] = j
                last.append((i, face))
    people = [Person(tuple(None if j is None else shots[i].analysis.faces[j] for i, j in enumerate(t)), tuple(t))
              for t in tracks]
    return tuple(sorted(people, key=lambda p: -p.size))


def main_people(people: Sequence[Person], frames: int) -> tuple[Person, ...]:
    """The people who count: seen in at least half the frames, not much smaller than the largest."""
    seen = [p for p in people if sum(f is not None for f in p.faces) * 2 >= frames]
    if not seen:
        return ()
    largest = max(p.size for p in seen)
    return tuple(p for p in seen if p.size >= MAIN_SIZE * largest)


def judge_eyes(shots: Sequence[Shot], shifts: Sequence[tuple[float, float]]) -> EyeVerdict:
    """The burst's people, and per frame every face with its eyes judged against the same person."""
    everyone = find_people(shots, shifts)
    main = main_people(everyone, len(shots))
    judged: dict[tuple[int, int], Face] = {}  # (frame, face index) -> the face with its eyes judged
    for person in everyone:
        for i, (face, j) in enumerate(zip(person.faces, person.indices, strict=True)):
            if face is not None and j is not None:
                judged[i, j] = replace(face, eyes=_relative_state(face, person, _small(person, shots)))
    faces = tuple(tuple(judged[i, j] for j in range(len(s.analysis.faces))) for i, s in enumerate(shots))
    states = [[None if j is None else judged[i, j].eyes for i, j in enumerate(p.indices)] for p in main]
    closed = tuple(any(p[i] is EyeState.CLOSED for p in states) for i in range(len(shots)))
    all_open = tuple(bool(states) and all(p[i] is EyeState.OPEN for p in states) for i in range(len(shots)))
    return EyeVerdict(main, faces, closed, all_open)


def _relative_state(face: Face, person: Person, small: bool) -> EyeState:
    opennesses = [f.openness for f in person.faces if f is not None and f.openness is not None]
    if face.openness is None or not opennesses:
        return face.eyes
    reference = max(opennesses)
    reference_seen = reference >= OPEN_REFERENCE or any(f is not None and f.eyes is EyeState.OPEN for f in person.faces)
    if not reference_seen or reference <= 0:
        return face.eyes
    ratio = face.openness / reference
    if small:
        return EyeState.CLOSED if ratio < SMALL_CLOSED_RATIO else EyeState.OPEN
    if face.eyes is EyeState.CLOSED:
        squint = SQUINT_RATIO_LOOSE if face.openness >= OPEN_REFERENCE else SQUINT_RATIO
        return EyeState.OPEN if ratio >= squint else EyeState.CLOSED
    return EyeState.CLOSED if ratio < CLOSED_RATIO else EyeState.OPEN


def _small(person: Person, shots: Sequence[Shot]) -> bool:
    """Whether the person's face (the median over the burst) is under `SMALL_FACE_PX` across in the
    pixels its eyes were read on: the reduced decode, whose factor ends `Analysis.source` ("jpeg/4";
    none named: the stored pixels)."""
    widths = sorted(f.box[2] / _reduced(s) for f, s in zip(person.faces, shots, strict=True) if f is not None)
    return bool(widths) and widths[len(widths) // 2] < SMALL_FACE_PX


def _reduced(shot: Shot) -> int:
    _, _, factor = shot.analysis.source.rpartition("/")
    return int(factor) if factor.isdigit() and int(factor) > 0 else 1


def _size(face: Face) -> float:
    return math.sqrt(max(0, face.box[2]) * max(0, face.box[3]))


def _centre(face: Face, shot: Shot, shift: tuple[float, float]) -> tuple[float, float]:
    """The face's centre in the first frame's pixels (the frame's shift taken out)."""
    x, y, w, h = face.box
    a = shot.analysis
    return x + w / 2 - shift[0] * a.width, y + h / 2 - shift[1] * a.height


def _distance(a: Face, shot_a: Shot, shift_a: tuple[float, float],
              b: Face, shot_b: Shot, shift_b: tuple[float, float]) -> float | None:
    """How far apart two faces are, in face sizes; None when they cannot be the same person."""
    size_a, size_b = _size(a), _size(b)
    if min(size_a, size_b) <= 0 or max(size_a, size_b) >= MATCH_SIZE * min(size_a, size_b):
        return None
    # Where they are with the frames' shifts taken out, or where they are in the frame: a shift
    # measured on a moving subject (or a flash) can be wrong, and a face that stayed at its place in
    # the frame is the same person's (the camera rarely moves another face exactly there).
    distance = min(_apart(_centre(a, shot_a, shift_a), _centre(b, shot_b, shift_b)),
                   _apart(_centre(a, shot_a, (0.0, 0.0)), _centre(b, shot_b, (0.0, 0.0)))) / ((size_a + size_b) / 2)
    return distance if distance <= MATCH_DISTANCE else None


def _apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])
