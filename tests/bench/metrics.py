"""Pure scoring of a predicted grouping and ranking against a card's truth. No I/O.

Files are identified by name. A *labelling* maps each file to a group id. Pairwise scores count
pairs of files: a true positive is a pair in one truth group and one predicted group.

Sets (issue 15). Every group has a kind (`KINDS`: burst, bracket, focus-stack, panorama); a single
shot is a burst of one. Definitions, per kind K:
- *recognised*: a truth group of kind K is recognised when one predicted group has kind K and
  exactly the same files (every file of every shot: a RAW beside its JPEG too). Only groups of two
  or more shots count, on both sides (a single shot is no burst to recognise).
- *recall* of K: recognised truth groups of kind K / truth groups of kind K.
- *precision* of K: predicted groups of kind K that are exactly a truth group of kind K / predicted
  groups of kind K. (Groups are disjoint on both sides, so a match pairs one group with one group.)
- *frames of sets culled*: a file of a truth set (kind other than burst) whose predicted rating is
  below the best predicted rating of its truth set's files, or rejected (rating -1). Files the
  report leaves out are not counted here (score.py lists them as missing). Must be 0.
- *outcome* of a truth set, to see what went wrong: "recognised"; "whole, as <kind>" (exactly its
  files, another kind); "inside a larger <kind>" (all in one group with other files); "split in N"
  (its files in N predicted groups).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from scipy.stats import kendalltau

from burstd.models import Kind

Labels = Mapping[str, str]
KINDS = tuple(Kind)  # burst, bracket, focus-stack, panorama: strings (StrEnum) as in scan's JSON
BURST = Kind.BURST
SET_KINDS = tuple(k for k in Kind if k != Kind.BURST)


def _c2(n: int) -> int:
    return n * (n - 1) // 2


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class PairCounts:
    tp: int  # together in truth, together predicted
    fp: int  # apart in truth, together predicted
    fn: int  # together in truth, apart predicted
    tn: int  # apart in truth, apart predicted

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def apart(self) -> float | None:
        """Share of the pairs that truth keeps apart which the prediction keeps apart too."""
        return ratio(self.tn, self.tn + self.fp)


def _restrict(truth: Labels, pred: Labels, files: Iterable[str] | None) -> tuple[list[str], dict[str, str]]:
    """The files to score, and the prediction with every unpredicted file as a singleton of its own."""
    names = sorted(truth if files is None else files)
    return names, {f: pred.get(f, "\0missing:" + f) for f in names}


def pair_counts(truth: Labels, pred: Labels, files: Iterable[str] | None = None) -> PairCounts:
    """Pairwise confusion counts over `files` (default: every truth file), in O(files)."""
    names, pred = _restrict(truth, pred, files)
    joint = Counter((truth[f], pred[f]) for f in names)
    tp = sum(_c2(n) for n in joint.values())
    truth_pairs = sum(_c2(n) for n in Counter(truth[f] for f in names).values())
    pred_pairs = sum(_c2(n) for n in Counter(pred[f] for f in names).values())
    fp, fn = pred_pairs - tp, truth_pairs - tp
    tn = _c2(len(names)) - tp - fp - fn
    return PairCounts(tp, fp, fn, tn)


def adjusted_rand_index(truth: Labels, pred: Labels, files: Iterable[str] | None = None) -> float | None:
    """Hubert & Arabie's adjusted Rand index: 1 for identical partitions, about 0 for chance."""
    names, pred = _restrict(truth, pred, files)
    if len(names) < 2:
        return None
    index = sum(_c2(n) for n in Counter((truth[f], pred[f]) for f in names).values())
    sum_a = sum(_c2(n) for n in Counter(truth[f] for f in names).values())
    sum_b = sum(_c2(n) for n in Counter(pred[f] for f in names).values())
    expected = sum_a * sum_b / _c2(len(names))
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:  # both partitions trivial (all singletons or one block): agree by definition
        return 1.0 if index == maximum else 0.0
    return (index - expected) / (maximum - expected)


