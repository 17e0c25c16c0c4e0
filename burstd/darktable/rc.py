"""darktable's own settings that burstd's rules depend on, read from its `darktablerc`.

darktable gives every image it imports a rating, 1 star unless the photographer changed
"initial rating" in its import module (`ui_last/import_initial_rating`), and writes it into the
sidecar it creates. burstd must know that number to tell darktable's untouched import default from a
rating set by hand (`burstd.sidecar.xmp.is_import_default`). `darktablerc` holds only the settings
changed from darktable's defaults, and is written when darktable quits.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_IMPORT_RATING = 1  # darktable's own default, when darktablerc does not set one
IMPORT_RATING_KEY = "ui_last/import_initial_rating"


def import_rating(config_dir: Path) -> int:
    """The rating darktable gives an image at import, as the darktablerc in `config_dir` sets it."""
    try:
        text = (config_dir / "darktablerc").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return DEFAULT_IMPORT_RATING
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == IMPORT_RATING_KEY:
            try:
                rating = int(value.strip())
            except ValueError:
                return DEFAULT_IMPORT_RATING
            return rating if 0 <= rating <= 5 else DEFAULT_IMPORT_RATING
    return DEFAULT_IMPORT_RATING
