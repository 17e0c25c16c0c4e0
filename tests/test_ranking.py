"""Ranks to ratings, and the burst's sharpness order: pure, table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest

from burstd.models import Analysis, Burst, Shot, TimeSource
from burstd.ranking import burst_scores, rate_burst, ratings_for

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
