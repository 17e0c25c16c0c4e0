"""Whether a path lies inside a root: the one rule every part of burstd uses (pure, no file system).

A path is inside a root when, both taken as written with `.` and `..` steps collapsed, the root's
parts are a prefix of the path's parts; the root itself is inside. Names are compared whole, so
`/a/bc` is not inside `/a/b` and a folder called `..x` is inside its parent like any other. Links
are not looked at here: a caller that must not follow a link out of a root resolves both paths
first (`Path.resolve()`) and passes the results.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import TypeVar

R = TypeVar("R", bound=PurePath)


def within(path: PurePath, root: PurePath) -> bool:
    """Whether `path` is `root` or lies below it."""
    return _collapsed(path).is_relative_to(_collapsed(root))


def root_of(path: PurePath, roots: Iterable[R]) -> R | None:
    """The first of `roots` that `path` lies within (the root object itself, as given), or None."""
    return next((root for root in roots if within(path, root)), None)


def _collapsed(path: PurePath) -> PurePath:
    """`path` with `..` taking back the step before it, as `os.path.normpath` does, without the disk."""
    # PurePath already drops `.` parts, repeated and trailing slashes. A `..` right below the
    # anchor stays at the anchor (`/..` is `/`); a relative path keeps its leading `..` steps.
    parts: list[str] = []
    for part in path.parts[1:] if path.anchor else path.parts:
        if part != "..":
            parts.append(part)
        elif parts and parts[-1] != "..":
            parts.pop()
        elif not path.anchor:
            parts.append(part)
    return type(path)(path.anchor, *parts) if path.anchor else type(path)(*parts)
