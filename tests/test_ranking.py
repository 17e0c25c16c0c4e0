"""Ranks to ratings, and the burst's sharpness order: pure, table-driven."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from burstd.models import Analysis, Burst, ScanSettings, Shot, TimeSource
from burstd.ranking import NOISE_MARGIN, burst_scores, rate_burst, ratings_for, tie_heads
from burstd.tagging import PICK_TAG, sidecar_fields

# The original script's mapping, from issue #2, sharpest first.
TIERS_MAX3 = {
    1: [3],
    2: [3, 2],
    3: [3, 2, 1],
    4: [3, 2, 1, 1],
    5: [3, 2, 1, 1, 1],
    6: [3, 2, 2, 1, 1, 1],
    8: [3, 2, 2, 1, 1, 1, 1, 1],
    9: [3, 2, 2, 1, 1, 1, 1, 1, 0],
    12: [3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0],
    20: [3, 2, 2] + [1] * 6 + [0] * 11,
}


@pytest.mark.parametrize(("n", "expected"), sorted(TIERS_MAX3.items()))
def test_tiers_reproduce_the_original_mapping(n: int, expected: list[int]) -> None:
    assert ratings_for(n, max_rank=3) == expected


def test_tiers_with_max_rank_5() -> None:
    assert ratings_for(10, max_rank=5) == [5, 4, 4, 3, 3, 3, 3, 3, 2, 2]


@pytest.mark.parametrize("n", range(1, 120))
@pytest.mark.parametrize("max_rank", [1, 3, 5])
def test_tiers_are_well_formed(n: int, max_rank: int) -> None:
    r = ratings_for(n, max_rank=max_rank)
    assert len(r) == n
    assert r[0] == max_rank and r.count(max_rank) == 1 or max_rank == 1
    assert r == sorted(r, reverse=True)
    assert min(r) >= 0


def test_linear() -> None:
    assert ratings_for(6, max_rank=3, scheme="linear") == [3, 2, 1, 0, 0, 0]


def shot(name: str, tiles: list[float]) -> Shot:
    return Shot(Path(name), Analysis(0, 0, 0.0, TimeSource.EXIF, tiles=tuple(tiles), grid=(2, 2)))


def test_scores_compare_the_same_region() -> None:
    # The subject sits in tile 0; tile 3 is noise that is loud in frame b only.
    a = shot("a", [90, 5, 5, 5])
    b = shot("b", [60, 5, 5, 95])
    scores = burst_scores([a, b])
    assert scores[0] > scores[1]


def test_rate_burst_orders_sharpest_first_and_rejects_when_asked() -> None:
    shots = (shot("a", [10, 1, 1, 1]), shot("b", [100, 1, 1, 1]), shot("c", [50, 1, 1, 1]))
    rated = rate_burst(Burst("x", shots), max_rank=3, reject_below=0.2)
    assert [(m.shot.primary.name, m.rank, m.rating) for m in rated.members] == [("b", 1, 3), ("c", 2, 2), ("a", 3, -1)]
    assert rated.members[0].score == 1.0


def test_singleton_rating() -> None:
    single = Burst("s", (shot("a", [1, 1, 1, 1]),))
    assert rate_burst(single, max_rank=3).members[0].rating == 3
    assert rate_burst(single, max_rank=3, singleton_rating=0).members[0].rating == 0


# --- frames within the measure's noise share their stars ---------------------------------------

M = NOISE_MARGIN
IN, OUT = M - 0.002, M + 0.002  # just inside and just outside the margin


def scored(scores: list[float]) -> Burst:
    """A burst whose frames score exactly `scores` relative to the best (one tile each)."""
    shots = tuple(Shot(Path(f"f{i:02d}"), Analysis(0, 0, 0.0, TimeSource.EXIF, tiles=(s,), grid=(1, 1)))
                  for i, s in enumerate(scores))  # fmt: skip
    return Burst("b", shots)


# (case, scores sharpest first, -m 3 tiers ratings); the tiers alone would give 3 2 2 1 1 1 1 1 0 0 for ten.
TIES = [
    ("the issue's burst: ten frames from 1.00 to 0.98", [1.0 - 0.002 * i for i in range(10)], [3] * 10),
    ("seven frames at 0.99-1.00, then clearly softer ones",
     [1.0, 0.999, 0.998, 0.995, 0.993, 0.991, 0.99, 0.6, 0.5, 0.4], [3] * 7 + [1, 0, 0]),
    ("just inside the margin of the pick", [1.0, 1.0 - IN, 0.5], [3, 3, 1]),
    ("just outside it", [1.0, 1.0 - OUT, 0.5], [3, 2, 1]),
    ("a lower group: rank 3 within the margin of rank 2 takes its stars", [1.0, 0.8, 0.8 - IN, 0.3], [3, 2, 2, 1]),
    ("groups are measured from their head, never chained",
     [1.0, 1.0 - 0.6 * M, 1.0 - 1.2 * M, 1.0 - 1.8 * M, 1.0 - 2.4 * M], [3, 3, 1, 1, 1]),
    ("all equal", [0.7] * 5, [3] * 5),
    ("nothing close: the tiers as documented", [1.0, 0.8, 0.6, 0.4, 0.2, 0.1], [3, 2, 2, 1, 1, 1]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "scores", "expected"), TIES, ids=[c for c, _, _ in TIES])
def test_frames_within_the_noise_margin_share_their_stars(case: str, scores: list[float], expected: list[int]) -> None:
    rated = rate_burst(scored(scores), max_rank=3)
    assert [m.rating for m in rated.members] == expected
    assert [m.rank for m in rated.members] == list(range(1, len(scores) + 1))
    assert [m.shot.primary.name for m in rated.members] == [f"f{i:02d}" for i in range(len(scores))]


def test_tie_heads_name_the_frame_whose_stars_are_shared() -> None:
    assert tie_heads([1.0, 1.0 - IN, 1.0 - OUT, 1.0 - OUT - IN, 0.2]) == [0, 0, 2, 2, 4]
    assert tie_heads([]) == []
    rated = rate_burst(scored([1.0, 1.0 - IN, 0.5, 0.5 - IN]), max_rank=3)
    assert [(m.tied_to, m.indistinguishable_from_pick) for m in rated.members] == [
        (None, False), (1, True), (None, False), (3, False),
    ]  # fmt: skip


def test_linear_scheme_and_max_rank_5_share_stars_too() -> None:
    assert [m.rating for m in rate_burst(scored([1.0, 0.99, 0.5, 0.49]), max_rank=3, scheme="linear").members] == [3, 3, 1, 1]
    assert [m.rating for m in rate_burst(scored([1.0, 0.99, 0.98, 0.5]), max_rank=5).members] == [5, 5, 5, 3]


def test_a_frame_tied_with_the_pick_is_never_rejected() -> None:
    rated = rate_burst(scored([1.0, 1.0 - IN, 1.0 - OUT]), max_rank=3, reject_below=0.99)
    assert [m.rating for m in rated.members] == [3, 3, -1]


def test_tied_frames_share_stars_but_only_the_first_is_the_pick() -> None:
    rated = rate_burst(scored([1.0, 1.0, 0.999, 0.2]), max_rank=3)
    settings = ScanSettings(pick_label="green", digikam_pick_labels=True)
    fields = [sidecar_fields(rated, m, settings) for m in rated.members]
    assert [f.rating for f in fields] == [3, 3, 3, 1]
    assert [PICK_TAG in f.tags for f in fields] == [True, False, False, False]
    assert [f.color_label for f in fields] == [2, None, None, None]
    assert [f.pick_label for f in fields] == [3, None, None, None]
    assert [f.rank for f in fields] == [1, 2, 3, 4]


@pytest.mark.parametrize("seed", range(200))
def test_ties_only_ever_raise_stars_and_never_reorder(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 40)
    # Clusters of close scores, the way real bursts have them.
    scores = sorted((min(1.0, rng.choice([1.0, 0.9, 0.6, 0.3]) - rng.uniform(0, 0.1)) for _ in range(n)), reverse=True)
    scores = [s / scores[0] for s in scores]
    max_rank, scheme = rng.choice([1, 3, 5]), rng.choice(["tiers", "linear"])
    rated = rate_burst(scored(scores), max_rank=max_rank, scheme=scheme)
    plain = ratings_for(n, max_rank=max_rank, scheme=scheme)
    ratings = [m.rating for m in rated.members]
    assert [m.rank for m in rated.members] == list(range(1, n + 1))  # one pick, the measured order
    assert ratings == sorted(ratings, reverse=True)
    for m, rating, own in zip(rated.members, ratings, plain, strict=True):
        assert rating >= own
        if m.score >= 1.0 - M:
            assert rating == max_rank and (m.rank == 1 or m.indistinguishable_from_pick)
        if m.tied_to is None:
            assert rating == own
        else:
            head = rated.members[m.tied_to - 1]
            assert head.tied_to is None and rating == head.rating and head.score - m.score <= M
