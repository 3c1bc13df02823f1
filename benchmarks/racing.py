"""Racing replayed on published predictions, without a model call: what it
saves and what it gets wrong, for nerbench's method (`holm-gs`), the issue's
baseline (`baseline-bonferroni`) and a naive uncorrected repeated test.

    python benchmarks/racing.py [--orders 100] [--json out.json] [--board pt-two-families ...] [--smoke]

For every test split of `leaderboards/*/results.json` with two or more
systems (the `per_sentence` tp/predicted/gold of each system, in the split's
order), each method × α ∈ {0.01, 0.05, 0.1} × δ ∈ {0, 1 F1} races the
systems over `--orders` random sentence orders (10 rounds), on the real
split and on synthetic 300- and 1,000-sentence splits resampled by sentence
(all systems together, a fresh seeded resample per order). Per cell:

- saved: 1 − requests the race asked / requests of the full run (a system's
  requests per sentence from its `counts`: 6 for a six-type `per-type`
  format);
- same winner: the race's winner is the full split's best system, or within
  δ F1 of it;
- false drop: some system was dropped against a leader it is not worse than
  on the whole split.

Equal systems: each of a split's four best systems against a copy of itself
with its sentences permuted (the same F1 on the whole split, so any drop is
false), and four such copies at once.

Judges (pt-two-families): the racers are the 8 systems and every distinct
LLM-judged ensemble on test, whose cost is modelled per sentence from the
stored spans: a judged combiner asks about every candidate of the pool (the
spans of the systems answered on that sentence; every label of every
predicted range, since `el4ner` retypes). Per judge model and sentence with
R distinct predicted ranges and L labels: R·L yes/no questions while an
`llm-judge` using that model races, R typing questions while an `el4ner`
using it races (plus R verifications when no `llm-judge` shares them
through the cache); disambiguation questions (290 of the 8,118 the README
counts) are left out. An ensemble that races keeps its members answering.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ALPHAS = (0.01, 0.05, 0.1)
DELTAS = (0.0, 0.01)
SIZES = (None, 300, 1000)  # None: the real split
ROUNDS = 10
KEYS = ("tp", "predicted", "gold")


def load(board: Path) -> list[dict[str, Any]]:
    """The test splits of one results.json: systems' counts and cost, judged ensembles."""
    results = json.loads((board / "results.json").read_text())
    splits: dict[str, dict[str, Any]] = {}
    for s in results["systems"]:
        if s["split"] != "test":
            continue
        split = splits.setdefault(s["dataset"], {"board": board.name, "dataset": s["dataset"], "systems": {},
                                                 "cost": {}, "spans": {}, "labels": set(), "ensembles": {}})
        split["systems"][s["system"]] = np.array([s["per_sentence"][k] for k in KEYS], dtype=np.int64)
        split["cost"][s["system"]] = s["counts"]["requests"] / s["sentences"]
        split["spans"][s["system"]] = [{(a, b) for a, b, _ in sentence} for sentence in s["spans"]]
    for s in results["systems"]:
        if s["dataset"] in splits:
            splits[s["dataset"]]["labels"] |= set(s["metrics"]["per_type"])
    for e in results.get("ensembles", []):
        judges = (e.get("options") or {}).get("judges")
        if e["split"] != "test" or e["dataset"] not in splits or not judges:
            continue
        key = (e["combiner"].split("@")[0], tuple(e["systems"]))
        splits[e["dataset"]]["ensembles"].setdefault(key, {
            "name": f"{key[0]}[{'+'.join(key[1])}]", "kind": "el4ner" if key[0].startswith("el4ner") else "llm-judge",
            "judges": tuple(judges), "members": list(e["systems"]),
            "counts": np.array([e["per_sentence"][k] for k in KEYS], dtype=np.int64)})
    return [s for s in splits.values() if len(s["systems"]) >= 2]


def f1_of(counts: np.ndarray) -> float:
    from nerbench.score.prf import prf

    return float(prf(*counts.sum(axis=1))[2])


def outcome(result: Any, f1: dict[str, float], delta: float) -> tuple[bool, bool, bool]:
    best = max(f1.values())
    same = f1[result.winner] >= best - delta - 1e-12
    false_drop = any(f1[c] >= f1[why["against"]] - 1e-12 for c, why in result.dropped.items())
    winner_dropped = any(f1[c] >= best - 1e-12 for c in result.dropped)
    return same, false_drop, winner_dropped


