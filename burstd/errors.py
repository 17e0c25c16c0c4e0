"""The exceptions burstd raises: one small hierarchy under `BurstdError`.

Per-file problems (a broken image, a malformed sidecar) are raised by the I/O edges and turned into
`models.FileProblem` records by the pipeline, so one bad file never stops a batch. Configuration and
usage errors surface once, at the top, in the CLI.
"""

from __future__ import annotations

from pathlib import Path


class BurstdError(Exception):
    """Something burstd could not do."""


class FileError(BurstdError):
    """A problem with one file: carries the file and a one-line reason for the user."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ImageError(FileError):
    """An image could not be read or decoded."""


class SidecarError(FileError):
    """A sidecar could not be read, parsed or replaced."""


class SidecarFolderError(SidecarError):
    """The sidecar's folder takes no new file (read-only, not writable, full): every sidecar there
    meets the same reason, so messages give it once per folder."""


class SidecarChangedError(SidecarError):
    """Another program changed the sidecar while burstd was writing it."""


class CacheError(BurstdError):
    """The analysis cache could not be opened or written."""


class ConfigError(BurstdError):
    """The settings are invalid; `problems` lists every problem found, not only the first."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems
