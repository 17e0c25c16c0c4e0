"""The benchmark's scoring of sets (issue 15: brackets, focus stacks, panoramas) on hand-made reports:
recognition per kind, frames of sets culled, what became of each truth set (tests/bench/metrics.py,
score.py). Pure: no files."""

from __future__ import annotations

import pytest

from tests.bench import metrics
from tests.bench.score import predicted_groups, score_run


def group(kind: str, *files: str) -> metrics.Group:
    return metrics.Group(kind, frozenset(files), len(files))


TRUTH = [
    group("bracket", "b1", "b2", "b3"),
    group("bracket", "c1", "c2", "c3", "c4", "c5"),
    group("focus-stack", "f1", "f2", "f3", "f4"),
    group("panorama", "p1", "p2", "p3"),
    group("burst", "u1", "u2", "u3"),
    group("burst", "s1"),  # a single shot: no burst to recognise
]


def test_recognition_needs_the_kind_and_exactly_the_members():
    pred = [
        group("bracket", "b1", "b2", "b3"),  # recognised
        group("bracket", "c1", "c2", "c3", "c4"),  # one frame short: not recognised, and a wrong bracket
        group("burst", "c5"),
        group("burst", "f1", "f2", "f3", "f4"),  # whole, but taken for a burst
        group("panorama", "p1", "p2", "p3", "u1"),  # a burst frame too many
        group("burst", "u2", "u3"),
        group("burst", "s1"),
    ]
    bracket = metrics.recognition(TRUTH, pred, "bracket")
    assert (bracket.truth, bracket.predicted, bracket.matched) == (2, 2, 1)
    assert (bracket.precision, bracket.recall) == (0.5, 0.5)
    focus = metrics.recognition(TRUTH, pred, "focus-stack")
    assert (focus.precision, focus.recall) == (None, 0.0)  # nothing predicted: precision undefined
    pano = metrics.recognition(TRUTH, pred, "panorama")
    assert (pano.truth, pano.predicted, pano.matched) == (1, 1, 0)
    burst = metrics.recognition(TRUTH, pred, "burst")  # groups of one shot count on neither side
    assert (burst.truth, burst.predicted, burst.matched) == (1, 2, 0)


def test_a_perfect_prediction_recognises_every_kind():
    for kind in metrics.KINDS:
        r = metrics.recognition(TRUTH, TRUTH, kind)
        assert (r.precision, r.recall) == (1.0, 1.0), kind


def test_culled_frames_are_rated_below_their_truth_sets_best_or_rejected():
    rating = {"b1": 3, "b2": 3, "b3": 3,  # kept whole: none culled
              "c1": 5, "c2": 1, "c3": 0, "c4": 5, "c5": 5,  # ranked like a burst: two below the best
              "f1": -1, "f2": -1, "f3": -1, "f4": -1,  # all rejected alike: all culled
              "p1": 2, "p2": 2,  # p3 missing from the report: not counted
              "u1": 5, "u2": 0, "u3": -1}  # bursts are not sets: never counted  # fmt: skip
    assert metrics.culled(TRUTH, rating) == {"bracket": (2, 8), "focus-stack": (4, 4), "panorama": (0, 2)}


def test_outcome_says_what_became_of_a_truth_set():
    pred = {"x": group("burst", "b1", "b2", "b3"), "y": group("bracket", "c1", "c2", "c3", "c4", "c5", "u1"),
            "z": group("panorama", "p1", "p2", "p3"), "w": group("burst", "f1", "f2"),
            "v": group("burst", "f3", "f4")}  # fmt: skip
    labels = {f: gid for gid, g in pred.items() for f in g.files}
    assert metrics.outcome(TRUTH[0], labels, pred) == "whole, as burst"
    assert metrics.outcome(TRUTH[1], labels, pred) == "inside a larger bracket"
    assert metrics.outcome(TRUTH[2], labels, pred) == "split in 2"
    assert metrics.outcome(TRUTH[3], labels, pred) == "recognised"
    assert metrics.outcome(group("bracket", "gone"), labels, pred) == "missing"


def _report(groups: list[tuple[str | None, list[tuple[str, int]]]]) -> dict:
    """A `burstd scan --json` report: per group its kind (None: no "kind" field, as before sets) and
    (file, rating) per member; a RAW beside a JPEG is one member with two files."""
    out = []
    for i, (kind, members) in enumerate(groups):
        entry = {"id": f"g{i}", "size": len(members), "members": [
            {"path": f"/card/{name.split('+')[0]}", "files": [f"/card/{n}" for n in name.split("+")], "rank": r + 1,
             "rating": rating, "score": 1.0} for r, (name, rating) in enumerate(members)]}  # fmt: skip
        if kind:
            entry["kind"] = kind
        out.append(entry)
    return {"directory": "/card", "groups": out}


