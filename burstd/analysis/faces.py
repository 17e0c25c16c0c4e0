"""Faces and their eye state in one reduced grey image: the seeing part of people-aware ranking.

Three models shipped inside the package (`models/`, Apache-2.0, see its NOTICE) run on the CPU through
OpenCV alone: YuNet (`cv2.FaceDetectorYN`) finds the faces on a small upright copy of the image;
MediaPipe's face mesh and iris models (`cv2.dnn.readNetFromTFLite`) place the eyelids of the few
largest ones. Openness is the eyelid gap over the eye's width. Loading the models is the only file
access; every net is owned by one thread (cv2.dnn nets are not thread-safe, and analysis runs in a
thread pool), loaded lazily the first time that thread needs it: the eye models only once a face
is found.

Coordinates: detection runs on the image turned upright by its EXIF orientation (YuNet only finds
upright faces); the eye crops come from the reduced decode itself, which holds two to four times the
detection copy's pixels (the "closer look" small faces need, at no extra decode); boxes go back to
the full image's stored pixels (before orientation), as `Face` promises.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from burstd.analysis.features import halve_towards, region_focus
from burstd.models import EyeState, Face

MODELS = "models"
DETECTOR_FILE = "face_detection_yunet_2023mar.onnx"
MESH_FILE = "face_landmark.tflite"
IRIS_FILE = "iris_landmark.tflite"

# The detection copy's long side. YuNet's cost grows with its pixels: about 11 ms at 640 on one core,
# a fifth to a half of what analysing a face-free photo costs, so a glance at a smaller copy comes
# first and only a photo where it sees something gets the full look. The glance's size is the
# trade between cost and small faces (python -m tests.bench.faces, faces at 7 % / 10 % of a 24 MP
# photo's long side found): 256 px, 2.5 ms, 0.07 / 0.62; 384 px, 4-5 ms, 0.53 / 0.93; none, 0.83 / 0.98.
DETECT_LONG_SIDE = 640
GLANCE_LONG_SIDE = 384
# YuNet's confidence cuts: the full look keeps faces above SCORE_THRESHOLD (below it false
# positives, a dog's face, textures, outnumber the faces gained); the glance is more lenient, as
# all it decides is whether to look again.
SCORE_THRESHOLD = 0.5
GLANCE_SCORE = 0.1
# A doubtful glance (score between the two cuts) is checked on the region around it, at most
# CLOSE_LOOKS of them, each a square CLOSE_LOOK_MARGIN times the candidate's box, at most
# CLOSE_LOOK_SIDE pixels long.
CLOSE_LOOKS = 3
CLOSE_LOOK_MARGIN = 3.0
CLOSE_LOOK_SIDE = 192
NMS_THRESHOLD = 0.3
# Eye state for at most this many faces per image, the largest first: the people a photographer
# framed; the crowd behind them neither decides a pick nor should cost 10 ms a head.
MAX_EYE_FACES = 5
# An eye narrower than this in the reduced decode has too few pixels for its lids to be placed.
MIN_EYE_PX = 6.0
# A face cut by the frame's edge still gets eye landmarks from YuNet, placed beyond the edge: the
# astronaut of the 24 MP card, framed from the nose down, had them 7 px above the frame, and the mesh
# then read her mouth as eyes ("closed" in half the frames). Each eye's centre must lie at least
# this share of the eyes' span inside the frame (an eye is about half a span wide) to be read.
EYE_EDGE_MARGIN = 0.25
# Openness (eyelid gap over eye width) below which an eye counts as closed; chosen on half of the
# real eyes_dev crops (the even-numbered: 0.965 right, 3.5 % of open eyes called closed; 0.24 is as
# accurate there but calls 4 % open) and checked on the other half (python -m tests.bench.faces).
CLOSED_BELOW = 0.235
# The mesh's own "this is a face" logit; below it the landmarks are noise and the eyes unknown.
MIN_FACE_LOGIT = 0.0

MESH_SIDE = 192
IRIS_SIDE = 64
FACE_CROP = 1.5  # the face crop's side over the detector's box side (MediaPipe's own margin)
EYE_CROP = 2.0  # the eye crop's side over the distance between the eye's corners
# Mesh points of the eyes' corners: (outer, inner) of the subject's right eye (the image's left in an
# upright, unmirrored face) and of the left eye.
RIGHT_EYE = (33, 133)
LEFT_EYE = (263, 362)
MESH_VALUES = 468 * 3
IRIS_VALUES = 71 * 3
# The iris model's first 16 eye-contour points: 0 and 8 the corners, 1-7 the lower lid and 9-15 the
# upper lid, each above its lower partner (1 with 9, ...). The middle three pairs give the gap.
GAP_PAIRS = ((3, 11), (4, 12), (5, 13))


@dataclass(frozen=True, slots=True)
class EyeReading:
    openness: float | None  # None: no reading (too small, not a face to the mesh, turned away)
    eyes: EyeState


_local = threading.local()
# OpenCV 5's new dnn engine writes a warning to stderr for each YuNet it creates ("Targets are not
# supported by the new graph engine"; burstd asks for none): it would land in every scan's output.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _model(name: str) -> str:
    """The path of a shipped model file (an installed wheel keeps package data as plain files)."""
    with resources.as_file(resources.files("burstd.analysis").joinpath(MODELS, name)) as path:
        return str(path)


def detector() -> cv2.FaceDetectorYN:
    """This thread's YuNet, loaded on first use."""
    found = getattr(_local, "detector", None)
    if found is None:
        found = _local.detector = cv2.FaceDetectorYN.create(_model(DETECTOR_FILE), "", (320, 320), SCORE_THRESHOLD, NMS_THRESHOLD, 200)
    return found


