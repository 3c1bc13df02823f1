"""The numbers leaderboards/pt-distill/README.md states, from its results
files alone (no model, no training):

    python leaderboards/pt-distill/analyse.py

- each teacher's silver (`silver/*/silver.jsonl`) against the gold it was
  annotated without: spans, P, R, F1;
- students on the whole LeNER-Br test split (`test-KIND/results.json`): F1 mean ±
  sd over seeds per student and training data, P, R, training time, size,
  sentences/s;
- students against their teachers on the first 100 test sentences
  (`students-100-KIND/results.json`; the teachers from pt-two-families' published
  predictions there, combined as they annotated, no model call): each
  teacher's F1 with its 95% interval, and
  for each student the paired bootstrap p of "the student does not beat the
  teacher" (seeds pooled: their per-sentence counts summed);
- what the silver is worth in gold sentences, and disagreement against
  random gold, with paired p on the whole test split;
- the compute of training, from the `train.json` each `nerbench train` wrote
  (copied to `students/<student>-<data>/`; the models themselves are not
  committed).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from nerbench.distil.train import read_silver
from nerbench.files.predictions import group_by_system
from nerbench.index.candidates import build_index
from nerbench.index.search import run_ensemble
from nerbench.plugin_system.factory import Where, make
from nerbench.plugin_system.manager import get_registry
from nerbench.score.bootstrap import f1_interval, paired_p_value
from nerbench.score.prf import prf
from nerbench.score.strict import per_sentence, score

HERE = Path(__file__).resolve().parent
PUBLISHED = HERE.parent / "pt-two-families" / "predictions.jsonl"
#: The teachers of the silver (annotate.sh): the best single system and the union and majority of these four.
MEMBERS = ("embedded/smollm2-135m/json-3shot", "embedded/smollm2-135m/json-grouped-3shot",
           "embedded/gemma3-270m/json-3shot", "embedded/gemma3-270m/json-grouped-3shot")
BEST = "embedded/gemma3-270m/json-grouped-3shot"
NAME = re.compile(r"^(?P<student>crf|spacy)/(?P=student)-(?P<data>.+)-seed-(?P<seed>\d+)/student$")


def load(pattern: str) -> dict[str, Any]:
    """The systems of every results file matching `pattern` (one per student kind), as one document."""
    paths = sorted(HERE.glob(pattern))
    return {"systems": [e for p in paths for e in json.loads(p.read_text(encoding="utf-8"))["systems"]]}


def f1(counts: dict[str, list[int]]) -> float:
    return float(prf(sum(counts["tp"]), sum(counts["predicted"]), sum(counts["gold"]))[2])


def pooled(entries: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Per-sentence counts of several seeds summed: the seeds as one system."""
    return {k: list(np.sum([e["per_sentence"][k] for e in entries], axis=0)) for k in ("tp", "predicted", "gold")}


