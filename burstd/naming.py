"""File-name rules, pure: natural sort order, which names are temp or hidden files, sidecar names.

Sidecars come in two naming styles: darktable's and digiKam's `IMG_0001.CR2.xmp` (the image's full
name plus `.xmp`, one per file) and the `IMG_0001.xmp` of Lightroom, Capture One and Bridge (the
stem plus `.xmp`, one per shot: a RAW and its JPEG share it, and it belongs to the RAW). darktable's
duplicates have sidecars of their own (`IMG_0001_01.CR2.xmp`); no rule here ever names one.

No file-system access here: these functions look at names only.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import PurePath
from typing import TypeVar

from burstd.models import SidecarStyle

# Extensions burstd knows, lower case. Content decides in the end (see `decode.sniff`); the
# extension only tells whether a file that fails the content check deserves an error message.
JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".mpo"})
RAW_EXTENSIONS = frozenset(
    {
        ".3fr", ".ari", ".arw", ".bay", ".cap", ".cr2", ".cr3", ".crw", ".dcr", ".dcs", ".dng",
        ".erf", ".fff", ".iiq", ".k25", ".kdc", ".mdc", ".mef", ".mos", ".mrw", ".nef", ".nrw",
        ".orf", ".ori", ".pef", ".ptx", ".pxn", ".r3d", ".raf", ".raw", ".rw2", ".rwl", ".rwz",
        ".sr2", ".srf", ".srw", ".x3f",
    }
)
OTHER_IMAGE_EXTENSIONS = frozenset({".png", ".tif", ".tiff", ".heic", ".heif", ".hif", ".avif", ".webp"})
IMAGE_EXTENSIONS = JPEG_EXTENSIONS | RAW_EXTENSIONS | OTHER_IMAGE_EXTENSIONS

# Names that are never photographs: sidecars, and files a copy is still writing.
# rsync writes `.name.XXXXXX`, browsers and many tools `*.part`/`*.tmp`/`*.crdownload`, editors `*~`.
TEMP_PATTERNS = ("*.part", "*.partial", "*.tmp", "*.temp", "*.crdownload", "*~", "*.swp")
SIDECAR_EXTENSIONS = frozenset({".xmp", ".pp3", ".dop", ".thm", ".aae"})

P = TypeVar("P", bound=PurePath)

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key so that `IMG_9.JPG` < `IMG_10.JPG`, case-insensitively."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _DIGITS.split(name)
        if part
    )


def is_ignored_name(name: str, extra_patterns: tuple[str, ...] = ()) -> bool:
    """True for hidden files, copy temp files and sidecars: names burstd never analyses."""
    return ignored_reason(name, extra_patterns) is not None


def ignored_reason(name: str, extra_patterns: tuple[str, ...] = ()) -> str | None:
    """Why burstd never analyses a file of this name (for `burstd run -v`), or None when it may."""
    if name.startswith("."):  # hidden, and rsync's `.IMG_0001.CR2.AbC123` temp names
        return "a hidden file"
    lowered = name.casefold()
    if PurePath(lowered).suffix in SIDECAR_EXTENSIONS:
        return "a sidecar"
    if any(fnmatch(lowered, pattern) for pattern in TEMP_PATTERNS):
        return "a temporary file"
    if any(fnmatch(lowered, pattern) for pattern in extra_patterns):
        return "excluded by a pattern"
    return None


def has_image_extension(name: str) -> bool:
    return PurePath(name.casefold()).suffix in IMAGE_EXTENSIONS


def is_raw_name(name: str) -> bool:
    return PurePath(name.casefold()).suffix in RAW_EXTENSIONS


# The copy an iPhone or iPad saves beside its original when a photo is edited on it: `IMG_E1234.JPG`
# (or `.HEIC`) beside `IMG_1234.*`. Its adjustments go to `IMG_O1234.AAE`, a sidecar, never an image.
_APPLE_EDIT = re.compile(r"^(img_)e(\d{4})$")


def shot_stem(name: str) -> str:
    """The part of a file name shared by the files of one shot: a RAW and its JPEG, `IMG_0001.CR2`
    -> `img_0001`, and an Apple edited copy with its original, `IMG_E0001.JPG` -> `img_0001`."""
    return _APPLE_EDIT.sub(r"\1\2", PurePath(name).stem.casefold())


def is_edited_copy(name: str) -> bool:
    """True for a copy the phone saved beside its original (`IMG_E1234.JPG`): it belongs to the
    original's shot, as a companion, like a RAW to its JPEG."""
    return _APPLE_EDIT.match(PurePath(name).stem.casefold()) is not None


def darktable_sidecar(image: P) -> P:
    """`IMG_0001.CR2` -> `IMG_0001.CR2.xmp`."""
    return image.with_name(image.name + ".xmp")


def lightroom_sidecar(image: P) -> P:
    """`IMG_0001.CR2` -> `IMG_0001.xmp`."""
    return image.with_name(PurePath(image.name).stem + ".xmp")


def sidecar_targets(files: tuple[P, ...], style: SidecarStyle) -> list[tuple[P, P, tuple[P, ...]]]:
    """The sidecars one shot's files get in `style`: (image, sidecar, the other style's sidecars).

    The other style's sidecars are only read: a rating the photographer set there must win too.
    """
    if style not in tuple(SidecarStyle):
        raise ValueError(f"unknown sidecar style {style!r}")
    owner = next((f for f in files if is_raw_name(f.name)), files[0])
    targets: list[tuple[P, P, tuple[P, ...]]] = []
    if style in (SidecarStyle.DARKTABLE, SidecarStyle.BOTH):
        targets += [(f, darktable_sidecar(f), (lightroom_sidecar(f),)) for f in files]
    if style in (SidecarStyle.LIGHTROOM, SidecarStyle.BOTH):
        targets.append((owner, lightroom_sidecar(owner), tuple(darktable_sidecar(f) for f in files)))
    return targets