def _net(name: str) -> tuple[cv2.dnn.Net, tuple[str, ...]]:
    """This thread's net for a TFLite model and its output names, loaded the first time a face
    needs it (a card without faces never loads the mesh or the iris model)."""
    nets = _local.__dict__.setdefault("nets", {})
    if name not in nets:
        net = cv2.dnn.readNetFromTFLite(_model(name))
        nets[name] = (net, tuple(net.getUnconnectedOutLayersNames()))
    return nets[name]


def find_faces(grey: np.ndarray, full_size: tuple[int, int], orientation: int = 1, *, upright: bool = False) -> tuple[Face, ...]:
    """Faces in `grey` (the reduced decode of an image `full_size` = (width, height) stored pixels),
    largest first, boxes in stored pixels. `orientation` is the EXIF one; `upright` says the pixels
    were already turned (a RAW demosaiced by LibRaw) while `full_size` is still the stored size."""
    turn = 1 if upright else orientation
    view = to_upright(grey, turn)
    if not _worth_a_look(view):
        return ()
    found = detect(view, DETECT_LONG_SIDE, SCORE_THRESHOLD)
    vh, vw = view.shape
    # Full-size stored pixels per pixel of the reduced stored image (the view before its turn).
    reduced_w, reduced_h = (vh, vw) if _swaps_axes(orientation) else (vw, vh)
    scale_x, scale_y = full_size[0] / reduced_w, full_size[1] / reduced_h
    faces = []
    for rank, row in enumerate(found):
        x, y, w, h = (float(v) for v in row[:4])
        eyes_at = row[4:8].reshape(2, 2)
        reading = read_eyes(view, eyes_at, (x, y, w, h)) if rank < MAX_EYE_FACES else EyeReading(None, EyeState.UNKNOWN)
        sx, sy, sw, sh = from_upright((x, y, w, h), orientation, (vw, vh))
        faces.append(Face(
            box=(round(sx * scale_x), round(sy * scale_y), round(sw * scale_x), round(sh * scale_y)),
            score=round(float(row[14]), 3),
            eyes=reading.eyes,
            openness=None if reading.openness is None else round(reading.openness, 3),
            sharpness=eye_sharpness(view, eyes_at),
        ))  # fmt: skip
    return tuple(faces)


def _worth_a_look(view: np.ndarray) -> bool:
    """The glance: a confident face on the small copy, or a doubtful one confirmed by a close look
    at its surroundings (about 1 ms, where the full look costs 11: on face-free photos the doubtful
    ones are textures, foliage, a pattern)."""
    glance = detect(view, GLANCE_LONG_SIDE, GLANCE_SCORE)
    if not len(glance):
        return False
    if (glance[:, 14] >= SCORE_THRESHOLD).any():
        return True
    vh, vw = view.shape
    for x, y, w, h in glance[np.argsort(-glance[:, 14])][:CLOSE_LOOKS, :4]:
        side = CLOSE_LOOK_MARGIN * max(w, h)
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
        region = view[y0 : min(vh, round(cy + side / 2)), x0 : min(vw, round(cx + side / 2))]
        if min(region.shape) >= 16 and len(detect(region, CLOSE_LOOK_SIDE, SCORE_THRESHOLD)):
            return True
    return False