def race_split(split: dict[str, Any], size: int | None, orders: int, methods: list[str]) -> list[dict[str, Any]]:
    from nerbench.score.racing import replay

    names = list(split["systems"])
    full = np.stack([split["systems"][n] for n in names])
    n_real = full.shape[2]
    cost = split["cost"]
    cells: dict[tuple[str, float, float], list[np.ndarray]] = {}
    for o in range(orders):
        if size is None:
            counts, order = full, np.random.default_rng([o, 0]).permutation(n_real)
        else:
            # a synthetic split: sentences drawn with replacement, all systems together; an iid
            # sample is already in random order
            counts = full[:, :, np.random.default_rng([o, size]).integers(0, n_real, size)]
            order = np.arange(size)
        table = {n: dict(zip(KEYS, counts[i])) for i, n in enumerate(names)}
        f1 = {n: f1_of(counts[i]) for i, n in enumerate(names)}
        whole = counts.shape[2] * sum(cost.values())
        cache: dict = {}
        for method in methods:
            for alpha in ALPHAS:
                for delta in DELTAS:
                    r = replay(table, order, ROUNDS, alpha, delta, method, seed=o, cache=cache)
                    same, false_drop, winner_dropped = outcome(r, f1, delta)
                    cells.setdefault((method, alpha, delta), []).append(
                        np.array([1 - r.requests(cost) / whole, same, false_drop, winner_dropped]))
    out = []
    for (method, alpha, delta), rows in cells.items():
        saved, same, false_drop, winner_dropped = np.mean(rows, axis=0)
        out.append({"board": split["board"], "dataset": split["dataset"], "sentences": size or n_real,
                    "synthetic": size is not None, "systems": len(names), "method": method, "alpha": alpha,
                    "delta": delta, "orders": orders, "saved": float(saved), "same_winner": float(same),
                    "false_drop": float(false_drop), "winner_dropped": float(winner_dropped)})
    return out


def equal_systems(split: dict[str, Any], copies: int, orders: int, methods: list[str]) -> list[dict[str, Any]]:
    """Any drop is false: every racer has the same F1 on the whole split."""
    from nerbench.score.racing import replay

    ranked = sorted(split["systems"], key=lambda n: -f1_of(split["systems"][n]))
    bases = [n for n in ranked if f1_of(split["systems"][n]) > 0][:4]
    drops: dict[tuple[str, float], list[bool]] = {}
    for b, name in enumerate(bases):
        counts = split["systems"][name]
        n = counts.shape[1]
        rng = np.random.default_rng([b, copies, 7])
        racers = {f"copy{c}": dict(zip(KEYS, counts[:, rng.permutation(n) if c else np.arange(n)]))
                  for c in range(copies)}
        for o in range(orders):
            order = np.random.default_rng([b, o, 1]).permutation(n)
            cache: dict = {}
            for method in methods:
                for alpha in ALPHAS:
                    r = replay(racers, order, ROUNDS, alpha, 0.0, method, seed=10_000 * b + o, cache=cache)
                    drops.setdefault((method, alpha), []).append(bool(r.dropped))
    return [{"board": split["board"], "dataset": split["dataset"], "copies": copies, "bases": bases,
             "method": m, "alpha": a, "orders": len(v), "false_drop": float(np.mean(v))} for (m, a), v in drops.items()]


def judge_cost(split: dict[str, Any], names: list[str], ensembles: list[dict[str, Any]], answered: dict[str, int],
               order: np.ndarray) -> tuple[float, float]:
    """Extraction requests and judge questions of one (raced or full) run of the split."""
    need = {n: answered[n] for n in names}
    for e in ensembles:
        for m in e["members"]:
            need[m] = max(need[m], answered[e["name"]])
    extraction = sum(need[n] * split["cost"][n] for n in names)
    labels = len(split["labels"])
    models = sorted({j for e in ensembles for j in e["judges"]})
    judge = 0
    for position, sentence in enumerate(order):
        ranges = len(set().union(*(split["spans"][n][sentence] for n in names if position < need[n])))
        for model in models:
            racing = [e for e in ensembles if position < answered[e["name"]] and model in e["judges"]]
            if any(e["kind"] == "llm-judge" for e in racing):
                judge += ranges * labels
            elif racing:
                judge += ranges  # el4ner's verification of the typed span
            if any(e["kind"] == "el4ner" for e in racing):
                judge += ranges  # el4ner's typing question
    return float(extraction), float(judge)


