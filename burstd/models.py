"""The small frozen value types every stage passes around.

Nothing here touches the disk. `Analysis` is what analysing one image file yields (and what the cache
stores); a `Shot` is one photograph, which may be several files (a RAW and its JPEG); a `Burst` is a run
of shots of one moment; `SidecarFields` is what burstd owns inside an XMP sidecar, and
`SidecarOutcome` says what happened to one sidecar. The choice lists of the settings (`Method`,
`Scheme`, `SidecarStyle`, `Colour`, `Kind`, `SetPolicy`) live here once, as `StrEnum`s: their members equal their strings,
so the command line, the configuration files, the cache and JSON output all see plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Method(StrEnum):
    """How shots are compared to find bursts."""

    HASH = "hash"  # perceptual hashes of the reduced image
    FEATURES = "features"  # ORB feature matching (`scan -f`)


class Scheme(StrEnum):
    """How ranks in a burst become stars."""

    TIERS = "tiers"  # the original script's mapping
    LINEAR = "linear"


class SidecarStyle(StrEnum):
    """Which sidecar names are written (see `naming.sidecar_targets`)."""

    DARKTABLE = "darktable"  # IMG_0001.CR2.xmp, one per file (darktable, digiKam)
    LIGHTROOM = "lightroom"  # IMG_0001.xmp, one per shot (Lightroom, Capture One, Bridge)
    BOTH = "both"


class Colour(StrEnum):
    """darktable's colour labels, in the order of its label numbers (`tagging.COLOURS`)."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"
    PURPLE = "purple"


class Kind(StrEnum):
    """What a group of shots is. A burst is ranked and culled; the other kinds are sets shot to be
    merged later (an HDR, a focus stack, a panorama): every frame of them is needed."""

    BURST = "burst"
    BRACKET = "bracket"  # the same framing at stepped exposures
    FOCUS_STACK = "focus-stack"  # the same framing, the sharp plane moving from frame to frame
    PANORAMA = "panorama"  # a sweep: consecutive frames overlap after a consistent shift


class SetPolicy(StrEnum):
    """What becomes of a bracket, focus stack or panorama (`sets` in the config, `scan --sets`)."""

    KEEP = "keep"  # every frame gets the same rating (`set_rating`): nothing to cull
    RANK = "rank"  # ranked like a burst (burstd 1's behaviour)


class EyeState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"  # no eye model result (face too small, turned away, landmarks failed)


class TimeSource(StrEnum):
    """Where a shot's capture time came from."""

    EXIF = "exif"  # DateTimeOriginal (+ SubSecTimeOriginal, + OffsetTimeOriginal)
    MTIME = "mtime"  # no usable EXIF time: the file's mtime, which a card copy may have reset


@dataclass(frozen=True, slots=True)
class Face:
    """One face found in an image. Coordinates are in the full image's pixels, as stored (before
    any EXIF orientation is applied), so they line up with `Analysis.width` x `Analysis.height`."""

    box: tuple[int, int, int, int]  # x, y, w, h
    score: float  # the detector's confidence, 0..1
    eyes: EyeState = EyeState.UNKNOWN
    openness: float | None = None  # eyelid gap over eye width, the mean of the two eyes
    sharpness: float | None = None  # focus measure over the eyes' region (comparable within a burst only)


