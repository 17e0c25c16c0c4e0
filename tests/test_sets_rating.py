"""A set kept whole, on plain values: its rating, its members' order, its keyword and `burstd:Kind`,
the settings that say so, and the words that count it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from burstd.config.rules import validate_table
from burstd.models import Analysis, Burst, Kind, ScanSettings, SetPolicy, Shot, SidecarFields, TimeSource
from burstd.ranking import kept_whole, rate_group
from burstd.sidecar.xmp import KIND, PlanAction, SidecarState, owned_values, plan_sidecar
from burstd.tagging import PICK_TAG, sidecar_fields

T = 1_795_525_387.0  # 2026-11-24


def group(kind: Kind, sharpness: list[float]) -> Burst:
    shots = tuple(
        Shot(Path(f"DSC_{i:04d}.JPG"), Analysis(900, 600, T + i, TimeSource.EXIF, tiles=(s, s, s, s), grid=(2, 2)))
        for i, s in enumerate(sharpness)
    )
    return Burst(f"DSC_0000-{kind.value[:4]}", shots, kind)


@pytest.mark.parametrize("kind", [Kind.BRACKET, Kind.FOCUS_STACK, Kind.PANORAMA])
def test_a_kept_set_rates_every_frame_alike_in_shooting_order(kind: Kind) -> None:
    rated = rate_group(group(kind, [1.0, 9.0, 3.0, 0.5]), ScanSettings(max_rank=4, reject_below=0.5))
    assert [m.shot.primary.name for m in rated.members] == ["DSC_0000.JPG", "DSC_0001.JPG", "DSC_0002.JPG", "DSC_0003.JPG"]
    assert [(m.rank, m.rating, m.tied_to) for m in rated.members] == [(1, 4, None), (2, 4, None), (3, 4, None), (4, 4, None)]
    assert [round(m.score, 3) for m in rated.members] == [0.111, 1.0, 0.333, 0.056]  # still shown, deciding nothing
    fields = [sidecar_fields(rated, m, ScanSettings(pick_label="green", digikam_pick_labels=True)) for m in rated.members]
    assert {f.kind for f in fields} == {kind}
    assert all(f.tags == (f"burstd|{kind.value}|2026-11-24 {rated.burst.id}",) for f in fields)  # no burstd|pick
    assert {(f.color_label, f.pick_label) for f in fields} == {(None, None)}
    assert {m.rating for m in rate_group(rated.burst, ScanSettings(set_rating=1)).members} == {1}


def test_sets_rank_ranks_a_set_like_a_burst_and_it_keeps_its_kind() -> None:
    settings = ScanSettings(sets=SetPolicy.RANK)
    rated = rate_group(group(Kind.BRACKET, [1.0, 9.0, 3.0]), settings)
    assert [(m.shot.primary.name, m.rating) for m in rated.members] == [("DSC_0001.JPG", 3), ("DSC_0002.JPG", 2), ("DSC_0000.JPG", 1)]
    pick = sidecar_fields(rated, rated.members[0], settings)
    assert pick.tags == (f"burstd|bracket|2026-11-24 {rated.burst.id}", PICK_TAG) and pick.kind is Kind.BRACKET


def test_bursts_and_single_shots_carry_no_kind() -> None:
    burst = rate_group(group(Kind.BURST, [1.0, 9.0]), ScanSettings())
    assert not kept_whole(burst.burst, SetPolicy.KEEP)
    assert [sidecar_fields(burst, m, ScanSettings()).kind for m in burst.members] == [None, None]
    assert burst.members[0].shot.primary.name == "DSC_0001.JPG"  # sharpest first
    single = rate_group(group(Kind.BURST, [1.0]), ScanSettings())
    assert sidecar_fields(single, single.members[0], ScanSettings()) == SidecarFields(3, single.burst.id, 1, 1, 1.0)


def test_burstd_kind_is_written_for_sets_and_taken_back_from_bursts() -> None:
    fields = SidecarFields(3, "DSC_0000-brac", 2, 3, 0.5, kind=Kind.BRACKET)
    created = plan_sidecar(None, fields, force=False)
    assert created.action is PlanAction.CREATE and created.updates[KIND] == "bracket"
    written = SidecarState(3, 3, {**owned_values(fields), KIND: "bracket"})
    assert plan_sidecar(written, fields, force=False).action is PlanAction.UNCHANGED
    as_burst = plan_sidecar(written, replace(fields, kind=None), force=False)
    assert as_burst.action is PlanAction.UPDATE and as_burst.removals == (KIND,)


def test_sets_and_set_rating_are_checked_like_every_key() -> None:
    values, problems = validate_table({"sets": "rank", "set_rating": "max_rank"}, "f.toml", is_global=False)
    assert values == {"sets": SetPolicy.RANK, "set_rating": None} and not problems
    _, problems = validate_table({"sets": "ranked", "set_rating": -1}, "f.toml", is_global=False)
    assert problems == [
        "f.toml: key 'sets': expected \"keep\" or \"rank\", got \"ranked\"",
        "f.toml: key 'set_rating': expected an integer 0 to 5, or \"max_rank\", got -1",
    ]