def judged_race(split: dict[str, Any], orders: int, methods: list[str]) -> list[dict[str, Any]]:
    from nerbench.score.racing import replay

    names = list(split["systems"])
    ensembles = list(split["ensembles"].values())
    n = next(iter(split["systems"].values())).shape[1]
    table = {**{m: dict(zip(KEYS, split["systems"][m])) for m in names},
             **{e["name"]: dict(zip(KEYS, e["counts"])) for e in ensembles}}
    f1 = {k: f1_of(np.array([v[key] for key in KEYS])) for k, v in table.items()}
    full_extraction, full_judge = judge_cost(split, names, ensembles, {k: n for k in table}, np.arange(n))
    rows: dict[tuple[str, float, float], list[np.ndarray]] = {}
    for o in range(orders):
        order = np.random.default_rng([o, 0]).permutation(n)
        cache: dict = {}
        for method in methods:
            for alpha in ALPHAS:
                for delta in DELTAS:
                    r = replay(table, order, ROUNDS, alpha, delta, method, seed=o, cache=cache)
                    extraction, judge = judge_cost(split, names, ensembles, r.answered, order)
                    same, false_drop, _ = outcome(r, f1, delta)
                    rows.setdefault((method, alpha, delta), []).append(np.array([
                        1 - extraction / full_extraction, 1 - judge / full_judge,
                        1 - (extraction + judge) / (full_extraction + full_judge), same, false_drop]))
    out = []
    for (method, alpha, delta), v in rows.items():
        e, j, a, same, fd = np.mean(v, axis=0)
        out.append({"board": split["board"], "dataset": split["dataset"], "racers": len(table),
                    "judged_ensembles": [e_["name"] for e_ in ensembles], "method": method, "alpha": alpha,
                    "delta": delta, "orders": orders, "full_extraction": full_extraction, "full_judge": full_judge,
                    "saved_extraction": float(e), "saved_judge": float(j), "saved_all": float(a),
                    "same_winner": float(same), "false_drop": float(fd)})
    return out


def pct(x: float) -> str:
    return f"{100 * x:.0f}"