def detect(view: np.ndarray, long_side: int, score: float) -> np.ndarray:
    """YuNet's rows (box x, y, w, h; five landmarks; score) on a copy of `view` about `long_side`
    pixels long, back in `view`'s pixels, largest box first."""
    vh, vw = view.shape
    small = shrink(view, long_side)
    fx, fy = small.shape[1] / vw, small.shape[0] / vh
    yunet = detector()
    yunet.setInputSize((small.shape[1], small.shape[0]))
    yunet.setScoreThreshold(score)
    _, rows = yunet.detect(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))
    if rows is None:
        return np.zeros((0, 15), dtype=np.float32)
    rows = rows.copy()
    rows[:, 0:14:2] /= fx  # back to the view's pixels (the score, column 14, stays)
    rows[:, 1:14:2] /= fy
    return rows[np.argsort(-rows[:, 2] * rows[:, 3], kind="stable")]


def shrink(view: np.ndarray, long_side: int) -> np.ndarray:
    """`view` at most about `long_side` pixels long, each side a multiple of 32 (YuNet pads its input
    to one: 256x171 costs what 256x192 does, 256x160 a fifth less; faces bear the few per cent of
    stretch). Halved by 2x2 averages first (`features.halve_towards`: a general area resize by 3.9
    costs 2.4 ms, more than half of the glance itself), the rest, under a factor of two, bilinear."""
    h, w = view.shape
    scale = min(1.0, long_side / max(h, w))
    size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
    view = halve_towards(view, long_side)
    if (view.shape[1], view.shape[0]) == size:
        return view
    return cv2.resize(view, size, interpolation=cv2.INTER_LINEAR)


