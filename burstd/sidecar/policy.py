"""What to do with one sidecar: exclude, keep a manual rating, leave unchanged, create, update, or
only plan (a dry run). Pure: it decides from values; `files.write_sidecar` reads the sidecar, asks,
and carries the decision out.

Two questions, as the writer meets them: `decide_unread` answers what can be known without reading
the sidecar (an excluded sidecar that exists, or a memo whose fingerprint still holds), `decide`
everything else from the sidecar's state as read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from burstd.models import SidecarAction, SidecarFields, SidecarOutcome
from burstd.sidecar.xmp import Plan, PlanAction, SidecarState, label_note, plan_sidecar

_NOTHING_TO_DO = Plan(PlanAction.UNCHANGED)


@dataclass(frozen=True)
class Decision:
    """The outcome to report for one sidecar, and the edit to make (or, in a dry run, to check)."""

    action: SidecarAction  # EXCLUDED, KEPT_MANUAL, UNCHANGED, PLANNED, CREATED or UPDATED
    plan: Plan = _NOTHING_TO_DO
    note: str = ""
    previous_rating: int | None = None

    @property
    def writes(self) -> bool:
        """Whether the sidecar is to be written now (not in a dry run, not when it is left alone)."""
        return self.action in (SidecarAction.CREATED, SidecarAction.UPDATED)

    @property
    def leaves_alone(self) -> bool:
        """Whether the sidecar is neither written nor planned: nothing of it needs checking further."""
        return self.action in (SidecarAction.EXCLUDED, SidecarAction.KEPT_MANUAL, SidecarAction.UNCHANGED)

    def outcome(self, path: Path) -> SidecarOutcome:
        return SidecarOutcome(path, self.action, self.note, self.previous_rating)


def decide_unread(
    fields: SidecarFields,
    *,
    exclude: bool,
    exists: bool,
    known: SidecarState | None,
    force: bool,
    darktable_rating: int | None = None,
) -> Decision | None:
    """The decision that needs no read of the sidecar; None when it must be read.

    `exists`: whether anything is at the sidecar's path (only asked with `exclude`); `known`: the
    state a memo remembers, while the sidecar's fingerprint still matches the memo's.
    """
    if exclude:
        # --exclude leaves every existing sidecar alone, even one burstd could not read.
        return Decision(SidecarAction.EXCLUDED) if exists else None
    if known is None:
        return None
    decision = decide(known, fields, force=force, dry_run=False, darktable_rating=darktable_rating)
    return decision if decision.leaves_alone else None


def decide(
    state: SidecarState | None,
    fields: SidecarFields,
    *,
    force: bool,
    dry_run: bool,
    darktable_rating: int | None = None,
) -> Decision:
    """What to do with a sidecar whose state is `state` (None: there is none yet). `darktable_rating`,
    the rating darktable gives at import, tells its untouched default from a rating set by hand."""
    plan = plan_sidecar(state, fields, force=force, darktable_rating=darktable_rating)
    previous = None if state is None else state.rating
    if plan.action is PlanAction.KEEP_MANUAL:
        return Decision(SidecarAction.KEPT_MANUAL, plan, previous_rating=previous)
    note = label_note(state, fields)
    if plan.action is PlanAction.UNCHANGED:
        return Decision(SidecarAction.UNCHANGED, plan, note, previous)
    if dry_run:
        return Decision(SidecarAction.PLANNED, plan, note, previous)
    return Decision(SidecarAction.CREATED if state is None else SidecarAction.UPDATED, plan, note, previous)
