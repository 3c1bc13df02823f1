"""What `nerbench run` prints when it is done: per dataset split, the ranked
systems and ensembles with their F1 intervals, each ensemble against the best
single system (paired p-value), and F1 per entity type — from the results
alone, like every leaderboard."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from nerbench.board import Split, build
from nerbench.redaction import one_line


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _systems(split: Split) -> str:
    rows = []
    for row in split.rows:
        m, counts = row.entry["metrics"], row.entry.get("counts", {})
        ci = "–" if row.interval is None else f"{_pct(row.interval[0])}–{_pct(row.interval[1])}"
        statuses = ", ".join(f"{k} {v}" for k, v in counts.get("statuses", {}).items()) if counts else "ensemble"
        rows.append([row.rank, one_line(row.name), _pct(m["precision"]), _pct(m["recall"]), _pct(m["f1"]), ci,
                     statuses, counts.get("backend_calls", "–"), counts.get("cache_hits", "–")])
    return tabulate(rows, headers=["#", "system", "P", "R", "F1", "F1 95% CI", "statuses", "calls", "cached"])


def _ensembles(split: Split) -> str | None:
    rows = []
    for row in split.rows:
        if not row.is_ensemble:
            continue
        e, best = row.entry, row.entry.get("best_single", {})
        best_f1 = best.get("metrics", {}).get("f1")
        rows.append([one_line(e["combiner"]), len(e["systems"]), one_line(e.get("chosen_on", "–")),
                     _pct(e.get("dev_f1")), _pct(e["metrics"]["f1"]), one_line(best.get("system", "–")),
                     _pct(best_f1), "–" if best_f1 is None else f"{100 * (e['metrics']['f1'] - best_f1):+.1f}",
                     "–" if row.p_value is None else f"{row.p_value:.3f}"])
    if not rows:
        return None
    return tabulate(rows, headers=["ensemble", "systems", "chosen on", "dev F1", "F1", "best single system",
                                   "its F1", "Δ F1", "p"])


def _per_type(split: Split) -> str | None:
    labels = split.labels
    if not labels:
        return None
    support = {label: next((r.entry["metrics"]["per_type"][label]["support"] for r in split.rows
                            if label in r.entry["metrics"]["per_type"]), 0) for label in labels}
    rows = [[one_line(row.name)] + [_pct(row.entry["metrics"]["per_type"].get(label, {}).get("f1"))
                                     for label in labels] for row in split.rows]
    return tabulate(rows, headers=["F1 per type (gold)"] + [f"{one_line(label)} ({support[label]})"
                                                            for label in labels])


def summary(results: dict[str, Any]) -> str:
    """The terminal summary of one results document."""
    parts = []
    for split in build([results]).splits:
        parts.append(f"== {one_line(split.ref)}: {split.sentences} sentences "
                     "(F1: seqeval strict; interval: 95% bootstrap over sentences)")
        parts.append(_systems(split))
        for extra in (_ensembles(split), _per_type(split)):
            if extra:
                parts += ["", extra]
        parts.append("")
    return "\n".join(parts)
