"""Find the candidate image files of a folder: names and stat only, no file contents.

Hidden files, copy temp files and sidecars are skipped by name (`naming.is_ignored_name`); whether a
candidate really is an image is decided by its content later, at analysis time (and remembered by the
cache). Symbolic links are not followed out of the folder.
"""

from __future__ import annotations

import os
import stat as statmod
from dataclasses import dataclass
from pathlib import Path

from burstd.models import FileProblem
from burstd.naming import has_image_extension, is_ignored_name, natural_key
from burstd.paths import within


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path
    size: int
    mtime_ns: int


def discover(root: Path, *, recursive: bool = False, extra_patterns: tuple[str, ...] = ()) -> tuple[list[Candidate], list[FileProblem]]:
    """Candidates under `root` in natural name order, and folders that could not be listed."""
    root_real = root.resolve()
    found: list[Candidate] = []
    problems: list[FileProblem] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append(FileProblem(folder, f"cannot list folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            if is_ignored_name(entry.name, extra_patterns):
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                continue  # vanished between listing and stat: nothing to do
            except OSError as exc:
                problems.append(FileProblem(Path(entry.path), f"cannot read: {exc.strerror or exc}"))
                continue
            path = Path(entry.path)
            if entry.is_symlink() and not _inside(path, root_real):
                continue  # never follow a link out of the folder
            if statmod.S_ISDIR(st.st_mode):
                if recursive and not entry.is_symlink():
                    stack.append(path)
            elif statmod.S_ISREG(st.st_mode):
                found.append(Candidate(path, st.st_size, st.st_mtime_ns))
    found.sort(key=lambda c: (natural_key(str(c.path.parent)), natural_key(c.path.name)))
    return found, problems


def images_only_below(root: Path, *, depth: int = 3, budget: int = 20_000) -> Path | None:
    """A sub-folder holding images when `root` itself holds none (a card's top folder, its photos in
    `DCIM/100XXXXX/`); None otherwise. By names only, breadth first, in natural order, at most
    `depth` levels down and `budget` entries read, never into hidden folders or through links.
    """
    level = [root]
    for _ in range(depth + 1):
        below: list[Path] = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
            except OSError:
                continue
            budget -= len(entries)
            shown = [e for e in entries if not e.name.startswith(".")]
            if any(has_image_extension(e.name) and not e.is_dir() for e in shown):
                return None if folder == root else folder
            below += [Path(e.path) for e in shown if e.is_dir(follow_symlinks=False)]
            if budget <= 0:
                return None
        level = below
    return None


def _inside(path: Path, root_real: Path) -> bool:
    """Whether `path`, its links resolved, lies in the (resolved) folder being listed."""
    try:
        return within(path.resolve(), root_real)
    except (OSError, RuntimeError):  # a link loop
        return False