def read_eyes(view: np.ndarray, eyes_at: np.ndarray, box: tuple[float, float, float, float]) -> EyeReading:
    """Eye state of one face: mesh on the levelled face crop, then the iris model on each eye."""
    x, y, w, h = box
    right, left = eyes_at  # YuNet: the subject's right eye first
    if float(np.hypot(*(left - right))) < 2 * MIN_EYE_PX or not eyes_in_frame(view, eyes_at):
        return EyeReading(None, EyeState.UNKNOWN)
    # Level the eyes: rotate by the angle of the line from the right eye to the left one.
    angle = float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))
    centre = (x + w / 2, y + h / 2)
    to_crop = _crop_transform(centre, angle, FACE_CROP * max(w, h), MESH_SIDE)
    crop = cv2.warpAffine(view, to_crop, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mesh, logit = _mesh(crop)
    if logit < MIN_FACE_LOGIT:
        return EyeReading(None, EyeState.UNKNOWN)
    back = cv2.invertAffineTransform(to_crop)
    openness = []
    for corners, mirror in ((RIGHT_EYE, False), (LEFT_EYE, True)):
        ends = _apply(back, mesh[list(corners), :2])
        value = _eye_openness(view, ends, mirror)
        if value is not None:
            openness.append(value)
    if not openness:
        return EyeReading(None, EyeState.UNKNOWN)
    # The mean of the two eyes: on the real crops of eyes_dev it separates open from closed better
    # (0.964 against 0.947 at the same open-called-closed rate) than the more open eye alone, as the
    # lids of one eye are often placed less surely than the other's (a wink reads half open).
    mean = float(np.mean(openness))
    return EyeReading(mean, EyeState.CLOSED if mean < CLOSED_BELOW else EyeState.OPEN)


def _eye_openness(view: np.ndarray, ends: np.ndarray, mirror: bool) -> float | None:
    """Eyelid gap over eye width from the iris model on one eye's levelled crop, or None."""
    outer, inner = ends
    width = float(np.hypot(*(inner - outer)))
    if width < MIN_EYE_PX:
        return None
    # The model knows one eye (outer corner on the crop's left); the other is mirrored, as MediaPipe does.
    a, b = (inner, outer) if mirror else (outer, inner)
    angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
    to_crop = _crop_transform(tuple((outer + inner) / 2), angle, EYE_CROP * width, IRIS_SIDE)
    crop = cv2.warpAffine(view, to_crop, (IRIS_SIDE, IRIS_SIDE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if mirror:
        crop = cv2.flip(crop, 1)
    contour = _iris(crop)
    corner_gap = float(np.hypot(*(contour[8] - contour[0])))
    if corner_gap <= 0:
        return None
    gap = float(np.mean([contour[low, 1] - contour[up, 1] for low, up in GAP_PAIRS]))
    return max(0.0, gap) / corner_gap


def eyes_in_frame(view: np.ndarray, eyes_at: np.ndarray) -> bool:
    """Whether both eyes YuNet placed lie inside `view`, by `EYE_EDGE_MARGIN` of their span."""
    margin = EYE_EDGE_MARGIN * float(np.hypot(*(eyes_at[1] - eyes_at[0])))
    h, w = view.shape
    return bool(((eyes_at >= margin) & (eyes_at <= (w - margin, h - margin))).all())


def eye_sharpness(view: np.ndarray, eyes_at: np.ndarray) -> float | None:
    """The focus measure over the eyes' region (a band around both eyes), None when it is too small
    or the eyes are not in the frame (the band would measure the chin)."""
    if not eyes_in_frame(view, eyes_at):
        return None
    right, left = eyes_at
    span = float(np.hypot(*(left - right)))
    cx, cy = (right + left) / 2
    half_w, half_h = 0.8 * span, 0.3 * span
    x0, x1 = max(0, round(cx - half_w)), min(view.shape[1], round(cx + half_w))
    y0, y1 = max(0, round(cy - half_h)), min(view.shape[0], round(cy + half_h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return round(region_focus(view[y0:y1, x0:x1]), 4)


def _mesh(crop: np.ndarray) -> tuple[np.ndarray, float]:
    """468 (x, y, z) points in the 192-px crop's pixels, and the mesh's face logit."""
    net, names = _net(MESH_FILE)
    net.setInput(cv2.dnn.blobFromImage(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), 1 / 255.0))
    outputs = net.forward(names)
    # Picked by size: OpenCV 4 and 5 return the two outputs in different orders.
    points = next(o for o in outputs if o.size == MESH_VALUES).reshape(468, 3)
    logit = float(next(o for o in outputs if o.size == 1).ravel()[0])
    return points, logit


def _iris(crop: np.ndarray) -> np.ndarray:
    """The iris model's 16 eye-contour points (x, y) in the 64-px crop's pixels."""
    net, names = _net(IRIS_FILE)
    net.setInput(cv2.dnn.blobFromImage(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), 1 / 255.0))
    outputs = net.forward(names)
    return next(o for o in outputs if o.size == IRIS_VALUES).reshape(71, 3)[:16, :2]


def _crop_transform(centre: tuple[float, float], angle: float, side: float, out: int) -> np.ndarray:
    """The affine map that turns a square of `side` pixels around `centre`, rotated by `angle`
    degrees, into an `out` x `out` crop with that direction level."""
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, out / side)
    matrix[:, 2] += (out / 2 - centre[0], out / 2 - centre[1])
    return matrix


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


# EXIF orientation: how the stored pixels are turned to show the image upright.
_TURNS = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: np.ascontiguousarray(a.T),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.flip(cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE), 0),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}
# The orientation that undoes each one (the quarter turns undo each other; the rest undo themselves).
_INVERSE = {6: 8, 8: 6}


def to_upright(grey: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels turned as a viewer shows them (orientation 1 or unknown: unchanged)."""
    turn = _TURNS.get(orientation)
    return grey if turn is None else turn(grey)


def from_upright(box: tuple[float, float, float, float], orientation: int, upright_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box (x, y, w, h) in the upright view's pixels back in the stored pixels' frame."""
    x, y, w, h = box
    corners = [_map_point(_INVERSE.get(orientation, orientation), px, py, upright_size) for px, py in ((x, y), (x + w, y + h))]
    (ax, ay), (bx, by) = corners
    return min(ax, bx), min(ay, by), abs(bx - ax), abs(by - ay)


def _map_point(orientation: int, x: float, y: float, size: tuple[int, int]) -> tuple[float, float]:
    """A point of an image of `size` (w, h) in the image turned by `orientation` (edge coordinates)."""
    w, h = size
    return {
        2: (w - x, y), 3: (w - x, h - y), 4: (x, h - y), 5: (y, x),
        6: (h - y, x), 7: (h - y, w - x), 8: (y, w - x),
    }.get(orientation, (x, y))  # fmt: skip


def _swaps_axes(orientation: int) -> bool:
    return orientation in (5, 6, 7, 8)
