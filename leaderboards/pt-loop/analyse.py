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
- the stopping rule against stronger teachers: its decisions replayed from
  the stored dev counts against synthetic teachers made from the corpus gold
  (each gold span damaged with a seeded probability: dropped or relabelled),
  whose answers exist on every sentence, so a stop is judged against the
  student on the whole test split;
- the cost in the units a user pays: the teacher's model calls and wall time
  (`teacher-cost.json`, from pt-distill's annotation), sentences and tokens
  reviewed and the person's hours at `--review-cost` seconds a sentence
  (an assumption the user replaces), and what the silver is worth in gold
  sentences and hours (pt-distill's gold-only CRFs, `test-crf/results.json`);
- the compute, from each round's timings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from nerbench.distil.stopping import STUDENT, Decision, Rule, decide, non_inferiority_p
from nerbench.records import Sentence, Span
from nerbench.score.bootstrap import f1_interval, paired_p_value
from nerbench.score.prf import prf
from nerbench.score.strict import per_sentence

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ORDER = ("random", "disagreement", "doubt", "hybrid")
GOAL_BUDGET, GOAL_SHARE = 400, 0.6
DISTILL = HERE.parent / "pt-distill"
#: the synthetic teachers' F1 on the whole test split, in expectation (strongest first), and draws of each
STRESS_LEVELS, STRESS_DRAWS = (0.90, 0.75, 0.60, 0.45, 0.35), 5
#: the seconds a person takes to review one sentence, unless --review-cost says otherwise: an ASSUMPTION
REVIEW_COST_S = 30.0


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

    size = train_sizes()

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


def _uniform(*key: object) -> float:
    """A number in [0, 1) fixed by `key` (a hash, not a generator: the same span draws the same on every run)."""
    digest = hashlib.sha256(":".join(map(str, key)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def damage_rate(target: float) -> float:
    """The share of gold spans to damage, half dropped and half relabelled,
    for an expected strict F1 of `target`: a damaged share r leaves
    tp = (1 − r)·n of (1 − r/2)·n predicted and n gold spans, so
    F1 = 2(1 − r) / (2 − r/2); solved for r."""
    return (2 - 2 * target) / (2 - target / 2)


def synthetic(sentence: Sentence, rate: float, draw: int, labels: list[str]) -> list[Span]:
    """A synthetic teacher's answer on `sentence`: its gold spans, each
    damaged with probability `rate` independently (drawn from a hash of the
    draw, the sentence id and the span, so dev and test sentences are
    treated alike): half of the damaged dropped, half given another label."""
    out = []
    for span in sentence.spans:
        key = (draw, sentence.id, span.start, span.end, span.label)
        if _uniform("damage", *key) >= rate:
            out.append(span)
        elif _uniform("relabel", *key) >= 0.5:
            others = [label for label in labels if label != span.label]
            out.append(Span(span.start, span.end, others[int(_uniform("label", *key) * len(others))]))
    return out


def stress(teacher: dict[str, Any], runs: dict[tuple[str, int], list[dict[str, Any]]],
           levels: tuple[float, ...] = STRESS_LEVELS, draws: int = STRESS_DRAWS,
           patience: int | None = None) -> list[str]:
    """The stopping rule replayed against synthetic teachers stronger than
    the union: for each level and draw, every strategy × seed's decisions
    recomputed from its stored dev counts (as the loop chains them, each
    round given the earlier ones) until the first stop; a stop is wrong when
    the student of that round is worse than the teacher by more than δ on the
    whole test split; a "go on" is a cost when the student is not.
    `patience` replaces the recorded rule's (0: the no-gain stop off, the
    non-inferiority test alone)."""
    from nerbench.plugin_system.manager import get_registry

    dataset = get_registry().get("datasets", "lener_br")
    labels = [label.name for label in dataset.labels]
    test = list(dataset.sentences("test"))
    dev_by_id = {s.id: s for s in dataset.sentences("dev")}
    dev = [dev_by_id[i] for i in teacher["dev"]["ids"]]
    records = [r for rs in runs.values() for r in rs]
    if any(r["counts"]["test"]["gold"] != records[0]["counts"]["test"]["gold"] for r in records):
        raise SystemExit("the stored test counts do not share one gold")
    rows = ["| teacher (expected test F1) | damaged share | its F1, whole test (draws) | its F1, dev sample "
            "(draws) | runs | stop: the student replaces the teacher | stop reviewing, keep the teacher (no gain) | "
            "never stopped | first stop, round × runs | wrong: replaced while worse by > δ / kept while not worse | "
            "runs that went on while the student was not worse (rounds) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    wrong: list[str] = []
    for level in levels:
        rate = damage_rate(level)
        test_f1s, dev_f1s = [], []
        n = not_worse = no_gain = never = wrong_nw = wrong_ng = held_runs = held_rounds = 0
        first: dict[int, int] = defaultdict(int)
        per_strategy: dict[str, int] = defaultdict(int)
        for draw in range(draws):
            t_dev = per_sentence(dev, {s.id: synthetic(s, rate, draw, labels) for s in dev})
            t_test = per_sentence(test, {s.id: synthetic(s, rate, draw, labels) for s in test})
            if t_test["gold"] != records[0]["counts"]["test"]["gold"] or \
                    t_dev["gold"] != records[0]["counts"]["dev"]["gold"]:
                raise SystemExit("the synthetic teacher's gold is not the students' gold")
            teacher_test = f1(t_test)
            test_f1s.append(100 * teacher_test)
            dev_f1s.append(100 * f1(t_dev))
            for (strategy, _), rs in sorted(runs.items(), key=lambda kv: (ORDER.index(kv[0][0]), kv[0][1])):
                n += 1
                earlier: list[Decision] = []
                held = 0
                stopped = None
                for r in rs:
                    if "decision" not in r:
                        continue
                    rule = Rule(**{**r["rule"], **({} if patience is None else {"patience": patience})})
                    d = decide(rule, r["round"], r["counts"]["dev"], t_dev, earlier)
                    earlier.append(d)
                    student_test = f1(r["counts"]["test"])
                    worse = student_test < teacher_test - rule.delta
                    if d.stop:
                        stopped = (r["round"], d, worse)
                        if worse and d.outcome == STUDENT:
                            wrong.append(f"  - teacher {100 * level:.0f}, draw {draw}: {strategy} seed {r['seed']} "
                                         f"round {r['round']}: dev {100 * d.student_f1:.1f} vs "
                                         f"{100 * d.teacher_f1:.1f} (p = {d.p:.4f} ≤ {d.level:.4f}); whole test "
                                         f"{100 * student_test:.1f} vs {100 * teacher_test:.1f}")
                        break
                    if not worse:
                        held += 1
                held_runs += held > 0
                held_rounds += held
                if stopped is None:
                    never += 1
                    continue
                round_, d, worse = stopped
                first[round_] += 1
                if d.outcome == STUDENT:  # the non-inferiority stop, the one with an error bound
                    not_worse += 1
                    wrong_nw += worse
                    per_strategy[strategy] += worse
                else:  # "keep the teacher": a cost, not an error, when the student was in fact not worse
                    no_gain += 1
                    wrong_ng += not worse
        rows.append(f"| {100 * level:.0f} | {100 * rate:.1f}% | {min(test_f1s):.1f}–{max(test_f1s):.1f} | "
                    f"{min(dev_f1s):.1f}–{max(dev_f1s):.1f} | {n} | {not_worse} | {no_gain} | {never} | "
                    + (", ".join(f"{k} × {v}" for k, v in sorted(first.items())) or "–")
                    + f" | {wrong_nw} / {wrong_ng} | {held_runs} ({held_rounds}) |")
        if per_strategy:
            notes.append(f"- teacher {100 * level:.0f}: replaced while worse by > δ, by strategy: "
                         + ", ".join(f"{s} {per_strategy[s]}" for s in ORDER if per_strategy.get(s)))
    distinct = len({json.dumps([r["counts"]["dev"] for r in rs]) for rs in runs.values()})
    if wrong:
        notes += ["- the wrong non-inferiority stops (student vs teacher):"] + wrong
    return rows + [""] + notes + [
        f"Runs per level: {draws} teacher draws × {len(runs)} strategy × seed runs ({distinct} of the "
        f"{len(runs)} runs differ in their dev counts); judged on the {len(test)} test sentences and decided on "
        f"the {len(dev)} dev sentences ({sum(records[0]['counts']['dev']['gold'])} gold entities)."]


def no_gain(teacher: dict[str, Any], runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[str]:
    """Where the no-gain stop alone ends each run (the rule replayed against
    the gold itself, which no student comes near: only that stop can fire;
    it reads the student's dev F1 alone, so any teacher the student is worse
    than ends there too), and the student's whole-test F1 there and at the
    last round."""
    from nerbench.plugin_system.manager import get_registry

    dev_by_id = {s.id: s for s in get_registry().get("datasets", "lener_br").sentences("dev")}
    dev = [dev_by_id[i] for i in teacher["dev"]["ids"]]
    gold = per_sentence(dev, {s.id: list(s.spans) for s in dev})
    lines = []
    for strategy in ORDER:
        ends = []
        for (s, _), rs in sorted(runs.items()):
            if s != strategy:
                continue
            earlier: list[Decision] = []
            for r in rs:
                if "decision" in r:
                    earlier.append(decide(Rule(**r["rule"]), r["round"], r["counts"]["dev"], gold, earlier))
                    if earlier[-1].stop:
                        ends.append((r["round"], rs[-1]["round"], f1(r["counts"]["test"]),
                                     f1(rs[-1]["counts"]["test"])))
                        break
        if ends:
            lines.append(f"- {strategy}: ends at round " + ", ".join(str(e[0]) for e in ends)
                         + f" (seeds in order); whole-test F1 there {100 * statistics.mean(e[2] for e in ends):.1f} "
                         f"(mean), at round {max(e[1] for e in ends)} {100 * statistics.mean(e[3] for e in ends):.1f}")
    return lines


def dev_gap(runs: dict[tuple[str, int], list[dict[str, Any]]]) -> str:
    """How far the dev sample flatters the students: their F1 there minus on the whole test split."""
    gaps = [100 * (f1(r["counts"]["dev"]) - f1(r["counts"]["test"])) for rs in runs.values() for r in rs]
    return (f"The students' F1 on the dev sample minus their F1 on the whole test split, over the {len(gaps)} "
            f"rounds: mean {statistics.mean(gaps):+.1f}, from {min(gaps):+.1f} to {max(gaps):+.1f} (a synthetic "
            "teacher damages dev and test sentences alike, so its dev F1 differs from its test F1 by its draw "
            "only).")


def train_sizes() -> dict[str, int]:
    """Tokens per LeNER-Br train sentence, by id."""
    from nerbench.plugin_system.manager import get_registry

    return {s.id: len(s.tokens) for s in get_registry().get("datasets", "lener_br").sentences("train")}


def teacher_cost() -> dict[str, Any]:
    """pt-distill's annotation cost (teacher-cost.json), its last piece
    checked against the annotation.json in the tree."""
    cost = json.loads((HERE / "teacher-cost.json").read_text(encoding="utf-8"))
    last = json.loads((DISTILL / "silver" / "union" / "annotation.json").read_text(encoding="utf-8"))
    piece = cost["pieces"][-1]
    calls = sum(m["backend_calls"] for m in last["members"].values())
    if (calls, last["wall_s"], last["created"]) != (piece["model_calls"], piece["wall_s"], piece["created"]):
        raise SystemExit("teacher-cost.json's last piece is not pt-distill's annotation.json")
    if cost["model_calls"] != sum(p["model_calls"] for p in cost["pieces"]):
        raise SystemExit("teacher-cost.json: the pieces do not add up")
    return cost


def cost(runs: dict[tuple[str, int], list[dict[str, Any]]], curve: dict[str, dict[int, dict[str, Any]]],
         review_s: float) -> list[str]:
    """Per budget: the teacher's calls and wall time (paid once, for the
    1,000 silver sentences, whatever the strategy), the person's hours at
    `review_s` a sentence, and each strategy's F1 and tokens read."""
    paid = teacher_cost()
    size = train_sizes()
    strategies = [s for s in ORDER if s in curve]
    tokens: dict[tuple[str, int], list[int]] = defaultdict(list)
    for (strategy, _), rs in runs.items():
        for r in rs:
            tokens[(strategy, r["reviewed"])].append(sum(size[i] for i in r["reviewed_ids"]))
    fresh = sum(p["model_calls"] + p["cache_hits"] for p in paid["pieces"])
    lines = [f"The teacher (pt-distill's annotation of the 1,000 silver sentences, `teacher-cost.json`): "
             f"{paid['model_calls']:,} model calls, {paid['wall_s']:,.0f} s ({paid['wall_s'] / 3600:.1f} h) of "
             f"wall time in {len(paid['pieces'])} pieces; {fresh - paid['model_calls']} more answers came from the "
             f"cache of earlier attempts, so a first annotation asks {fresh:,}. pt-distill's README states "
             f"{paid['readme_stated']['model_calls']:,} calls and {paid['readme_stated']['wall_s']:,} s (its "
             f"pieces' rounded seconds summed).",
             f"The person: {review_s:g} s a reviewed sentence (ASSUMED: `--review-cost SECONDS`).", "",
             "| reviewed sentences | person h | teacher calls | teacher wall h | "
             + " | ".join(f"{s}: F1 (tokens read)" for s in strategies) + " |",
             "|---|---|---|---|" + "---|" * len(strategies)]
    for budget in sorted({b for s in strategies for b in curve[s]}):
        cells = [f"{curve[s][budget]['mean']:.1f} ({statistics.mean(tokens[(s, budget)]):,.0f})"
                 if budget in curve[s] else "–" for s in strategies]
        lines.append(f"| {budget} | {budget * review_s / 3600:.2f} | {paid['model_calls']:,} | "
                     f"{paid['wall_s'] / 3600:.1f} | " + " | ".join(cells) + " |")
    return lines


def silver_worth(review_s: float) -> list[str]:
    """How many gold sentences a CRF needs to match the silver-only CRF on the
    whole test split, log-linear between the two nearest measured budgets
    (pt-distill's gold-only CRFs, seeds pooled as pt-distill pools them, and
    each seed's own curve), in sentences and in the person's hours."""
    doc = json.loads((DISTILL / "test-crf" / "results.json").read_text(encoding="utf-8"))
    name = re.compile(r"^crf/crf-(?P<data>.+)-seed-(?P<seed>\d+)/student$")
    by: dict[str, dict[int, dict[str, list[int]]]] = defaultdict(dict)
    for entry in doc["systems"]:
        match = name.match(entry["system"])
        if match:
            by[match["data"]][int(match["seed"])] = entry["per_sentence"]
    budgets = {50: "gold-only-50", 100: "gold-only-100", 200: "gold-only-200", 1000: "gold-same-1000"}
    silver_data = "silver-union-missing"

    def interpolate(target: float, curve: list[tuple[int, float]]) -> float | None:
        for (k0, f0), (k1, f1_) in zip(curve, curve[1:]):
            if f0 <= target <= f1_ and f1_ > f0:
                return float(k0 * (k1 / k0) ** ((target - f0) / (f1_ - f0)))
        return None

    silver = f1(pooled(list(by[silver_data].values())))
    curve = [(k, f1(pooled(list(by[d].values())))) for k, d in budgets.items()]
    seeds = sorted(by[budgets[50]])
    one = [interpolate(f1(by[silver_data][s]), [(k, f1(by[d][s])) for k, d in budgets.items()]) for s in seeds]
    worth = interpolate(silver, curve)
    paid = teacher_cost()
    lines = [f"Gold alone (pt-distill's CRFs, `test-crf/results.json`, {len(seeds)} seeds pooled), whole test split: "
             + ", ".join(f"{k} sentences {100 * v:.1f}" for k, v in curve)
             + f"; the union's silver alone (`{silver_data}`): {100 * silver:.1f}."]
    if worth is None:
        return lines + ["The silver's F1 is outside the gold-only curve: no interpolation."]
    lines.append(f"The 1,000 silver sentences are worth about {worth:.0f} gold sentences (seed by seed: "
                 + ", ".join("–" if w is None else f"{w:.0f}" for w in one)
                 + f"), {worth * review_s / 3600:.2f} h of review at {review_s:g} s a sentence (ASSUMED), against "
                 f"the teacher's {paid['model_calls']:,} model calls and {paid['wall_s'] / 3600:.1f} h of wall time "
                 "that made them.")
    return lines


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
    trained = [r for r in records if "shared_from" not in r]  # a shared round 0 was trained once, for every strategy
    if not trained:
        return ["no rounds yet"]
    kinds = " or ".join(sorted({r["student"] for r in trained}))
    shared = len(records) - len(trained)
    sharing = f"; {shared} round-0 records shared by the strategies of a seed" if shared else ""
    total, rss = sum(r["round_s"] for r in trained), max(r["max_rss_mb"] for r in trained)
    lines = [f"{len(trained)} rounds trained (a {kinds} student, then scored on the test split, the dev sample and "
             f"the first 100 test sentences{sharing}): {total:.0f} s in all, peak RSS {rss:.0f} MB"]
    for name, group in (("round 0, the silver alone", [r for r in trained if r["round"] == 0]),
                        ("later rounds, with the reviewed gold", [r for r in trained if r["round"] > 0])):
        if group:
            lines.append(f"- {name}: {len(group)} rounds, {statistics.mean(r['round_s'] for r in group):.1f} s a round "
                         f"({min(r['round_s'] for r in group):.1f}–{max(r['round_s'] for r in group):.1f}; training "
                         f"alone {statistics.mean(r['train_s'] for r in group):.1f} s)")
    return lines


def against(runs: dict[tuple[str, int], list[dict[str, Any]]], other: dict[tuple[str, int], list[dict[str, Any]]],
            name: str) -> list[str]:
    """These results beside `other`'s (another recipe) on the seeds both
    ran: each strategy's mean test F1 at 200 and 400 reviews, and the mean
    seconds of a round after round 0, seed by seed."""
    seeds = sorted({seed for _, seed in runs} & {seed for _, seed in other})
    rows = [f"On seeds {', '.join(map(str, seeds))}, mean test F1, these results / {name}:", "",
            "| strategy | 200 reviewed | 400 reviewed |", "|---|---|---|"]
    for strategy in ORDER:
        cells = []
        for budget in (200, 400):
            pair = [statistics.mean(100 * f1(r["counts"]["test"]) for (s, seed), rs in which.items() for r in rs
                                    if s == strategy and seed in seeds and r["reviewed"] == budget)
                    for which in (runs, other)]
            cells.append(f"{pair[0]:.1f} / {pair[1]:.1f}")
        rows.append(f"| {strategy} | {' | '.join(cells)} |")
    for label, which in (("these results", runs), (name, other)):
        by_seed = defaultdict(list)
        for (_, seed), rs in which.items():
            by_seed[seed] += [r["round_s"] for r in rs if r["round"] > 0]
        rows.append(f"\nA round after round 0, {label}, seed by seed: "
                    + ", ".join(f"{seed}: {statistics.mean(t):.1f} s" for seed, t in sorted(by_seed.items())))
    return rows


def plot(curve: dict[str, dict[int, dict[str, Any]]], out: Path, title: str) -> None:
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
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})


def main() -> None:
    parser = argparse.ArgumentParser(description="pt-loop's numbers from its committed results")
    parser.add_argument("--plot", action="store_true",
                        help="write curves.svg (curves-RESULTS.svg for another --results folder)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="the per-round results (results-token-mean/: doubt as first defined)")
    parser.add_argument("--review-cost", type=float, default=REVIEW_COST_S, metavar="SECONDS",
                        help="seconds a person takes to review one sentence (default %(default)s: an assumption; "
                             "give your own)")
    parser.add_argument("--against", type=Path, metavar="RESULTS",
                        help="also compare with another recipe's results (results-spacy-mixed/) on the seeds both ran")
    parser.add_argument("--no-stress", action="store_true",
                        help="leave out the stopping rule against synthetic teachers (the slowest part)")
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
    if not args.no_stress:
        print("\n## The stopping rule against stronger teachers (synthetic, from the gold)\n")
        print("\n".join(stress(teacher, runs)))
        print(dev_gap(runs))
        print("\nThe no-gain stop alone (against a teacher no student comes near):\n")
        print("\n".join(no_gain(teacher, runs)))
        print("\nThe non-inferiority test alone (the same replay with patience 0: no \"no gain\" stop):\n")
        print("\n".join(stress(teacher, runs, patience=0)))
    print("\n## Cost in the units a user pays\n")
    print("\n".join(cost(runs, curve, args.review_cost)))
    print()
    print("\n".join(silver_worth(args.review_cost)))
    print("\n## What each strategy sent for review\n")
    print("\n".join(picked(runs)))
    print("\n## Compute\n")
    print("\n".join(compute(runs)))
    if args.against is not None:
        print(f"\n## Against {args.against.name}\n")
        print("\n".join(against(runs, load(args.against)[1], args.against.name)))
    if args.plot:
        first = next(iter(runs.values()))[0]
        how = {"mixed": "the reviewed gold in place of its silver", "pretrain": "silver, then the reviewed gold",
               "gold-only": "the reviewed gold alone"}[first["use"]]
        plot(curve, HERE / ("curves.svg" if args.results == RESULTS else f"curves-{args.results.name}.svg"),
             f"{first['student']} on the union's silver ({first['unlabelled']}): {how}")


if __name__ == "__main__":
    main()
