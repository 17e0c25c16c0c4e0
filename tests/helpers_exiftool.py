"""Read sidecars back with exiftool, an XMP reader independent of both burstd and exiv2."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXIFTOOL = shutil.which("exiftool")

needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")


def exiftool_tags(path: Path) -> dict[str, object]:
    """Every XMP property of `path` as exiftool reads it (`-G1 -struct -a`), file-system tags left out."""
    assert EXIFTOOL is not None
    out = subprocess.run(
        [EXIFTOOL, "-j", "-G1", "-struct", "-a", "-n", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (tags,) = json.loads(out)
    return {k: v for k, v in tags.items() if k.startswith("XMP-")}


def without(tags: dict[str, object], *prefixes: str) -> dict[str, object]:
    """`tags` without the ones whose name starts with any of `prefixes`."""
    return {k: v for k, v in tags.items() if not k.startswith(prefixes)}
