"""What travels on the daemon's one queue: small frozen messages, one class per kind (pure values).

The watcher's handler and the analysis workers only ever put these; the main loop takes them off and
`match`es on the class (`burstd.daemon.loop`). Paths are the paths as the watcher saw them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from burstd.daemon.arrivals import Event
from burstd.models import Analysis


@dataclass(frozen=True, slots=True)
class FileEvent:
    """Something happened to a file under a root (`at`: monotonic seconds)."""

    path: PurePath
    event: Event
    at: float


@dataclass(frozen=True, slots=True)
class FolderAppeared:
    """A folder appeared with its contents (`cp -r`, `mv` of a card folder): no event for each file."""

    path: PurePath


@dataclass(frozen=True, slots=True)
class FolderConfigChanged:
    """A folder's `.burstd.toml` was written, replaced or deleted: its settings may have changed."""

    path: PurePath  # the folder


@dataclass(frozen=True, slots=True)
class Analysed:
    """A worker analysed a file as it was at (`size`, `mtime_ns`); `failure` says why it could not."""

    path: PurePath
    size: int
    mtime_ns: int
    kind: str | None = None  # None: not an image
    analysis: Analysis | None = None
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Wake:
    """Nothing to carry: a signal arrived, or a deadline passed; look at the flags and the clock."""


Message = FileEvent | FolderAppeared | FolderConfigChanged | Analysed | Wake
