"""Grouping on plain values: bodies, time gaps, lenses, pans, the adaptive threshold."""

from __future__ import annotations

import random
from pathlib import Path

from burstd.grouping import GroupingParams, group_bursts, otsu_cut
from burstd.models import Analysis, Shot, TimeSource

BASE = 0x9F3C_5A17_E2D4_0B68


def flip(h: int, bits: int, seed: int) -> int:
    """`h` with `bits` distinct random bits flipped: a hash at a known distance."""
    for b in random.Random(seed).sample(range(64), bits):
        h ^= 1 << b
    return h


def shot(name: str, t: float, h: int, *, body: str = "Nikon", lens: str = "24-70", exif: bool = True) -> Shot:
    return Shot(
        Path(name),
        Analysis(0, 0, t, TimeSource.EXIF if exif else TimeSource.MTIME, make=body, model="Z", lens=lens, phash=h, dhash=h),
    )


def names(bursts) -> list[list[str]]:
    return [[s.primary.name for s in b.shots] for b in bursts]


def test_similar_shots_close_in_time_form_one_burst() -> None:
    shots = [shot(f"{i}.jpg", i * 0.1, flip(BASE, 3, i)) for i in range(5)]
    assert names(group_bursts(shots, GroupingParams())) == [[f"{i}.jpg" for i in range(5)]]


def test_scene_change_time_gap_and_lens_cut() -> None:
    other = flip(BASE, 32, 99)
    shots = [
        shot("1.jpg", 0.0, BASE), shot("2.jpg", 0.1, flip(BASE, 2, 1)),
        shot("3.jpg", 1.1, other),  # a new scene one second later
        shot("4.jpg", 1.2, flip(other, 2, 2)),
        shot("5.jpg", 300.0, flip(other, 1, 3)),  # the same subject minutes later
        shot("6.jpg", 300.1, flip(other, 1, 4), lens="70-200"),  # another lens
    ]
    assert names(group_bursts(shots, GroupingParams())) == [["1.jpg", "2.jpg"], ["3.jpg", "4.jpg"], ["5.jpg"], ["6.jpg"]]


def test_bodies_are_split_even_when_interleaved() -> None:
    shots = [shot(f"a{i}.jpg", i * 0.2, flip(BASE, 2, i), body="Nikon") for i in range(3)]
    shots += [shot(f"b{i}.jpg", i * 0.2 + 0.1, flip(BASE, 2, 10 + i), body="Canon") for i in range(3)]
    assert sorted(names(group_bursts(shots, GroupingParams()))) == [["a0.jpg", "a1.jpg", "a2.jpg"], ["b0.jpg", "b1.jpg", "b2.jpg"]]


def test_capture_time_orders_shots_and_names_break_ties() -> None:
    shots = [shot("IMG_10.jpg", 1.0, BASE), shot("IMG_9.jpg", 1.0, BASE), shot("IMG_2.jpg", 0.5, BASE)]
    assert names(group_bursts(shots, GroupingParams())) == [["IMG_2.jpg", "IMG_9.jpg", "IMG_10.jpg"]]


def test_without_exif_time_names_give_the_order_and_time_never_cuts() -> None:
    shots = [shot(f"step{i}.jpg", 1000.0 - i * 100, flip(BASE, 2, i), exif=False) for i in range(4)]
    assert names(group_bursts(shots, GroupingParams())) == [[f"step{i}.jpg" for i in range(4)]]


def test_a_slow_pan_does_not_chain_into_one_burst() -> None:
    # Each frame differs from the previous by 6 bits, drifting steadily away from the first.
    h, shots = BASE, []
    bits = list(range(64))
    random.Random(7).shuffle(bits)
    for i in range(10):
        shots.append(shot(f"{i}.jpg", i * 0.2, h))
        for b in bits[i * 6 : i * 6 + 6]:
            h ^= 1 << b
    bursts = group_bursts(shots, GroupingParams(threshold=0.85))
    assert len(bursts) > 1
    assert all(len(b.shots) <= 5 for b in bursts)


def test_adaptive_threshold_separates_bursts_from_scene_changes() -> None:
    shots, t = [], 0.0
    for scene in range(6):
        h = flip(BASE, 30, 100 + scene)
        for i in range(4):
            shots.append(shot(f"{scene}-{i}.jpg", t, flip(h, 4, scene * 10 + i)))
            t += 0.15
    assert [len(b.shots) for b in group_bursts(shots, GroupingParams())] == [4] * 6


def test_otsu_cut_needs_two_classes() -> None:
    assert otsu_cut(__import__("numpy").array([0.9, 0.91, 0.92, 0.93])) is None
    cut = otsu_cut(__import__("numpy").array([0.95, 0.97, 0.96, 0.55, 0.6, 0.98]))
    assert 0.6 < cut < 0.95


def test_regroup_keeps_earlier_bursts_and_regroups_only_the_tail() -> None:
    from burstd.grouping import regroup

    other = flip(BASE, 32, 5)
    first = [shot(f"{i}.jpg", i * 0.1, flip(BASE, 2, i)) for i in range(3)]
    second = [shot(f"{i}.jpg", 10 + i * 0.1, flip(other, 2, i)) for i in range(3, 6)]
    bursts, kept = regroup(first + second, GroupingParams(), ())
    assert names(bursts) == [["0.jpg", "1.jpg", "2.jpg"], ["3.jpg", "4.jpg", "5.jpg"]] and not kept
    previous = [[str(s.primary) for s in b.shots] for b in bursts]
    # More frames of the second scene arrive: the first burst is kept, the second regrouped.
    later = [shot(f"{i}.jpg", 10 + i * 0.1, flip(other, 2, i)) for i in range(6, 8)]
    bursts2, kept2 = regroup(first + second + later, GroupingParams(), previous)
    assert names(bursts2) == [["0.jpg", "1.jpg", "2.jpg"], ["3.jpg", "4.jpg", "5.jpg", "6.jpg", "7.jpg"]]
    assert kept2 == {bursts[0].id}


def test_regroup_from_the_first_affected_burst() -> None:
    from burstd.grouping import regroup

    scenes = [flip(BASE, 32, 10 + k) for k in range(3)]
    shots = [shot(f"{k}{i}.jpg", k * 60 + i * 0.1, flip(scenes[k], 2, i)) for k in range(3) for i in range(3)]
    bursts, _ = regroup(shots, GroupingParams(), ())
    previous = [[str(s.primary) for s in b.shots] for b in bursts]
    # A late copy sorts into the middle burst; a frame of the first burst was deleted.
    late = shot("1x.jpg", 60.15, flip(scenes[1], 2, 9))
    remaining = [s for s in shots if s.primary.name != "01.jpg"] + [late]
    bursts2, kept = regroup(remaining, GroupingParams(), previous)
    assert names(bursts2) == [["00.jpg", "02.jpg"], ["10.jpg", "11.jpg", "1x.jpg", "12.jpg"], ["20.jpg", "21.jpg", "22.jpg"]]
    assert kept == frozenset()  # the first burst lost a frame: everything after it was regrouped
    # Nothing new at all: every burst is kept.
    previous2 = [[str(s.primary) for s in b.shots] for b in bursts2]
    bursts3, kept3 = regroup(remaining, GroupingParams(), previous2)
    assert names(bursts3) == names(bursts2) and kept3 == {b.id for b in bursts2}
