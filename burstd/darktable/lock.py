"""Whether darktable is open on its library right now, and which watched folders it has imported.

darktable holds `library.db.lock` (its PID, as text) in its config folder while it runs. Once an image
is in its library, darktable's database wins over later sidecar changes: new ratings and keywords
for images it has already imported show only after it re-reads their sidecars. `burstd status`
warns about that. Read-only: the lock file and, when present, `library.db` opened read-only and
immutable through `library.film_rolls` (darktable is never waited on or blocked).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from burstd.config.files import config_home
from burstd.darktable.library import film_rolls
from burstd.paths import root_of

ADVICE = (
    "images darktable has already imported keep the ratings in its database until it re-reads their "
    "sidecars: enable preferences > storage > xmp > 'look for updated XMP files on startup', restart "
    "darktable and choose 'keep the XMP edit' for them (or let burstd finish before importing)"
)


@dataclass(frozen=True, slots=True)
class DarktableState:
    config_dir: Path
    pid: int | None  # darktable's PID while it holds its library lock, else None
    imported: tuple[str, ...] = ()  # watched folders (or folders below them) in its library


def default_config_dir() -> Path:
    """`$XDG_CONFIG_HOME/darktable`, `~/.config/darktable` by default (where darktable keeps library.db)."""
    return config_home() / "darktable"


def inspect(config_dir: Path, roots: tuple[Path, ...] = ()) -> DarktableState:
    """What darktable is doing with the library in `config_dir`; never raises for a missing or odd folder."""
    pid = _lock_holder(config_dir / "library.db.lock")
    if pid is None:
        return DarktableState(config_dir, None)
    return DarktableState(config_dir, pid, _imported_under(config_dir / "library.db", roots))


def _lock_holder(lock: Path) -> int | None:
    try:
        text = lock.read_text(encoding="ascii", errors="replace")[:32]
    except OSError:
        return None
    try:
        pid = int(text.strip("\x00 \t\r\n"))  # darktable 4.2 writes the PID and a NUL byte
    except ValueError:
        return None
    return pid if pid > 0 and process_alive(pid) else None  # else a stale lock: darktable crashed or was killed


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (any user's); one that has exited but not been collected does not.

    Also how `burstd status` tells whether the daemon runs.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal said enough
    return not stat[stat.rfind(")") + 2 :].startswith("Z")  # a zombie: exited, its parent has not reaped it


def _imported_under(library: Path, roots: tuple[Path, ...]) -> tuple[str, ...]:
    if not roots or not library.is_file():
        return ()
    folders = film_rolls(library)
    return tuple(sorted(f for f in folders if root_of(Path(f), roots) is not None))
