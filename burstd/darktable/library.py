"""darktable's `library.db`: the one query burstd makes of another program's database.

Opened read-only and immutable, so darktable is never waited on or blocked, and never changed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def film_rolls(library: Path) -> list[str]:
    """The folders darktable's `library.db` has imported; [] when it cannot be read."""
    try:
        db = sqlite3.connect(f"{library.resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=0.5)
    except (sqlite3.Error, OSError):
        return []
    try:
        return [row[0] for row in db.execute("SELECT folder FROM film_rolls") if isinstance(row[0], str)]
    except sqlite3.Error:
        return []
    finally:
        db.close()
