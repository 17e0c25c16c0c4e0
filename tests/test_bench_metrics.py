"""The benchmark's scoring functions (tests/bench/metrics.py, score.py) on hand-made values."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from tests.bench import metrics
from tests.bench.score import score_run


def brute_pairs(truth: dict, pred: dict) -> metrics.PairCounts:
    """The definition, pair by pair: what the counting shortcut must agree with."""
    tp = fp = fn = tn = 0
    for a, b in itertools.combinations(sorted(truth), 2):
        t, p = truth[a] == truth[b], pred[a] == pred[b]
        tp += t and p
        fn += t and not p
        fp += p and not t
        tn += not t and not p
    return metrics.PairCounts(tp, fp, fn, tn)


def test_pair_counts_small_example():
    truth = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2"}
    pred = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "z"}
    counts = metrics.pair_counts(truth, pred)
    assert counts == metrics.PairCounts(tp=1, fp=1, fn=3, tn=5)
    assert counts.precision == 0.5
    assert counts.recall == 0.25
    assert counts.f1 == pytest.approx(1 / 3)


def test_perfect_and_missing_predictions():
    truth = {"a": "1", "b": "1", "c": "2"}
    assert metrics.pair_counts(truth, dict(truth)).f1 == 1.0
    missing = metrics.pair_counts(truth, {"a": "x"})  # b and c unreported: singletons
    assert (missing.tp, missing.fn, missing.fp) == (0, 1, 0)
    assert missing.precision is None  # nothing predicted together: undefined, not 0 or 1


@pytest.mark.parametrize("seed", range(20))
def test_pair_counts_match_brute_force(seed):
    rng = random.Random(seed)
    files = [f"f{i}" for i in range(rng.randint(2, 30))]
    truth = {f: str(rng.randint(0, 5)) for f in files}
    pred = {f: str(rng.randint(0, 5)) for f in files}
    assert metrics.pair_counts(truth, pred) == brute_pairs(truth, pred)


def test_ari_known_values():
    truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    assert metrics.adjusted_rand_index(truth, {"a": "x", "b": "x", "c": "y", "d": "y"}) == 1.0
    # sklearn.metrics.adjusted_rand_score([0,0,1,1], [0,1,0,1]) == -0.5
    assert metrics.adjusted_rand_index(truth, {"a": "x", "b": "y", "c": "x", "d": "y"}) == pytest.approx(-0.5)
    # adjusted_rand_score([0,0,0,1,1,1], [0,0,1,1,2,2]) == 0.24242424...
    truth6 = dict(zip("abcdef", "000111"))
    pred6 = dict(zip("abcdef", "001122"))
    assert metrics.adjusted_rand_index(truth6, pred6) == pytest.approx(0.24242424242424243)
    assert metrics.adjusted_rand_index({"a": "1", "b": "2"}, {"a": "x", "b": "y"}) == 1.0


BURSTS = {
    "b1": {"rankable": True, "best": ["A.JPG"], "clearly": True, "files": ["A.JPG", "B.JPG", "C.JPG"]},
    "b2": {"rankable": True, "best": ["D.JPG", "E.JPG"], "clearly": False, "files": ["D.JPG", "E.JPG"]},
    "b3": {"rankable": False, "best": [], "clearly": False, "files": ["F.JPG"]},
}
FILES = {
    "A.JPG": {"shot": "A", "rank": 1}, "B.JPG": {"shot": "B", "rank": 2}, "C.JPG": {"shot": "C", "rank": 3},
    "D.JPG": {"shot": "D", "rank": 1}, "E.JPG": {"shot": "E", "rank": 1}, "F.JPG": {"shot": "F", "rank": None},
}  # fmt: skip


def test_top1_counts_ties_and_clearly_subset():
    ranks = {"A.JPG": 2, "B.JPG": 1, "C.JPG": 3, "D.JPG": 2, "E.JPG": 1}
    assert metrics.top1(BURSTS, ranks) == (1, 2)  # b2: a tied best is first
    assert metrics.top1(BURSTS, ranks, clearly_only=True) == (0, 1)


def test_shared_picks_count_top1_hits_whose_stars_are_shared():
    ranks = {"A.JPG": 2, "B.JPG": 1, "C.JPG": 3, "D.JPG": 2, "E.JPG": 1}
    labels = {"A.JPG": "p1", "B.JPG": "p1", "C.JPG": "p1", "D.JPG": "p2", "E.JPG": "p2"}
    assert metrics.shared_picks(BURSTS, ranks, labels, {"p2"}) == (1, 1)  # b1 misses; b2's pick shares
    assert metrics.shared_picks(BURSTS, ranks, labels, {"p2"}, clearly_only=True) == (0, 0)
    assert metrics.shared_picks(BURSTS, {**ranks, "A.JPG": 1, "B.JPG": 2}, labels, {"p1"}, clearly_only=True) == (1, 1)


def test_kendall_tau_per_burst():
    perfect = {"A.JPG": 1.0, "B.JPG": 0.8, "C.JPG": 0.5, "D.JPG": 1.0, "E.JPG": 0.9}
    taus = metrics.kendall_taus(FILES, BURSTS, perfect)
    assert taus == {"b1": pytest.approx(1.0)}  # b2 has no order (tie), b3 is not rankable
    reversed_ = metrics.kendall_taus(FILES, BURSTS, {"A.JPG": 0.1, "B.JPG": 0.5, "C.JPG": 1.0})
    assert reversed_["b1"] == pytest.approx(-1.0)


def _fake_report(groups: list[list[tuple[str, int, float]]]) -> dict:
    """A hand-made report in the shape `burstd scan --json` prints (only the fields scoring reads)."""
    bursts = [
        {"id": f"p{i}", "body": "", "size": len(g), "members": [
            {"path": f"/card/{name}", "files": [f"/card/{name}"], "rank": rank, "rating": 0, "score": score}
            for name, rank, score in g]}
        for i, g in enumerate(groups)
    ]  # fmt: skip
    return {"directory": "/card", "settings": {}, "groups": bursts, "errors": [], "summary": {}}


def test_score_run_on_a_fake_report():
    files = {
        "A.JPG": {"shot": "A", "burst": "t1", "kind": "burst", "situation": "burst", "rank": 1},
        "B.JPG": {"shot": "B", "burst": "t1", "kind": "burst", "situation": "burst", "rank": 2},
        "C.JPG": {"shot": "C", "burst": "t2", "kind": "burst", "situation": "single", "rank": None},
        "P0.JPG": {"shot": "P0", "burst": "p", "kind": "panorama", "situation": "pan", "rank": None},
        "P1.JPG": {"shot": "P1", "burst": "p", "kind": "panorama", "situation": "pan", "rank": None},
        "P2.JPG": {"shot": "P2", "burst": "p", "kind": "panorama", "situation": "pan", "rank": None},
    }
    bursts = {
        "t1": {"kind": "burst", "situation": "burst", "rankable": True, "best": ["A.JPG"], "clearly": True,
               "files": ["A.JPG", "B.JPG"], "shots": 2},
        "t2": {"kind": "burst", "situation": "single", "rankable": False, "best": ["C.JPG"], "clearly": False,
               "files": ["C.JPG"], "shots": 1},
        "p": {"kind": "panorama", "situation": "pan", "rankable": False, "best": [], "clearly": False,
              "files": ["P0.JPG", "P1.JPG", "P2.JPG"], "shots": 3},
    }  # fmt: skip
    report = _fake_report([
        [("A.JPG", 1, 1.0), ("B.JPG", 2, 0.4)], [("C.JPG", 1, 1.0)],
        [("P0.JPG", 1, 1.0), ("P1.JPG", 2, 0.9)], [("P2.JPG", 1, 1.0)],  # the panorama split
    ])  # fmt: skip
    scored = score_run({"files": files, "bursts": bursts}, report)
    assert scored["missing"] == [] and scored["unexpected"] == []
    g = scored["grouping"]
    assert g["pairs"] == {"tp": 2, "fp": 0, "fn": 2, "tn": 11}  # P0-P2 and P1-P2 kept apart
    assert scored["grouping_bursts"]["f1"] == 1.0  # the burst files alone are grouped right
    assert scored["situations"]["pan"]["recall"] == pytest.approx(1 / 3)
    assert scored["situations"]["burst"]["f1"] == 1.0
    sets = scored["sets"]
    assert sets["kinds"]["panorama"]["outcomes"] == {"split in 2": 1}
    assert (sets["kinds"]["panorama"]["recall"], sets["kinds"]["panorama"]["precision"]) == (0.0, None)
    assert (sets["kinds"]["burst"]["truth"], sets["kinds"]["burst"]["matched"]) == (1, 1)
    assert sets["kinds"]["burst"]["predicted"] == 2  # the split panorama's pair was ranked as a burst
    r = scored["ranking"]
    assert (r["top1"], r["top1_clearly"]) == (1.0, 1.0)
    assert (r["shared_picks"], r["shared_picks_clearly"]) == (0, 0)
    report["groups"][0]["members"][1]["indistinguishable_from_pick"] = True  # B could not be told from A
    assert score_run({"files": files, "bursts": bursts}, report)["ranking"]["shared_picks_clearly"] == 1
    assert math.isclose(r["kendall_tau"], 1.0)
