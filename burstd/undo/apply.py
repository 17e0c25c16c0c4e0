"""`burstd undo`: put sidecars back as they were before burstd changed them.

The flow, in one function: the journal entries to undo (of the sidecars under a folder, or of one
session) come from the database (`store.sessions`), each sidecar's digest now from the disk, the
decision from `undo/plan.py` (pure), and the restore or removal from the `sidecar` package, the only
writer of sidecars. The previous bytes live in the database, never as backup files beside the photos.
A problem with one sidecar is reported with the file and the reason, and the rest goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from burstd.errors import SidecarError
from burstd.sidecar.files import current_digest, read_sidecar, restore_sidecar
from burstd.sidecar.xmp import burstd_traces
from burstd.store import Store
from burstd.undo.plan import CHANGED_SINCE, SidecarUndo, UndoAction, plan_undo

FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    path: Path
    action: str  # an UndoAction value, or FAILED
    sessions: tuple[int, ...]
    reason: str = ""


@dataclass(slots=True)
class UndoReport:
    dry_run: bool
    outcomes: list[UndoOutcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Some sidecar was kept, blocked or could not be restored: the photographer should look."""
        return any(o.action in (UndoAction.KEEP, UndoAction.BLOCKED, FAILED) for o in self.outcomes)


def undo(store: Store, *, folder: Path | None = None, session: int | None = None, dry_run: bool = False) -> UndoReport:
    """Undo every journaled change to the sidecars under `folder` (any depth) and/or of `session`,
    newest first, as far back as each sidecar still holds what burstd wrote."""
    report = UndoReport(dry_run)
    selected = store.sessions.journal_pending(folder, session)
    paths = sorted({e.path for e in selected})
    current: dict[Path, str | None] = {}
    for path in paths:
        try:
            current[path] = current_digest(path)
        except SidecarError as err:
            report.outcomes.append(UndoOutcome(path, FAILED, _sessions(selected, path), err.reason))
    entries = store.sessions.journal_pending_of(paths) if session is not None else selected
    for plan in plan_undo(entries, (e.id for e in selected), current):
        report.outcomes.append(_carry_out(store, plan, dry_run))
    report.outcomes.sort(key=lambda o: o.path)
    return report


def _carry_out(store: Store, plan: SidecarUndo, dry_run: bool) -> UndoOutcome:
    reason = plan.reason + (_left_in(plan.path) if plan.reason == CHANGED_SINCE else "")
    outcome = UndoOutcome(plan.path, plan.action.value, plan.sessions, reason)
    if dry_run or plan.action is UndoAction.BLOCKED:
        return outcome
    if plan.source is not None and plan.expected_sha256 is not None:  # RESTORE or REMOVE
        previous = None if plan.action is UndoAction.REMOVE else store.sessions.journal_previous(plan.source.id)
        try:
            restore_sidecar(plan.path, previous, plan.expected_sha256)
        except SidecarError as err:
            return UndoOutcome(plan.path, FAILED, plan.sessions, err.reason)
    with store.transaction():  # one commit: the entries settled and the memo forgotten, or neither
        store.sessions.settle_journal(plan.settled)
        store.memos.forget([plan.path])  # so the next scan reads the sidecar afresh
    return outcome


def _left_in(path: Path) -> str:
    """What of burstd's a sidecar kept as the photographer's still holds: undo leaves it there too,
    as taking it out would mean editing their file (README, "Undo")."""
    try:
        state = read_sidecar(path)
    except SidecarError:
        return ""  # it cannot be read, so nothing can be said of it
    traces = () if state is None else burstd_traces(state)
    return f"; burstd's fields are still in it: {'; '.join(traces)}" if traces else ""


def _sessions(entries: list, path: Path) -> tuple[int, ...]:
    return tuple(sorted({e.session for e in entries if e.path == path}))
