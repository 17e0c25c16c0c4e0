"""Score one `burstd scan --json` report against a card's truth.json. Pure: dicts in, dict out.

Grouping is scored over files (a RAW and its JPEG are two files of one shot, both must land in the
shot's burst); ranking over shots. Files the report does not mention count as singletons.
The adjusted Rand index leaves pan frames out: each pan frame is a truth burst of its own only so
that pairwise scoring can ignore near pairs (see `metrics.pan_dont_care`), which ARI cannot.
"""

from __future__ import annotations

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


def shared_pick_bursts(report: dict) -> set[str]:
    """Predicted burst ids whose pick shares its stars with a frame burstd cannot tell from it."""
    return {
        str(burst["id"])
        for burst in report.get("groups", [])
        if any(m.get("indistinguishable_from_pick") for m in burst["members"])
    }


def _grouping(truth_labels: dict[str, str], labels: dict[str, str], names: list[str],
              dont_care: set[metrics.Pair], files: dict) -> dict:  # fmt: skip
    counts = metrics.pair_counts(truth_labels, labels, names, dont_care)
    ari_names = [n for n in names if not files[n]["pan"]]
    return {
        "files": len(names), "precision": counts.precision, "recall": counts.recall, "f1": counts.f1,
        "ari": metrics.adjusted_rand_index(truth_labels, labels, ari_names) if ari_names else None,
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
    """Grouping (overall and per situation) and ranking scores of one report."""
    files, bursts = truth["files"], truth["bursts"]
    truth_labels = {name: info["burst"] for name, info in files.items()}
    labels, ranks, scores = predictions(report)
    shared = shared_pick_bursts(report)
    dont_care = metrics.pan_dont_care(files)
    names = sorted(files)
    situations = sorted({info["situation"] for info in files.values()})
    per_situation = {}
    for situation in situations:
        in_situation = [n for n in names if files[n]["situation"] == situation]
        its_bursts = {b: info for b, info in bursts.items() if info["situation"] == situation}
        per_situation[situation] = _grouping(truth_labels, labels, in_situation, dont_care, files) | {
            "ranking": _ranking(files, its_bursts, ranks, scores, labels, shared)
        }
    return {
        "files": len(names),
        "missing": sorted(set(names) - set(labels)),
        "unexpected": sorted(set(labels) - set(names)),
        "grouping": _grouping(truth_labels, labels, names, dont_care, files),
        "ranking": _ranking(files, bursts, ranks, scores, labels, shared),
        "situations": per_situation,
    }