def markdown(report: dict[str, Any], methods: list[str]) -> str:
    short = {"baseline-bonferroni": "bonf", "naive": "naive", "holm-gs": "nerbench"}
    heads = " · ".join(short[m] for m in methods)
    lines = [f"Saved % / same winner % / false drop % — {heads}; {report['orders']} orders, {ROUNDS} rounds", "",
             f"| split | sentences | systems | α | δ | saved % ({heads}) | same winner % | false drop % |",
             "|---|---|---|---|---|---|---|---|"]
    cells = {(r["board"], r["dataset"], r["sentences"], r["synthetic"], r["alpha"], r["delta"], r["method"]): r
             for r in report["races"]}
    keys = sorted({k[:6] for k in cells}, key=lambda k: (k[0], k[1], k[3], k[2], k[4], k[5]))
    for key in keys:
        rows = [cells[(*key, m)] for m in methods]
        size = f"{key[2]}{' (synthetic)' if key[3] else ''}"
        lines.append(f"| {key[0]} {key[1]} | {size} | {rows[0]['systems']} | {key[4]:g} | {100 * key[5]:g} | "
                     + " | ".join(" · ".join(pct(r[field]) for r in rows)
                                  for field in ("saved", "same_winner", "false_drop")) + " |")
    lines += ["", f"Equal systems (any drop is false), false drop % — {heads}", "",
              "| split | copies | α | false drop % |", "|---|---|---|---|"]
    eq = {(r["board"], r["dataset"], r["copies"], r["alpha"], r["method"]): r for r in report["equal"]}
    for key in sorted({k[:4] for k in eq}):
        lines.append(f"| {key[0]} {key[1]} | {key[2]} | {key[3]:g} | "
                     + " · ".join(f"{100 * eq[(*key, m)]['false_drop']:.1f}" for m in methods) + " |")
    if report["judged"]:
        lines += ["", f"pt-two-families with judge questions (test split): saved % of extraction / judge / all "
                      f"requests — {heads}", "",
                  "| split | racers | α | δ | extraction | judge | all | same winner % | false drop % |",
                  "|---|---|---|---|---|---|---|---|---|"]
        jd = {(r["dataset"], r["alpha"], r["delta"], r["method"]): r for r in report["judged"]}
        for key in sorted({k[:3] for k in jd}):
            rows = [jd[(*key, m)] for m in methods]
            lines.append(f"| {key[0]} | {rows[0]['racers']} | {key[1]:g} | {100 * key[2]:g} | "
                         + " | ".join(" · ".join(pct(r[f]) for r in rows) for f in
                                      ("saved_extraction", "saved_judge", "saved_all", "same_winner", "false_drop"))
                         + " |")
        totals = {}
        for r in report["judged"]:
            t = totals.setdefault((r["alpha"], r["delta"], r["method"]), [0.0, 0.0])
            t[0] += (1 - r["saved_all"]) * (r["full_extraction"] + r["full_judge"])
            t[1] += r["full_extraction"] + r["full_judge"]
        together = {k: 1 - spent / whole for k, (spent, whole) in totals.items()}
        lines += ["", "Both datasets together, saved % of all requests: "
                  + "; ".join(f"α {a:g} δ {100 * d:g}: " + " · ".join(pct(together[(a, d, m)]) for m in methods)
                              for a in ALPHAS for d in DELTAS)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100, help="random sentence orders per cell")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--board", action="append", help="only these leaderboards (folder names)")
    parser.add_argument("--no-synthetic", action="store_true", help="the real splits only")
    parser.add_argument("--smoke", action="store_true",
                        help="2 orders of pt-two-families' real splits (judges included); checks the output")
    args = parser.parse_args()
    if args.smoke:
        args.orders, args.board, args.no_synthetic = 2, ["pt-two-families"], True
    from nerbench.score.racing import BASELINE, DEFAULT_METHOD, NAIVE, nominal_levels

    methods = [BASELINE, NAIVE, DEFAULT_METHOD]
    boards = sorted(p.parent for p in (REPO / "leaderboards").glob("*/results.json")
                    if not args.board or p.parent.name in args.board)
    t0 = time.perf_counter()
    report: dict[str, Any] = {"orders": args.orders, "rounds": ROUNDS, "alphas": ALPHAS, "deltas": DELTAS,
                              "methods": methods, "races": [], "equal": [], "judged": []}
    for board in boards:
        for split in load(board):
            for size in SIZES if not args.no_synthetic else (None,):
                report["races"] += race_split(split, size, args.orders, methods)
            for copies in (2, 4):
                report["equal"] += equal_systems(split, copies, max(args.orders // 2, 1), methods)
            if split["ensembles"]:
                report["judged"] += judged_race(split, args.orders, methods)
    # The levels holm-gs used at 10 rounds of 100 sentences (tested looks 30..90), for the docs.
    report["levels_100_sentences"] = {f"alpha/{u}": nominal_levels(0.05 / u, tuple(range(30, 100, 10)))
                                      for u in (2, 8)}
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    report["cpus"] = os.cpu_count()
    print(markdown(report, methods))
    print(f"\n{report['wall_s']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=list))
    if args.smoke:
        check_smoke(report, methods)


def check_smoke(report: dict[str, Any], methods: list[str]) -> None:
    from smoke import check

    check(len(report["races"]) == len({(r["dataset"], r["method"]) for r in report["races"]}) * len(ALPHAS)
          * len(DELTAS) > 0, f"{len(report['races'])} race cells")
    check({r["method"] for r in report["races"]} == set(methods), "a method did not race")
    for row in [*report["races"], *report["judged"]]:
        shares = [row[k] for k in ("saved", "same_winner", "false_drop", "saved_extraction", "saved_all") if k in row]
        check(all(0 <= x <= 1 for x in shares), f"a share outside [0, 1]: {row}")
    check(bool(report["equal"]) and bool(report["judged"]), "no equal-systems or judged races")


if __name__ == "__main__":
    main()
