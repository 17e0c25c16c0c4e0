"""What `burstd undo` should do with each sidecar, decided from the journal and the files' digests.

Pure: journal entries and sha256 digests in, a plan out; no disk, no database. Every sidecar write
burstd makes is journaled *before* it happens (the previous bytes, or none when burstd created the
file, and the digest of the bytes it is about to write), so an entry may describe a write that never
landed (a crash, a failed write). The digests settle every case: walking a sidecar's entries newest
first, a file that holds what burstd wrote steps back to what was there before; a file that holds
what was there before means that write never happened (or was undone); anything else means someone
changed the file since, and from there on it is the photographer's and is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One sidecar write burstd made (or was about to make) in a session."""

    id: int  # grows with time: a higher id is a later write
    session: int
    path: Path  # the sidecar, absolute
    previous_sha256: str | None  # None: there was no sidecar, burstd created it
    written_sha256: str


class UndoAction(StrEnum):
    RESTORE = "restored"  # put the previous bytes back
    REMOVE = "removed"  # burstd created the sidecar: delete it
    ALREADY = "unchanged"  # the file already is as it was before burstd (the write never landed)
    KEEP = "kept"  # changed since burstd wrote it: the photographer's now, left as it is
    BLOCKED = "blocked"  # a later burstd session changed it too: undo that one first


class EntryOutcome(StrEnum):
    """What became of one journal entry once its sidecar was dealt with."""

    UNDONE = "undone"
    NOT_APPLIED = "not-applied"  # the file never held (or no longer held) what this write wrote
    KEPT = "kept"  # changed since: this write can no longer be undone


CHANGED_SINCE = "changed since burstd wrote it (by you or another program), so it stays as it is"
DELETED_SINCE = "deleted since burstd wrote it; not recreated"
EDITED_BETWEEN = "as it was before session {session}: it had been changed after earlier burstd sessions, whose changes stay"


@dataclass(frozen=True, slots=True)
class SidecarUndo:
    """The plan for one sidecar.

    For RESTORE and REMOVE, `source` is the entry whose previous bytes go back (None for REMOVE's
    bytes) and `expected_sha256` what the file must still hold when it is replaced.
    """

    path: Path
    action: UndoAction
    sessions: tuple[int, ...]  # the sessions whose changes this undoes (or would)
    settled: tuple[tuple[int, EntryOutcome], ...] = ()  # journal entries to mark, with what became of them
    source: JournalEntry | None = None
    expected_sha256: str | None = None
    reason: str = ""


def sha256(data: bytes | None) -> str | None:
    """The digest the journal keeps for a sidecar's bytes; None for no file at all."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def plan_undo(
    entries: Iterable[JournalEntry], selected: Iterable[int], current: Mapping[Path, str | None]
) -> list[SidecarUndo]:
    """One plan per sidecar with a selected entry.

    `entries`: every entry not yet undone of those sidecars (selected or not); `selected`: the ids
    to undo; `current`: each sidecar's digest now (None: absent). Sidecars whose digest could not
    be read are left out of `current` and get no plan.
    """
    chosen = set(selected)
    by_path: dict[Path, list[JournalEntry]] = {}
    for entry in entries:
        by_path.setdefault(entry.path, []).append(entry)
    plans = []
    for path in sorted(by_path):
        history = sorted(by_path[path], key=lambda e: e.id, reverse=True)
        if path in current and any(e.id in chosen for e in history):
            plans.append(_plan_one(path, history, chosen, current[path]))
    return plans


def _plan_one(path: Path, history: list[JournalEntry], chosen: set[int], now: str | None) -> SidecarUndo:
    sessions = tuple(sorted({e.session for e in history if e.id in chosen}))
    state = now
    settled: list[tuple[int, EntryOutcome]] = []
    source: JournalEntry | None = None
    for entry in history:
        if state == entry.written_sha256:
            if entry.id not in chosen:
                if source is None:  # a later session's write is what the file holds now
                    return SidecarUndo(path, UndoAction.BLOCKED, sessions,
                                       reason=f"changed again by burstd session {entry.session}; undo that one first")
                break
            settled.append((entry.id, EntryOutcome.UNDONE))
            state, source = entry.previous_sha256, entry
        elif state == entry.previous_sha256:
            if entry.id in chosen:
                settled.append((entry.id, EntryOutcome.NOT_APPLIED))
        else:
            # Changed by someone else after this write: this one and every older one are theirs now.
            settled += [(e.id, EntryOutcome.KEPT) for e in history if e.id in chosen and e.id <= entry.id]
            if source is None:
                reason = DELETED_SINCE if state is None else CHANGED_SINCE
                return SidecarUndo(path, UndoAction.KEEP, sessions, tuple(settled), reason=reason)
            break
    if source is None:
        return SidecarUndo(path, UndoAction.ALREADY, sessions, tuple(settled))
    action = UndoAction.REMOVE if source.previous_sha256 is None else UndoAction.RESTORE
    older_kept = any(outcome is EntryOutcome.KEPT for _, outcome in settled)
    reason = EDITED_BETWEEN.format(session=source.session) if older_kept else ""
    return SidecarUndo(path, action, sessions, tuple(settled), source, now, reason)
