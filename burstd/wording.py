"""The words of burstd's messages, in one place. Pure: counts in, text out.

The vocabulary, the same in every command's text, `--json`, `burstd status` and the daemon's log:
a *burst* is two or more shots of one moment; a *single shot* is a shot in no burst; *groups* means
both, when both are meant (what grouping yields, one row each on the review page). A *shot* is one
photograph, which may be two image files (a RAW and its JPEG). The other kinds of group, *sets*
shot to be merged later, are *brackets* (exposure brackets), *focus stacks* and *panoramas*; they
are named only where there are some: `2 bursts, 1 bracket, 1 panorama, 5 single shots`.

`counted` puts the right plural after every count (`1 burst`, `2 bursts`); `failure_lines` folds a
batch's failures so that a cause shared by a whole folder (a write-protected card) is one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from burstd.models import FileProblem, Kind, PickReason, RatedBurst, RegionKind, SidecarOutcome

# The word of each kind of group of two or more shots, in the order messages list them.
KIND_WORDS: dict[Kind, str] = {
    Kind.BURST: "burst", Kind.BRACKET: "bracket", Kind.FOCUS_STACK: "focus stack", Kind.PANORAMA: "panorama",
}
KIND_PLURALS: dict[Kind, str] = {kind: word + "s" for kind, word in KIND_WORDS.items()}

# Where sharpness was measured (`RegionKind`), as a phrase after "sharpest".
REGION_WORDS: dict[RegionKind, str] = {
    RegionKind.FACES: "on the faces",
    RegionKind.FOCUS_POINT: "at the camera's focus point",
    RegionKind.MOVING_SUBJECT: "on the moving subject",
    RegionKind.SHARPEST_TILES: "over the burst's sharpest quarter of the frame",
}


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`n` and the word that goes with it: `1 burst`, `0 bursts`, `2 entries` (with `plural`)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """How a folder's shots fell into groups."""

    shots: int = 0
    bursts: int = 0  # bursts of two or more shots
    single_shots: int = 0
    brackets: int = 0  # the sets: exposure brackets, focus stacks, panoramas
    focus_stacks: int = 0
    panoramas: int = 0

    @property
    def groups(self) -> int:
        return self.bursts + self.single_shots + self.brackets + self.focus_stacks + self.panoramas

    def __str__(self) -> str:
        """`23 shots in 7 bursts and 16 single shots`; `... in 7 bursts, 1 bracket and 16 single shots`."""
        kinds = kinds_phrase(self.bursts, self.brackets, self.focus_stacks, self.panoramas).split(", ")
        return f"{counted(self.shots, 'shot')} in {', '.join(kinds)} and {counted(self.single_shots, 'single shot')}"


def group_counts(groups: Iterable[tuple[int, Kind]]) -> GroupCounts:
    """The counts of groups of these sizes (shots per group) and kinds; a group of one is a single shot."""
    groups = list(groups)
    of_kind = {kind: sum(1 for n, k in groups if n > 1 and k is kind) for kind in Kind}
    return GroupCounts(
        shots=sum(n for n, _ in groups), bursts=of_kind[Kind.BURST], single_shots=sum(1 for n, _ in groups if n == 1),
        brackets=of_kind[Kind.BRACKET], focus_stacks=of_kind[Kind.FOCUS_STACK], panoramas=of_kind[Kind.PANORAMA],
    )


def kinds_phrase(bursts: int, brackets: int = 0, focus_stacks: int = 0, panoramas: int = 0) -> str:
    """`7 bursts`, `2 bursts, 1 bracket, 1 panorama`: the bursts always, each kind of set when there are some."""
    parts = [counted(bursts, "burst")]
    for n, kind in ((brackets, Kind.BRACKET), (focus_stacks, Kind.FOCUS_STACK), (panoramas, Kind.PANORAMA)):
        if n:
            parts.append(counted(n, KIND_WORDS[kind]))
    return ", ".join(parts)


def groups_phrase(bursts: int, single_shots: int | None, brackets: int = 0, focus_stacks: int = 0, panoramas: int = 0) -> str:
    """`7 bursts, 16 single shots`, `2 bursts, 1 bracket, 1 panorama, 5 single shots`; a session
    recorded before bursts and single shots were told apart (None) counted its groups only."""
    if single_shots is None:
        return counted(bursts, "group")
    return f"{kinds_phrase(bursts, brackets, focus_stacks, panoramas)}, {counted(single_shots, 'single shot')}"


def session_summary(s: Mapping) -> str:
    """What a finished session did (a row of the sessions table, or a `SessionRecord` as a dict):
    `burstd status` lists it and the daemon logs it in these same words."""
    return (
        f"{counted(s['files'], 'file')}, "
        f"{groups_phrase(s['bursts'], s.get('single_shots'), *(s.get(k) or 0 for k in ('brackets', 'focus_stacks', 'panoramas')))}, "
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
    if rated.pick_reason is PickReason.KEPT_WHOLE:
        return "kept whole: every frame rated alike, no pick"
    if rated.pick_reason is PickReason.EYES_OPEN:
        sharper = sum(1 for m in rated.members if m.eyes_closed and m.score > pick.score)
        return (f"every eye open, while {counted(sharper, 'sharper frame')} had closed eyes; "
                f"the sharpest of the others {where}")
    return f"sharpest {where}"