@dataclass(frozen=True, slots=True)
class Declared:
    """What the camera itself says about how a frame was shot (its makernote, or Apple's fields).
    Empty values: the file does not say. What the camera declares wins over what pixels suggest."""

    drive: str = ""  # "single", "continuous" (a burst) or "panorama" (a panorama mode): `makernotes` names them
    sequence: int | None = None  # the frame's number within its burst or sequence (1-based)
    bracket: str = ""  # "exposure" or "focus" when the frame belongs to a bracketing series
    bracket_step: float | None = None  # EV between frames of an exposure bracket
    group_id: str = ""  # an identifier shared by the frames of one series (Apple's BurstUUID)
    af_point: tuple[float, float] | None = None  # the focus point, as fractions (x, y) of width and height

    def __bool__(self) -> bool:
        return self != Declared()


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything burstd needs to know about one image file, computed once and cached."""

    width: int  # pixel size of the full image (0 when unknown)
    height: int
    capture_time: float  # seconds; EXIF local time shifted by its offset when one is given
    time_source: TimeSource
    make: str = ""
    model: str = ""
    serial: str = ""
    lens: str = ""
    exposure_time: float | None = None  # seconds
    aperture: float | None = None  # f-number
    iso: int | None = None
    exposure_bias: float | None = None  # EV
    orientation: int = 1
    phash: int = 0  # 64-bit perceptual hashes of the reduced grey image
    dhash: int = 0
    tiles: tuple[float, ...] = ()  # focus measure per tile, row-major, `grid` rows x columns
    grid: tuple[int, int] = (0, 0)
    source: str = ""  # which pixels were analysed: "jpeg/4", "raw-preview/2", "raw-halfsize", ...
    # A small grey copy of the reduced image (`features.THUMB_LONG_SIDE` on its long side, row-major
    # uint8), for comparisons between frames that hashes cannot make: shifts (panoramas), content
    # under another exposure (brackets), the region that moves between frames (a moving subject).
    thumb: bytes = b""
    thumb_size: tuple[int, int] = (0, 0)  # width, height of `thumb`
    faces: tuple[Face, ...] = ()  # largest first
    declared: Declared = Declared()

    @property
    def known_time(self) -> float | None:
        """The capture time when the file says when it was taken; None when only its mtime is known:
        a card copy may have reset that, so it is never shown as the moment the photo was taken."""
        return self.capture_time if self.time_source is TimeSource.EXIF else None

    @property
    def body(self) -> str:
        """A key naming the camera body; empty when the file says nothing about its camera."""
        return "|".join((self.make, self.model, self.serial)) if (self.make or self.model) else ""


@dataclass(frozen=True, slots=True)
class Shot:
    """One photograph: the file analysed plus any companions with the same stem (RAW+JPEG)."""

    primary: Path
    analysis: Analysis
    companions: tuple[Path, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.primary, *self.companions)


@dataclass(frozen=True, slots=True)
class Burst:
    """A group of shots in capture order: a burst (shots of one moment) or a set (`Kind`). Single
    shots are bursts of one."""

    id: str
    shots: tuple[Shot, ...]
    kind: Kind = Kind.BURST


class RegionKind(StrEnum):
    """Where a frame's sharpness was measured (`subject.py` chooses, in this order of preference)."""

    FACES = "faces"  # the faces of the burst's people
    FOCUS_POINT = "focus-point"  # the tiles around the camera's focus point (`Declared.af_point`)
    MOVING_SUBJECT = "moving-subject"  # the tiles that change between the burst's aligned frames
    SHARPEST_TILES = "sharpest-tiles"  # the quarter of the tiles sharpest across the burst


@dataclass(frozen=True, slots=True)
class Region:
    """The region one frame's sharpness was measured on."""

    kind: RegionKind = RegionKind.SHARPEST_TILES
    box: tuple[float, float, float, float] | None = None  # left, top, right, bottom: fractions of the stored image


class PickReason(StrEnum):
    """Why a burst's pick is its pick."""

    SINGLE_SHOT = "single-shot"  # nothing to compare with
    SHARPEST = "sharpest"  # the sharpest over the measured region
    EYES_OPEN = "eyes-open"  # every eye open, while sharper frames had closed eyes
    KEPT_WHOLE = "kept-whole"  # a set kept whole (`ranking.rate_set`): no pick, every frame alike


