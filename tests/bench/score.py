"""Score one `burstd scan --json` report against a card's truth.json. Pure: dicts in, dict out.

Grouping is scored over files (a RAW and its JPEG are two files of one shot, both must land in the
shot's burst); ranking over shots. Files the report does not mention count as singletons.
Sets (issue 15): each report group's "kind" (`burstd.models.Kind`'s values; "single_shot", or no
kind at all as before sets existed, count as a burst) against the truth's; recognition per kind,
frames of sets culled and each truth set's outcome as `metrics` defines them. The burst figures
(pairwise grouping over the files of truth bursts, top-1, Kendall tau) leave sets out.
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePath

from tests.bench import metrics


def predictions(report: dict) -> tuple[dict[str, str], dict[str, int], dict[str, float]]:
    """File name -> predicted burst id, rank and score, from the engine's JSON report."""
    labels: dict[str, str] = {}
    ranks: dict[str, int] = {}
    scores: dict[str, float] = {}
    for burst in report.get("groups", []):
        for member in burst["members"]:
            for path in {member["path"], *member.get("files", [])}:
                name = PurePath(path).name
                labels[name] = str(burst["id"])
                ranks[name] = int(member["rank"])
                scores[name] = float(member["score"])
    return labels, ranks, scores


def predicted_groups(report: dict) -> tuple[dict[str, metrics.Group], dict[str, int]]:
    """Group id -> its kind, files and shot count; file name -> predicted rating."""
    groups: dict[str, metrics.Group] = {}
    rating: dict[str, int] = {}
    for group in report.get("groups", []):
        kind = group.get("kind", metrics.BURST)
        names = set()
        for member in group["members"]:
            for path in {member["path"], *member.get("files", [])}:
                names.add(PurePath(path).name)
                rating[PurePath(path).name] = int(member["rating"])
        groups[str(group["id"])] = metrics.Group(
            kind if kind in metrics.KINDS else metrics.BURST, frozenset(names), len(group["members"])
        )
    return groups, rating


def truth_groups(truth: dict) -> dict[str, metrics.Group]:
    """Truth group id -> its kind, files and shot count (a truth file from before sets: a burst)."""
    return {
        burst_id: metrics.Group(info.get("kind", metrics.BURST), frozenset(info["files"]), info["shots"])
        for burst_id, info in truth["bursts"].items()
    }


def _sets(truth: dict, report: dict, labels: dict[str, str]) -> dict:
    """Recognition per kind, frames of sets culled, and what became of the truth sets, per kind."""
    wanted = truth_groups(truth)
    found, rating = predicted_groups(report)
    culled = metrics.culled(wanted.values(), rating)
    out: dict = {"kinds": {}, "culled": sum(c for c, _ in culled.values()),
                 "set_files": sum(n for _, n in culled.values())}  # fmt: skip
    for kind in metrics.KINDS:
        r = metrics.recognition(wanted.values(), found.values(), kind)
        outcomes = Counter(
            metrics.outcome(g, labels, found) for g in wanted.values() if g.kind == kind and g.shots >= 2
        )
        out["kinds"][kind] = {
            "truth": r.truth, "predicted": r.predicted, "matched": r.matched,
            "precision": r.precision, "recall": r.recall, "outcomes": dict(outcomes.most_common()),
        } | ({"culled": culled[kind][0], "files": culled[kind][1]} if kind in culled else {})  # fmt: skip
    return out


def shared_pick_bursts(report: dict) -> set[str]:
    """Predicted burst ids whose pick shares its stars with a frame burstd cannot tell from it."""
    return {
        str(burst["id"])
        for burst in report.get("groups", [])
        if any(m.get("indistinguishable_from_pick") for m in burst["members"])
    }


def _grouping(truth_labels: dict[str, str], labels: dict[str, str], names: list[str]) -> dict:
    counts = metrics.pair_counts(truth_labels, labels, names)
    return {
        "files": len(names), "precision": counts.precision, "recall": counts.recall, "f1": counts.f1,
        "ari": metrics.adjusted_rand_index(truth_labels, labels, names),
        "apart": counts.apart, "pairs": {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn, "tn": counts.tn},
    }  # fmt: skip


def _ranking(files: dict, bursts: dict, ranks: dict[str, int], scores: dict[str, float],
             labels: dict[str, str], shared: set[str]) -> dict:  # fmt: skip
    hits, total = metrics.top1(bursts, ranks)
    clear_hits, clear_total = metrics.top1(bursts, ranks, clearly_only=True)
    taus = metrics.kendall_taus(files, bursts, scores)
    shares, _ = metrics.shared_picks(bursts, ranks, labels, shared)
    clear_shares, _ = metrics.shared_picks(bursts, ranks, labels, shared, clearly_only=True)
    return {
        "top1": metrics.ratio(hits, total), "top1_hits": hits, "top1_bursts": total,
        "top1_clearly": metrics.ratio(clear_hits, clear_total), "top1_clearly_hits": clear_hits,
        "top1_clearly_bursts": clear_total, "kendall_tau": metrics.mean(taus.values()), "tau_bursts": len(taus),
        "shared_picks": shares, "shared_picks_clearly": clear_shares,
        "misses": sorted(b for b, info in bursts.items() if info["rankable"] and info["best"]
                         and not any(ranks.get(f) == 1 for f in info["best"])),
    }  # fmt: skip


def score_run(truth: dict, report: dict) -> dict:
    """Grouping (overall, over truth bursts' files, and per situation), ranking and set scores of one report."""
    files, bursts = truth["files"], truth["bursts"]
    truth_labels = {name: info["burst"] for name, info in files.items()}
    labels, ranks, scores = predictions(report)
    shared = shared_pick_bursts(report)
    names = sorted(files)
    set_files = {n for n, info in files.items() if info.get("kind", metrics.BURST) != metrics.BURST}
    situations = sorted({info["situation"] for info in files.values()})
    per_situation = {}
    for situation in situations:
        in_situation = [n for n in names if files[n]["situation"] == situation]
        its_bursts = {b: info for b, info in bursts.items() if info["situation"] == situation}
        per_situation[situation] = _grouping(truth_labels, labels, in_situation) | {
            "ranking": _ranking(files, its_bursts, ranks, scores, labels, shared)
        }
    return {
        "files": len(names),
        "missing": sorted(set(names) - set(labels)),
        "unexpected": sorted(set(labels) - set(names)),
        "grouping": _grouping(truth_labels, labels, names),
        "grouping_bursts": _grouping(truth_labels, labels, [n for n in names if n not in set_files]),
        "sets": _sets(truth, report, labels),
        "ranking": _ranking(files, bursts, ranks, scores, labels, shared),
        "situations": per_situation,
    }
