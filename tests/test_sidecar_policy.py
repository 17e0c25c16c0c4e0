"""What to do with one sidecar, decided from plain values (`burstd.sidecar.policy`): no files."""

from __future__ import annotations

import pytest

from burstd.models import SidecarAction, SidecarFields
from burstd.sidecar import xmp
from burstd.sidecar.policy import decide, decide_unread
from burstd.sidecar.xmp import PlanAction, SidecarState

A = SidecarAction
FIELDS = SidecarFields(rating=3, burst_id="b-0001", rank=1, burst_size=5, sharpness=0.87654)
OURS = SidecarState(3, 3, values=xmp.owned_values(FIELDS))  # exactly what burstd would write
MANUAL = SidecarState(5, 3, values={**xmp.owned_values(FIELDS), xmp.RATING: "5"})  # re-rated by hand
STALE = SidecarState(2, 2, values={xmp.RATING: "2", xmp.BURSTD_RATING: "2"})  # burstd's older rating
LABELLED = SidecarState(None, None, values={xmp.LABEL: "Red"})


@pytest.mark.parametrize(
    ("state", "force", "dry_run", "action", "plan", "previous"),
    [
        (None, False, False, A.CREATED, PlanAction.CREATE, None),
        (None, False, True, A.PLANNED, PlanAction.CREATE, None),
        (OURS, False, False, A.UNCHANGED, PlanAction.UNCHANGED, 3),
        (OURS, True, True, A.UNCHANGED, PlanAction.UNCHANGED, 3),
        (MANUAL, False, False, A.KEPT_MANUAL, PlanAction.KEEP_MANUAL, 5),
        (MANUAL, False, True, A.KEPT_MANUAL, PlanAction.KEEP_MANUAL, 5),
        (MANUAL, True, False, A.UPDATED, PlanAction.UPDATE, 5),
        (STALE, False, False, A.UPDATED, PlanAction.UPDATE, 2),
        (STALE, False, True, A.PLANNED, PlanAction.UPDATE, 2),
    ],
)
def test_decide(state: SidecarState | None, force: bool, dry_run: bool, action: A, plan: PlanAction,
                previous: int | None) -> None:
    decision = decide(state, FIELDS, force=force, dry_run=dry_run)
    assert (decision.action, decision.plan.action, decision.previous_rating) == (action, plan, previous)
    assert decision.writes == (action in (A.CREATED, A.UPDATED))
    assert decision.leaves_alone == (action in (A.UNCHANGED, A.KEPT_MANUAL))


def test_a_colour_label_darktable_will_not_show_is_noted() -> None:
    fields = SidecarFields(rating=3, burst_id="b", rank=1, burst_size=2, sharpness=1.0, color_label=1)
    decision = decide(LABELLED, fields, force=False, dry_run=False)
    assert decision.action is A.UPDATED and "xmp:Label 'Red'" in decision.note
    assert decide(LABELLED, FIELDS, force=False, dry_run=False).note == ""


@pytest.mark.parametrize(
    ("exclude", "exists", "known", "action"),
    [
        (True, True, None, A.EXCLUDED),
        (True, True, OURS, A.EXCLUDED),
        (True, False, None, None),  # nothing to exclude: it is created like any other
        (False, True, OURS, A.UNCHANGED),  # the memo still holds: no read
        (False, True, MANUAL, A.KEPT_MANUAL),
        (False, True, STALE, None),  # a write is due: read the sidecar first, as it is now
        (False, True, None, None),  # no memo, or its fingerprint no longer holds
    ],
)
def test_decide_unread(exclude: bool, exists: bool, known: SidecarState | None, action: A | None) -> None:
    decision = decide_unread(FIELDS, exclude=exclude, exists=exists, known=known, force=False)
    assert (decision and decision.action) == action


def test_force_never_keeps_a_remembered_manual_rating_unread() -> None:
    assert decide_unread(FIELDS, exclude=False, exists=True, known=MANUAL, force=True) is None