@dataclass(frozen=True, slots=True)
class RatedShot:
    """A shot's place in its burst: rank 1 is the pick (the sharpest, among frames with every eye open
    when the burst has one; see `ranking.rate_burst`)."""

    shot: Shot
    rank: int
    score: float  # sharpness relative to the burst's sharpest frame, 0..1
    rating: int  # the xmp:Rating to write: -1 rejected, 0..5 stars
    tied_to: int | None = None  # rank of the sharper frame it cannot be told from, whose stars it shares
    region: Region = Region()  # where `score` was measured
    faces: tuple[Face, ...] = ()  # the analysis's faces, their eyes judged against the same person's other frames
    eyes_closed: bool = False  # one of the burst's people has closed eyes here

    @property
    def indistinguishable_from_pick(self) -> bool:
        """A frame other than the pick, within the measure's noise of it (`ranking.NOISE_MARGIN`)."""
        return self.tied_to == 1


@dataclass(frozen=True, slots=True)
class RatedBurst:
    burst: Burst
    members: tuple[RatedShot, ...]  # the pick first, then by rank; a set kept whole: in shooting order (`ranking.rate_set`)
    pick_reason: PickReason = PickReason.SHARPEST


@dataclass(frozen=True, slots=True)
class SidecarFields:
    """The values burstd writes to a sidecar: `xmp:Rating`, its own `burstd:` namespace, and keywords
    and labels the photographer's editor shows (see `xmp.py` for which entries burstd owns)."""

    rating: int
    burst_id: str
    rank: int
    burst_size: int
    sharpness: float
    tags: tuple[str, ...] = ()  # hierarchical keywords under `burstd|`
    color_label: int | None = None  # darktable colour label: 0 red, 1 yellow, 2 green, 3 blue, 4 purple
    pick_label: int | None = None  # digiKam:PickLabel: 1 rejected, 3 accepted
    kind: Kind | None = None  # burstd:Kind, on the frames of a set only (a burst's and a single shot's: None)


class SidecarAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # already held exactly these values: nothing written
    KEPT_MANUAL = "kept-manual"  # the photographer set this rating: left alone
    EXCLUDED = "excluded"  # -e/--exclude and a sidecar existed
    PLANNED = "planned"  # --dry-run: would create or update
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SidecarOutcome:
    path: Path
    action: SidecarAction
    reason: str = ""
    previous_rating: int | None = None  # the rating the sidecar held (a kept-manual one: the photographer's)
    folder_wide: bool = False  # FAILED for a reason of the folder's (read-only, full): shared by its sidecars


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One file burstd could not handle, and why, in words for the user."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """Settings of one scan, validated once and passed in; defaults live here only."""

    method: Method = Method.HASH
    threshold: float | None = None  # minimum similarity to join a burst; None adapts to the data
    max_gap: float = 30.0  # seconds between shots beyond which a burst always ends
    max_rank: int = 3
    scheme: Scheme = Scheme.TIERS
    singleton_rating: int | None = None  # None: max_rank
    reject_below: float | None = None  # reject frames scoring below this fraction of the best
    exclude: bool = False  # -e: skip images that already have a sidecar
    force: bool = False  # overwrite ratings the photographer set
    recursive: bool = False
    dry_run: bool = False
    workers: int = 0  # 0: one per core
    extra_excludes: tuple[str, ...] = field(default=())
    tags: bool = True  # keywords `burstd|burst|...` on every burst frame, `burstd|pick` on the pick
    pick_label: Colour | None = None  # a colour label for each burst's pick; None: none
    digikam_pick_labels: bool = False  # digiKam:PickLabel 3 (accepted) on picks, 1 (rejected) on rejects
    sidecar_style: SidecarStyle = SidecarStyle.DARKTABLE
    # The rating darktable gives an image at import (its darktablerc): a sidecar darktable wrote with
    # it, untouched since, is not a rating set by hand. None: not known, so every rating is theirs.
    darktable_rating: int | None = None
    sets: SetPolicy = SetPolicy.KEEP  # brackets, focus stacks and panoramas: kept whole, or ranked
    set_rating: int | None = None  # the rating of every frame of a kept set; None: max_rank
    reject_closed_eyes: bool = False  # reject frames of a burst with closed eyes while one has them open