def test_predicted_groups_read_kinds_files_and_ratings():
    report = _report([("bracket", [("A.JPG", 5), ("B.JPG", 5)]), ("single_shot", [("C.JPG+C.DNG", 3)]),
                      (None, [("D.JPG", 5), ("E.JPG", 1)])])  # fmt: skip
    groups, rating = predicted_groups(report)
    assert groups["g0"] == group("bracket", "A.JPG", "B.JPG")
    assert groups["g1"] == metrics.Group("burst", frozenset({"C.JPG", "C.DNG"}), 1)  # a single shot
    assert groups["g2"].kind == "burst"  # a report from before sets: every group is a burst
    assert rating == {"A.JPG": 5, "B.JPG": 5, "C.JPG": 3, "C.DNG": 3, "D.JPG": 5, "E.JPG": 1}


def _truth() -> dict:
    def info(burst: str, kind: str, situation: str, rank: int | None) -> dict:
        return {"shot": "", "burst": burst, "kind": kind, "situation": situation, "rank": rank}

    files = {"A.JPG": info("t1", "burst", "burst", 1), "B.JPG": info("t1", "burst", "burst", 2)}
    files |= {f"K{i}.JPG": info("k", "bracket", "bracket", None) for i in range(3)}
    files |= {f"P{i}.JPG": info("p", "panorama", "panorama", None) for i in range(4)}
    for name in files:
        files[name]["shot"] = name[:-4]
    bursts = {
        "t1": {"kind": "burst", "situation": "burst", "rankable": True, "best": ["A.JPG"], "clearly": True,
               "files": ["A.JPG", "B.JPG"], "shots": 2},
        "k": {"kind": "bracket", "situation": "bracket", "rankable": False, "best": [], "clearly": False,
              "files": [f"K{i}.JPG" for i in range(3)], "shots": 3},
        "p": {"kind": "panorama", "situation": "panorama", "rankable": False, "best": [], "clearly": False,
              "files": [f"P{i}.JPG" for i in range(4)], "shots": 4},
    }  # fmt: skip
    return {"files": files, "bursts": bursts}


def test_score_run_today_sets_ranked_as_bursts_or_shattered():
    """What burstd 1 does: the bracket ranked as a burst, the panorama in single shots."""
    report = _report([(None, [("A.JPG", 5), ("B.JPG", 2)]), (None, [("K0.JPG", 5), ("K1.JPG", 1), ("K2.JPG", 0)])]
                     + [(None, [(f"P{i}.JPG", 3)]) for i in range(4)])  # fmt: skip
    sets = score_run(_truth(), report)["sets"]
    assert sets["kinds"]["bracket"] | {"outcomes": None} == {
        "truth": 1, "predicted": 0, "matched": 0, "precision": None, "recall": 0.0, "outcomes": None,
        "culled": 2, "files": 3}  # fmt: skip
    assert sets["kinds"]["bracket"]["outcomes"] == {"whole, as burst": 1}
    assert sets["kinds"]["panorama"]["outcomes"] == {"split in 4": 1}
    assert sets["kinds"]["panorama"]["culled"] == 0  # four single shots, each 3 stars: nothing culled
    assert (sets["culled"], sets["set_files"]) == (2, 7)
    burst = sets["kinds"]["burst"]
    assert (burst["precision"], burst["recall"]) == (0.5, 1.0)  # the bracket is a false burst


def test_score_run_sets_kept_whole():
    """What issue 15 asks: each set recognised, every frame the same rating, bursts as before."""
    report = _report([("burst", [("A.JPG", 5), ("B.JPG", 2)]),
                      ("bracket", [("K0.JPG", 5), ("K1.JPG", 5), ("K2.JPG", 5)]),
                      ("panorama", [(f"P{i}.JPG", 5) for i in range(4)])])  # fmt: skip
    scored = score_run(_truth(), report)
    sets = scored["sets"]
    for kind in ("burst", "bracket", "panorama"):
        assert (sets["kinds"][kind]["precision"], sets["kinds"][kind]["recall"]) == (1.0, 1.0), kind
        assert sets["kinds"][kind]["outcomes"] == {"recognised": 1}
    assert sets["kinds"]["focus-stack"]["truth"] == 0
    assert sets["culled"] == 0
    assert scored["grouping"]["f1"] == scored["grouping_bursts"]["f1"] == 1.0
    assert scored["ranking"]["top1"] == 1.0


@pytest.mark.parametrize("kind", ["bracket", "focus-stack", "panorama"])
def test_a_set_reported_under_another_set_kind_is_not_recognised(kind):
    other = "panorama" if kind != "panorama" else "bracket"
    truth = [group(kind, "a", "b", "c")]
    r = metrics.recognition(truth, [group(other, "a", "b", "c")], kind)
    assert (r.precision, r.recall) == (None, 0.0)
    assert metrics.recognition(truth, [group(other, "a", "b", "c")], other).precision == 0.0