def top1(bursts: Mapping[str, Mapping], pred_rank: Mapping[str, int], clearly_only: bool = False) -> tuple[int, int]:
    """(hits, bursts): a truth burst is a hit when one of its truly sharpest files has predicted rank 1
    in its predicted burst. Only rankable truth bursts with a known best count; `clearly_only` keeps
    those whose best frame is clearly sharper than the second."""
    hits = total = 0
    for burst in bursts.values():
        if not burst["rankable"] or not burst["best"] or (clearly_only and not burst["clearly"]):
            continue
        total += 1
        hits += any(pred_rank.get(f) == 1 for f in burst["best"])
    return hits, total


def shared_picks(bursts: Mapping[str, Mapping], pred_rank: Mapping[str, int], pred_label: Mapping[str, str],
                 shared: Collection[str], clearly_only: bool = False) -> tuple[int, int]:  # fmt: skip
    """(shared, hits): of the top-1 hits (see `top1`), how many picks share their stars with another
    frame of their predicted burst, that is whose predicted burst is in `shared` (burstd could not
    tell them apart). A burst whose best frame is clearly sharper should never share."""
    count = hits = 0
    for burst in bursts.values():
        if not burst["rankable"] or not burst["best"] or (clearly_only and not burst["clearly"]):
            continue
        pick = next((f for f in burst["best"] if pred_rank.get(f) == 1), None)
        if pick is not None:
            hits += 1
            count += pred_label[pick] in shared
    return count, hits


def kendall_taus(files: Mapping[str, Mapping], bursts: Mapping[str, Mapping],
                 pred_score: Mapping[str, float]) -> dict[str, float]:  # fmt: skip
    """Kendall's tau-b per rankable truth burst between the true order (rank) and the predicted sharpness
    score, one value per shot; +1 is a perfect order. Bursts with fewer than two known, distinct ranks
    are left out. (Scores are relative to each predicted burst's best, so a split burst compares pieces
    on that scale.)"""
    taus: dict[str, float] = {}
    for burst_id, burst in bursts.items():
        if not burst["rankable"]:
            continue
        shots: dict[str, tuple[int, float]] = {}
        for f in burst["files"]:
            rank = files[f]["rank"]
            if rank is not None and f in pred_score:
                shots.setdefault(files[f]["shot"], (rank, pred_score[f]))
        ranks = [r for r, _ in shots.values()]
        if len(set(ranks)) < 2:
            continue
        tau = kendalltau([-r for r in ranks], [s for _, s in shots.values()]).statistic
        if not math.isnan(tau):
            taus[burst_id] = float(tau)
    return taus


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class Group:
    """One group, truth or predicted: its kind, its files (by name) and how many shots they are."""

    kind: str
    files: frozenset[str]
    shots: int


@dataclass(frozen=True, slots=True)
class Recognition:
    truth: int  # truth groups of the kind (two or more shots)
    predicted: int  # predicted groups of the kind (two or more shots)
    matched: int  # predicted groups of the kind that are exactly a truth group of the kind

    @property
    def precision(self) -> float | None:
        return ratio(self.matched, self.predicted)

    @property
    def recall(self) -> float | None:
        return ratio(self.matched, self.truth)


def recognition(truth: Iterable[Group], pred: Iterable[Group], kind: str) -> Recognition:
    """Recognition of one kind (see the module docstring)."""
    wanted = {g.files for g in truth if g.kind == kind and g.shots >= 2}
    found = [g.files for g in pred if g.kind == kind and g.shots >= 2]
    return Recognition(len(wanted), len(found), sum(files in wanted for files in found))


def culled(truth: Iterable[Group], rating: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Per set kind, (files culled, files rated) over the truth sets (see the module docstring)."""
    out = {kind: (0, 0) for kind in SET_KINDS}
    for group in truth:
        if group.kind == BURST:
            continue
        rated = [rating[f] for f in group.files if f in rating]
        best = max(rated, default=0)
        count, total = out[group.kind]
        out[group.kind] = (count + sum(r < best or r < 0 for r in rated), total + len(rated))
    return out


def outcome(group: Group, pred_label: Labels, pred: Mapping[str, Group]) -> str:
    """What became of one truth group in the prediction (see the module docstring)."""
    labels = {pred_label.get(f, "\0missing:" + f) for f in group.files}
    if len(labels) > 1:
        return f"split in {len(labels)}"
    found = pred.get(next(iter(labels)))
    if found is None:
        return "missing"
    if found.files != group.files:
        return f"inside a larger {found.kind}"
    return "recognised" if found.kind == group.kind else f"whole, as {found.kind}"
