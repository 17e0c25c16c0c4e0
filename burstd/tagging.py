"""What burstd tells the photographer's editor beyond the rating: keywords and labels. Pure.

Every frame of a burst gets the hierarchical keyword `burstd|burst|<date> <burst id>`, and the pick
(rank 1) also `burstd|pick`, so a burst can be collapsed or filtered in darktable's collections, in
digiKam's tags or in Lightroom's keyword list. A photograph that is not part of a burst gets none of
those. Any frame where someone's eyes are closed (`RatedShot.eyes_closed`), in a burst or not, gets
`burstd|eyes-closed`, so that the photographer can filter them.
Optionally the pick gets a colour label (darktable), and picks and rejects a digiKam pick label.
The frames of a set get its kind in the keyword instead (`burstd|bracket|...`, `burstd|focus-stack|...`,
`burstd|panorama|...`) and `burstd:Kind`; a set kept whole has no pick.
"""

from __future__ import annotations

from datetime import datetime, timezone

from burstd.models import Burst, Colour, Kind, RatedBurst, RatedShot, ScanSettings, SidecarFields
from burstd.ranking import kept_whole

PICK_TAG = "burstd|pick"
EYES_CLOSED_TAG = "burstd|eyes-closed"
# darktable's label numbers: red 0, yellow 1, green 2, blue 3, purple 4, the order of `Colour`.
COLOURS: dict[Colour, int] = {colour: number for number, colour in enumerate(Colour)}
DIGIKAM_REJECTED, DIGIKAM_ACCEPTED = 1, 3


def burst_keyword(burst: Burst) -> str:
    """`burstd|burst|2026-11-24 IMG_0001-1a2b3c4d`: sorts by day, then by the burst's first frame. A
    set's keyword names its kind in place of `burst` (`burstd|panorama|2026-11-24 IMG_0007-...`).

    The day is that of the first frame with an EXIF capture time; a burst with none is `undated`
    (`burstd|burst|undated IMG_0001-1a2b3c4d`, listed after the dated ones): a file's mtime is the
    day it was copied, not the day it was taken. The burst id holds only letters, digits, `_`, `-`
    and `.` (see `grouping.burst_id`): never a comma, which darktable would cut the keyword at, nor
    a `|`, which would nest it.
    """
    moment = next((t for s in burst.shots if (t := s.analysis.known_time) is not None), None)
    try:
        day = "undated" if moment is None else datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        day = "undated"
    leaf = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in burst.id)
    return f"burstd|{burst.kind.value}|{day} {leaf}"


def sidecar_fields(rated: RatedBurst, member: RatedShot, settings: ScanSettings) -> SidecarFields:
    """Everything burstd writes to the sidecars of one member of a rated burst."""
    in_burst = len(rated.members) > 1
    pick = in_burst and member.rank == 1 and not kept_whole(rated.burst, settings.sets)
    tags: tuple[str, ...] = ()
    if settings.tags and in_burst:
        tags = (burst_keyword(rated.burst), PICK_TAG) if pick else (burst_keyword(rated.burst),)
    if settings.tags and member.eyes_closed:
        tags += (EYES_CLOSED_TAG,)
    colour = COLOURS[settings.pick_label] if settings.pick_label and pick else None
    pick_label = None
    if settings.digikam_pick_labels:
        pick_label = DIGIKAM_REJECTED if member.rating < 0 else DIGIKAM_ACCEPTED if pick else None
    kind = rated.burst.kind if in_burst and rated.burst.kind is not Kind.BURST else None
    return SidecarFields(
        member.rating, rated.burst.id, member.rank, len(rated.members), member.score, tags, colour, pick_label, kind
    )