def students(doc: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for entry in doc["systems"]:
        match = NAME.match(entry["system"])
        if match:
            out[(match["student"], match["data"])].append(entry)
    return out


def teachers(n: int = 100) -> list[dict[str, Any]]:
    """The teachers on the first `n` LeNER-Br test sentences, from the
    predictions pt-two-families published: name, metrics and per-sentence
    counts, as a results file lists a system."""
    registry = get_registry()
    dataset = registry.get("datasets", "lener_br")
    every = list(dataset.sentences("test"))
    sentences = every[:n]
    systems = group_by_system([PUBLISHED], "lener_br", "test", {s.id: s for s in every},
                              [label.name for label in dataset.labels])
    index = build_index(sentences, {m: systems[m] for m in MEMBERS}, key=f"lener_br:test:{n}")
    out = [{"system": BEST, "per_sentence": per_sentence(sentences, systems[BEST])}]
    for name in ("union", "majority"):
        result, _ = run_ensemble(name, make(registry, "combiners", name, {},
                                                    Where("analyse.py", name)), index, None, "none")
        out.append({"system": result["system"], "per_sentence": result["per_sentence"]})
    return out


def silver_quality() -> list[str]:
    dataset = get_registry().get("datasets", "lener_br")
    gold = {s.id: s for s in dataset.sentences("train")}
    rows = ["| teacher | sentences | spans | P | R | F1 |", "|---|---|---|---|---|---|"]
    for folder in sorted(p for p in (HERE / "silver").iterdir() if (p / "silver.jsonl").is_file()):
        silver = read_silver(folder / "silver.jsonl")
        m = score([gold[s.sentence.id] for s in silver], {s.sentence.id: s.sentence.spans for s in silver})
        rows.append(f"| {folder.name} | {len(silver)} | {sum(len(s.sentence.spans) for s in silver)} | "
                    f"{100 * m['precision']:.1f} | {100 * m['recall']:.1f} | {100 * m['f1']:.1f} |")
    return rows


def per_s(entry: dict[str, Any]) -> float | None:
    c = entry.get("counts", {})
    return entry["sentences"] / (c["mean_latency_s"] * c["requests"]) if c.get("mean_latency_s") else None


def table_test(doc: dict[str, Any]) -> list[str]:
    rows = ["| student | trained on | F1 mean ± sd (3 seeds) | P | R | size MB | sentences/s |",
            "|---|---|---|---|---|---|---|"]
    for (student, data), entries in sorted(students(doc).items(), key=lambda kv: (kv[0][0], kv[0][1])):
        f1s = [100 * e["metrics"]["f1"] for e in entries]
        p = statistics.mean(100 * e["metrics"]["precision"] for e in entries)
        r = statistics.mean(100 * e["metrics"]["recall"] for e in entries)
        size = statistics.mean(e["backend"]["size_bytes"] for e in entries) / 1e6
        speed = [s for s in (per_s(e) for e in entries) if s]
        rate = f"{statistics.mean(speed):.0f}" if speed else "–"
        rows.append(f"| {student} | {data} | {statistics.mean(f1s):.1f} ± {statistics.pstdev(f1s):.1f} "
                    f"(n={len(f1s)}) | {p:.1f} | {r:.1f} | {size:.1f} | {rate} |")
    return rows


def table_compute() -> list[str]:
    rows = ["| student | trained on | silver + gold sentences | train s per seed (mean) | peak RSS MB (max) |",
            "|---|---|---|---|---|"]
    for path in sorted((HERE / "students").glob("*/train.json")):
        runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
        student, data = path.parent.name.split("-", 1)
        about = runs[0]["data"]
        sentences = " + ".join(str(about[k]) for k in ("silver_sentences", "gold_sentences") if k in about)
        rows.append(f"| {student} | {data} | {sentences} | "
                    f"{statistics.mean(r['train_s'] for r in runs):.1f} | {max(r['max_rss_mb'] for r in runs):.0f} |")
    return rows


def main() -> None:
    print("## The silver against the gold it was annotated without\n")
    print("\n".join(silver_quality()))
    test, paired = load("test-*/results.json"), load("students-100-*/results.json")
    if not test["systems"]:
        return  # no student scored yet
    print("\n## Students on the whole test split\n")
    print("\n".join(table_test(test)))
    print("\n## Training compute\n")
    print("\n".join(table_compute()))
    by = students(test)

    print("\n## Against the teachers, first 100 test sentences\n")
    published = teachers()
    for t in published:
        low, high = f1_interval(t["per_sentence"])
        print(f"- teacher {t['system']}: F1 {100 * f1(t['per_sentence']):.1f} ({100 * low:.1f}–{100 * high:.1f})")
    near = students(paired)
    print("\n| student | trained on | F1 mean (seeds) | F1 pooled (95% CI) | p (not better) vs "
          + ", ".join(t["system"].split("[")[0] for t in published) + " |")
    print("|---|---|---|---|---|")
    for (student, data), entries in sorted(near.items()):
        counts = pooled(entries)
        low, high = f1_interval(counts)
        ps = ", ".join(f"{paired_p_value(counts, pooled([t] * len(entries))):.3f}" for t in published)
        mean = statistics.mean(100 * e["metrics"]["f1"] for e in entries)
        print(f"| {student} | {data} | {mean:.1f} | {100 * f1(counts):.1f} ({100 * low:.1f}–{100 * high:.1f}) | "
              f"{ps} |")

    print("\n## Gold budget, whole test split (seeds pooled; p: paired bootstrap)\n")
    for student in ("crf", "spacy"):
        for k in (50, 100, 200):
            a, b = by.get((student, f"mixed-{k}-disagreement")), by.get((student, f"mixed-{k}-random"))
            if a and b:
                pa, pb = pooled(a), pooled(b)
                print(f"- {student} k={k}: disagreement {100 * f1(pa):.1f} vs random {100 * f1(pb):.1f}; "
                      f"p(disagreement does not beat random) = {paired_p_value(pa, pb):.3f}")
            c = by.get((student, f"pretrain-{k}"))
            g = gold_alone(by, student, k)
            pairs = (("silver then the gold", c, "mixed (disagreement)", a), ("the gold alone", g, "mixed", a),
                     ("silver then the gold", c, "the gold alone", g))
            for one, x, other, y in pairs:
                if x and y:
                    print(f"- {student} k={k}: {one} {100 * f1(pooled(x)):.1f} vs {other} {100 * f1(pooled(y)):.1f}; "
                          f"p(not better) = {paired_p_value(pooled(x), pooled(y)):.3f}")
        curve = [(k, f1(pooled(g))) for k in (50, 100, 200) if (g := gold_alone(by, student, k))]
        if (student, "gold-same-1000") in by:
            curve.append((1000, f1(pooled(by[(student, "gold-same-1000")]))))
        if not curve:
            continue
        print(f"- {student}, gold alone by k: " + ", ".join(f"{k}: {100 * v:.1f}" for k, v in curve))
        for (kind, data), entries in sorted(by.items()):
            if kind == student and data.startswith("silver-"):
                print(f"  - {data} alone {100 * f1(pooled(entries)):.1f}: {worth(f1(pooled(entries)), curve)}")


def gold_alone(by: dict[tuple[str, str], list[dict[str, Any]]], student: str, k: int) -> list[dict[str, Any]] | None:
    """The students on k gold sentences alone: those train.sh gave the updates
    of 1,000 sentences where they exist (patience 3 stops a blank spaCy at F1 0)."""
    return by.get((student, f"gold-only-{k}-same-updates")) or by.get((student, f"gold-only-{k}"))


def worth(silver: float, curve: list[tuple[int, float]]) -> str:
    """The gold-only budget that matches `silver`'s F1, log-linear between the two nearest measured k."""
    if silver < curve[0][1]:
        return f"worth less than {curve[0][0]} gold sentences"
    for (k0, f0), (k1, f1_) in zip(curve, curve[1:]):
        if f0 <= silver <= f1_ and f1_ > f0:
            return f"worth about {k0 * (k1 / k0) ** ((silver - f0) / (f1_ - f0)):.0f} gold sentences"
    return f"worth more than {curve[-1][0]} gold sentences"


if __name__ == "__main__":
    main()
