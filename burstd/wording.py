"""The words of burstd's messages, in one place. Pure: counts in, text out.

The vocabulary, the same in every command's text, `--json`, `burstd status` and the daemon's log:
a *burst* is two or more shots of one moment; a *single shot* is a shot in no burst; *groups* means
both, when both are meant (what grouping yields, one row each on the review page). A *shot* is one
photograph, which may be two image files (a RAW and its JPEG). A later kind of group (exposure
brackets, focus stacks, panoramas: *sets*) gets its word and its count here, beside these.

`counted` puts the right plural after every count (`1 burst`, `2 bursts`); `failure_lines` folds a
batch's failures so that a cause shared by a whole folder (a write-protected card) is one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from burstd.models import FileProblem, PickReason, RatedBurst, RegionKind, SidecarOutcome

# Where sharpness was measured (`RegionKind`), as a phrase after "sharpest".
REGION_WORDS: dict[RegionKind, str] = {
    RegionKind.FACES: "on the faces",
    RegionKind.FOCUS_POINT: "at the camera's focus point",
    RegionKind.MOVING_SUBJECT: "on the moving subject",
    RegionKind.SHARPEST_TILES: "where the burst is sharpest",
}


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`n` and the word that goes with it: `1 burst`, `0 bursts`, `2 entries` (with `plural`)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """How a folder's shots fell into groups."""

    shots: int = 0
    bursts: int = 0  # groups of two or more shots
    single_shots: int = 0

    @property
    def groups(self) -> int:
        return self.bursts + self.single_shots

    def __str__(self) -> str:
        """`23 shots in 7 bursts and 16 single shots`."""
        return f"{counted(self.shots, 'shot')} in {counted(self.bursts, 'burst')} and {counted(self.single_shots, 'single shot')}"


def group_counts(sizes: Iterable[int]) -> GroupCounts:
    """The counts of groups of these sizes (shots per group)."""
    sizes = list(sizes)
    bursts = sum(1 for n in sizes if n > 1)
    return GroupCounts(shots=sum(sizes), bursts=bursts, single_shots=len(sizes) - bursts)


def groups_phrase(bursts: int, single_shots: int | None) -> str:
    """`7 bursts, 16 single shots`; a session recorded before the two were told apart (None) counted
    its groups only."""
    if single_shots is None:
        return counted(bursts, "group")
    return f"{counted(bursts, 'burst')}, {counted(single_shots, 'single shot')}"


def session_summary(s: Mapping) -> str:
    """What a finished session did (a row of the sessions table, or a `SessionRecord` as a dict):
    `burstd status` lists it and the daemon logs it in these same words."""
    return (
        f"{counted(s['files'], 'file')}, {groups_phrase(s['bursts'], s.get('single_shots'))}, "
        f"{counted(s['written'], 'sidecar')} written, {counted(s['kept_manual'], 'manual rating')} kept, "
        f"{counted(s['errors'], 'error')}, {s['seconds']:.1f} s"
    )


def failure_lines(problems: Sequence[FileProblem], failed: Sequence[SidecarOutcome]) -> list[tuple[Path, str]]:
    """What went wrong, as (what it is about, why) pairs, one per line of output.

    Files that could not be read are listed one by one: each is its own problem. Sidecars that could
    not be written for a reason of their folder's (read-only, full) are one line per folder and
    reason, with their count; those that failed for a reason of their own are listed one by one.
    """
    lines = [(p.path, p.reason) for p in problems]
    shared: dict[tuple[Path, str], list[SidecarOutcome]] = {}
    for outcome in failed:
        if outcome.folder_wide:
            shared.setdefault((outcome.path.parent, outcome.reason), []).append(outcome)
        else:
            lines.append((outcome.path, outcome.reason))
    for (folder, reason), outcomes in shared.items():
        if len(outcomes) == 1:
            lines.append((outcomes[0].path, reason))
        else:
            lines.append((folder, f"{counted(len(outcomes), 'sidecar')} not written: {reason}"))
    return lines


def problems_phrase(unreadable: int, not_written: int) -> str:
    """The end of a summary: what failed, told apart (`1 file could not be read, 106 sidecars could
    not be written`), or `no errors`."""
    parts = []
    if unreadable:
        parts.append(f"{counted(unreadable, 'file')} could not be read")
    if not_written:
        parts.append(f"{counted(not_written, 'sidecar')} could not be written")
    return ", ".join(parts) or "no errors"


def pick_why(rated: RatedBurst) -> str:
    """Why the pick of a rated burst won, in one phrase: `sharpest on the faces`, or `every eye open,
    while 2 sharper frames had closed eyes; the sharpest of the others on the faces`."""
    pick = rated.members[0]
    where = REGION_WORDS[pick.region.kind]
    if rated.pick_reason is PickReason.SINGLE_SHOT:
        return "a single shot: nothing to compare"
    if rated.pick_reason is PickReason.EYES_OPEN:
        sharper = sum(1 for m in rated.members if m.eyes_closed and m.score > pick.score)
        return (f"every eye open, while {counted(sharper, 'sharper frame')} had closed eyes; "
                f"the sharpest of the others {where}")
    return f"sharpest {where}"
