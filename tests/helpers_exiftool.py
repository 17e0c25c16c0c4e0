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


class ExiftoolProcess:
    """One `exiftool -stay_open` process reading many files: perl starts once, not once per read."""

    ARGS = ["-j", "-G1", "-struct", "-a", "-n"]  # the same view as `exiftool_tags`

    def __init__(self) -> None:
        assert EXIFTOOL is not None
        self.proc = subprocess.Popen(
            [EXIFTOOL, "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a file exiftool cannot read still gets a JSON entry with "Error"
            text=True,
            encoding="utf-8",
        )

    def tags(self, *paths: Path) -> list[dict[str, object]]:
        """The XMP properties of each of `paths`, in order, plus exiftool's warning or error if any."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\n".join([*self.ARGS, *map(str, paths), "-execute", ""]))
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line == "{ready}\n":
                break
            lines.append(line)
        found = json.loads("".join(lines))
        assert [Path(t["SourceFile"]) for t in found] == list(paths)
        return [{k: v for k, v in t.items() if k.startswith(("XMP-", "ExifTool:Warning", "ExifTool:Error"))} for t in found]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write("-stay_open\nFalse\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=10)
