"""Every number of leaderboards/pt-loop/README.md, from the committed
per-round results alone (no model, no training):

    python leaderboards/pt-loop/analyse.py            # prints the tables
    python leaderboards/pt-loop/analyse.py --plot     # and writes curves.svg

- the learning curves: strict F1 on the whole LeNER-Br test split per
  strategy and number of reviewed sentences, mean ± sd over seeds, with the
  95% percentile-bootstrap interval over test sentences of the seeds' pooled
  counts;
- the goal: the fewest reviewed sentences at which each strategy's mean F1
  reaches random's at 400;
- the stopping rule: per strategy and seed, the first round it said stop and
  why, each decision recomputed from the stored dev counts (and checked
  against the stored one); whether it ever said stop while the student was
  worse than the teacher by more than δ on the test sentences the teacher
  answered (the first 100);
- the compute, from each round's timings.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from nerbench.distil.stopping import Decision, Rule, decide, non_inferiority_p
from nerbench.score.bootstrap import f1_interval, paired_p_value
from nerbench.score.prf import prf

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ORDER = ("random", "disagreement", "doubt", "hybrid")
GOAL_BUDGET, GOAL_SHARE = 400, 0.6


def load(results: Path) -> tuple[dict[str, Any], dict[tuple[str, int], list[dict[str, Any]]]]:
    teacher = json.loads((results / "teacher.json").read_text(encoding="utf-8"))
    runs: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for file in sorted(results.glob("*/seed-*/round-*.json")):
        record = json.loads(file.read_text(encoding="utf-8"))
        runs[(record["strategy"], record["seed"])].append(record)
    for records in runs.values():
        records.sort(key=lambda r: r["round"])
    return teacher, runs


def f1(counts: dict[str, list[int]]) -> float:
    return float(prf(sum(counts["tp"]), sum(counts["predicted"]), sum(counts["gold"]))[2])


def pooled(many: list[dict[str, list[int]]]) -> dict[str, list[int]]:
    return {k: [sum(v) for v in zip(*(c[k] for c in many))] for k in ("tp", "predicted", "gold")}


def curves(runs: dict[tuple[str, int], list[dict[str, Any]]]) -> dict[str, dict[int, dict[str, Any]]]:
    """strategy → reviewed → mean, sd, n seeds, pooled interval (F1 in %)."""
    cells: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for (strategy, _), records in runs.items():
        for r in records:
            cells[strategy][r["reviewed"]].append(r["counts"]["test"])
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for strategy, by_budget in cells.items():
        out[strategy] = {}
        for budget, many in sorted(by_budget.items()):
            f1s = [100 * f1(c) for c in many]
            low, high = f1_interval(pooled(many))
            out[strategy][budget] = {"mean": statistics.mean(f1s), "sd": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
                                     "n": len(f1s), "low": 100 * low, "high": 100 * high}
    return out


def table(curve: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    strategies = [s for s in ORDER if s in curve]
    budgets = sorted({b for s in strategies for b in curve[s]})
    rows = ["| reviewed | " + " | ".join(strategies) + " |", "|---|" + "---|" * len(strategies)]
    for b in budgets:
        cells = []
        for s in strategies:
            c = curve[s].get(b)
            cells.append("–" if c is None else
                         f"{c['mean']:.1f} ± {c['sd']:.1f} ({c['low']:.1f}–{c['high']:.1f}, n={c['n']})")
        rows.append(f"| {b} | " + " | ".join(cells) + " |")
    return rows


def goal(curve: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    target = curve.get("random", {}).get(GOAL_BUDGET)
    if target is None:
        return [f"random has no result at {GOAL_BUDGET} reviewed sentences yet"]
    lines = [f"random at {GOAL_BUDGET} reviewed: {target['mean']:.1f} F1 (mean of {target['n']} seeds)"]
    for s in ORDER:
        if s not in curve:
            continue
        reached = [b for b, c in sorted(curve[s].items()) if c["mean"] >= target["mean"]]
        first = reached[0] if reached else None
        verdict = ("not reached by " + str(max(curve[s]))) if first is None else (
            f"{first} reviewed ({100 * first / GOAL_BUDGET:.0f}% of {GOAL_BUDGET}; the goal is ≤ "
            f"{GOAL_SHARE * GOAL_BUDGET:.0f}: {'met' if first <= GOAL_SHARE * GOAL_BUDGET else 'not met'})")
        lines.append(f"- {s}: {verdict}")
    return lines


def at_goal(runs: dict[tuple[str, int], list[dict[str, Any]]], budget: int = 200) -> list[str]:
    """Each strategy at `budget` reviewed (the last round within 60% of 400)
    against random at 400, on the seeds both have, their per-sentence counts
    pooled: the F1s and the paired bootstrap p of "it does not beat random"."""
    def counts(strategy: str, reviewed: int) -> dict[int, dict[str, list[int]]]:
        return {seed: r["counts"]["test"] for (s, seed), rs in runs.items() if s == strategy
                for r in rs if r["reviewed"] == reviewed}

    from nerbench.plugin_system.manager import get_registry

    size = {s.id: len(s.tokens) for s in get_registry().get("datasets", "lener_br").sentences("train")}

    def tokens(strategy: str, reviewed: int) -> float:
        """Tokens a reviewer read to get there, mean over seeds (reviews cost by length too)."""
        return statistics.mean(sum(size[i] for i in r["reviewed_ids"]) for (s, _), rs in runs.items()
                               if s == strategy for r in rs if r["reviewed"] == reviewed)

    base = counts("random", GOAL_BUDGET)
    lines = []
    for s in ORDER[1:]:
        mine = counts(s, budget)
        seeds = sorted(set(mine) & set(base))
        if not seeds:
            continue
        a, b = pooled([mine[k] for k in seeds]), pooled([base[k] for k in seeds])
        lines.append(f"- {s} at {budget} vs random at {GOAL_BUDGET} (seeds {', '.join(map(str, seeds))} pooled): "
                     f"{100 * f1(a):.1f} vs {100 * f1(b):.1f}, p (not better) = {paired_p_value(a, b):.3f}; "
                     f"tokens reviewed {tokens(s, budget):.0f} vs {tokens('random', GOAL_BUDGET):.0f}")
    return lines


def stopping(teacher: dict[str, Any], runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[str]:

    teacher_first = teacher["test_first"]["counts"]
    rows = ["| strategy | seed | first stop (round, reviewed) | verdict | student vs teacher, first 100 test | "
            "student, whole test | worse by > δ? |", "|---|---|---|---|---|---|---|"]
    wrong = stops = mismatched = 0
    for (strategy, seed), records in sorted(runs.items(), key=lambda kv: (ORDER.index(kv[0][0]), kv[0][1])):
        earlier: list[Decision] = []
        fired: dict[str, Any] | None = None
        for r in records:
            if "decision" not in r:
                continue
            rule = Rule(**r["rule"])
            again = decide(rule, r["round"], r["counts"]["dev"], teacher["dev"]["counts"], earlier)
            stored = r["decision"]
            if again.verdict != stored["verdict"]:
                mismatched += 1
            earlier.append(again)
            if again.stop and fired is None:
                fired = {**r, "again": again, "delta": rule.delta}
        if fired is None:
            rows.append(f"| {strategy} | {seed} | never in {len(earlier)} rounds | go on | | | |")
            continue
        stops += 1
        student_first = 100 * f1(fired["counts"]["test_first"])
        teacher_f1 = 100 * f1(teacher_first)
        worse = student_first < teacher_f1 - 100 * fired["delta"]
        wrong += worse
        rows.append(f"| {strategy} | {seed} | {fired['round']}, {fired['reviewed']} | {fired['again'].verdict} | "
                    f"{student_first:.1f} vs {teacher_f1:.1f} | {100 * f1(fired['counts']['test']):.1f} | "
                    f"{'yes' if worse else 'no'} |")
    rows.append("")
    rows.append(f"The loop said stop in {stops} of {len(runs)} strategy × seed runs; while the student was worse than "
                f"the teacher by more than δ on the first 100 test sentences: {wrong}. Decisions recomputed from the "
                f"stored dev counts that differ from the stored ones: {mismatched}.")
    zero = [r for rs in runs.values() for r in rs if r["round"] == 0]
    if zero:
        rule = Rule(**next(r["rule"] for rs in runs.values() for r in rs if "rule" in r))
        ps = [non_inferiority_p(r["counts"]["dev"], teacher["dev"]["counts"], rule.delta, rule.resamples, rule.seed)
              for r in zero]
        rows.append(f"Before any review (round 0, the silver alone, {len(zero)} runs): the student's dev F1 "
                    f"{100 * statistics.mean(f1(r['counts']['dev']) for r in zero):.1f}, the non-inferiority p "
                    f"{max(ps):.4f} at most against the first round's level {rule.level(1):.4f}.")
    dev_teacher = 100 * f1(teacher["dev"]["counts"])
    low, high = f1_interval(teacher["dev"]["counts"])
    rows.append(f"The teacher on the {len(teacher['dev']['ids'])} dev sentences: {dev_teacher:.1f} F1 "
                f"({100 * low:.1f}–{100 * high:.1f}); on the first {len(teacher['test_first']['ids'])} test "
                f"sentences: {100 * f1(teacher_first):.1f}.")
    return rows


def picked(runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[str]:
    """What each strategy sent for review, over its rounds and seeds: gold
    entities and tokens per sentence, the silver's spans, the members'
    disagreement (the silver from pt-distill, the gold from the corpus)."""
    from nerbench.distil.train import read_silver
    from nerbench.plugin_system.manager import get_registry

    silver = {s.sentence.id: s for s in read_silver(HERE.parent / "pt-distill" / "silver" / "union" / "silver.jsonl")}
    gold = {s.id: s for s in get_registry().get("datasets", "lener_br").sentences("train")}
    rows = ["| strategy | sentences sent | gold entities per sentence | with no gold entity | tokens per sentence | "
            "silver spans per sentence | disagreement |", "|---|---|---|---|---|---|---|"]
    pool = list(silver)
    for name, ids in [("the whole pool", pool)] + [
            (s, [i for (strategy, _), rs in runs.items() if strategy == s for r in rs for i in r["picked"]])
            for s in ORDER if any(k[0] == s for k in runs)]:
        if not ids:
            continue
        rows.append(f"| {name} | {len(ids)} | {statistics.mean(len(gold[i].spans) for i in ids):.2f} | "
                    f"{100 * statistics.mean(not gold[i].spans for i in ids):.0f}% | "
                    f"{statistics.mean(len(gold[i].tokens) for i in ids):.1f} | "
                    f"{statistics.mean(len(silver[i].sentence.spans) for i in ids):.2f} | "
                    f"{statistics.mean(silver[i].disagreement or 0.0 for i in ids):.2f} |")
    return rows


def compute(runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[str]:
    records = [r for rs in runs.values() for r in rs]
    if not records:
        return ["no rounds yet"]
    total = sum(r["round_s"] for r in records)
    return [f"{len(records)} rounds (a CRF trained, then scored on the test split, the dev sample and the first "
            f"100 test sentences): {total:.0f} s in all, {statistics.mean(r['round_s'] for r in records):.1f} s a "
            f"round (training alone {statistics.mean(r['train_s'] for r in records):.1f} s), peak RSS "
            f"{max(r['max_rss_mb'] for r in records):.0f} MB"]


def plot(curve: dict[str, dict[int, dict[str, Any]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "pt-loop"  # the same SVG bytes on every run
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in ORDER:
        if s not in curve:
            continue
        budgets = sorted(curve[s])
        ax.plot(budgets, [curve[s][b]["mean"] for b in budgets], marker="o", label=s)
        ax.fill_between(budgets, [curve[s][b]["low"] for b in budgets], [curve[s][b]["high"] for b in budgets],
                        alpha=0.15)
    if GOAL_BUDGET in curve.get("random", {}):
        ax.axhline(curve["random"][GOAL_BUDGET]["mean"], ls="--", color="grey", lw=1, label="random at 400")
        ax.axvline(GOAL_SHARE * GOAL_BUDGET, ls=":", color="grey", lw=1, label="the goal: 240 reviews")
    ax.set_xlabel("reviewed sentences (gold) among the 1,000 silver")
    ax.set_ylabel("strict F1 on LeNER-Br test (1,389 sentences), %")
    ax.set_title("CRF on union silver (missing) + reviewed gold")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})


def main() -> None:
    parser = argparse.ArgumentParser(description="pt-loop's numbers from its committed results")
    parser.add_argument("--plot", action="store_true", help="write curves.svg")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="the per-round results (results-token-mean/: doubt as first defined)")
    args = parser.parse_args()
    teacher, runs = load(args.results)
    curve = curves(runs)
    print("## Learning curves\n\nStrict F1 (%) on the whole test split: mean ± sd over seeds (95% bootstrap interval "
          "over test sentences of the seeds' pooled counts, n = seeds)\n")
    print("\n".join(table(curve)))
    print("\n## The goal\n")
    print("\n".join(goal(curve)))
    print()
    print("\n".join(at_goal(runs)))
    print("\n## The stopping rule\n")
    print("\n".join(stopping(teacher, runs)))
    print("\n## What each strategy sent for review\n")
    print("\n".join(picked(runs)))
    print("\n## Compute\n")
    print("\n".join(compute(runs)))
    if args.plot:
        plot(curve, HERE / "curves.svg")


if __name__ == "__main__":
    main()
