"""The active loop's study, replayed with no model call (leaderboards/pt-loop/README.md).

The pool is pt-distill's committed silver: 1,000 LeNER-Br train sentences
annotated by the union of four 3-shot systems, each member's answers known.
Each round a strategy picks 50 more sentences, a reviewer simulated from the
corpus gold labels them, and the student is trained again on the union's
silver plus all the reviewed gold with its kind's recipe, as `nerbench loop`
trains it (`Student.recipe`, `nerbench.distil.loop.round_training`): the CRF
on the reviewed gold in place of its silver, the rest taught with `missing`
(`mixed`); spaCy on the silver taught with `O`, then the reviewed gold from
that model (`pretrain`: round 0's student, trained on the silver alone, is
every later round's silver phase). Round 0 reviews nothing, so it is trained
once per seed and its record shared by the strategies. Every student is
scored on the whole test split; the stopping rule compares it with its
teacher on the labelled dev sentences the teacher answered in
pt-two-families.

Resumable: one JSON per strategy × seed × round under `results/`; a round
whose JSON exists is not trained again (its model, kept under --work, is
retrained from the recorded reviewed ids where the next pick needs it and it
is gone — the CRF is deterministic given its data and seed).
`--results` and `--use`/`--unlabelled` replay another recipe into another
folder (pt-loop's `results-spacy-mixed/`: spaCy with the CRF's recipe).

    NERBENCH_DATA_DIR=/work/shared/datasets OMP_NUM_THREADS=1 \\
        python leaderboards/pt-loop/study.py --seeds 0 1 2 3 4 --work /tmp/pt-loop-models
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from nerbench.distil.picks import STRATEGIES, pick
from nerbench.distil.stopping import Decision, Rule, decide
from nerbench.distil.loop import round_training
from nerbench.distil.train import UNLABELLED, USES, read_silver, train_student
from nerbench.files.atomic import atomic_write
from nerbench.files.predictions import group_by_system
from nerbench.index.candidates import build_index
from nerbench.index.search import run_ensemble
from nerbench.plugin_system.factory import Where, make
from nerbench.plugin_system.manager import get_registry
from nerbench.records import Sentence
from nerbench.score.strict import per_sentence

HERE = Path(__file__).resolve().parent
SILVER = HERE.parent / "pt-distill" / "silver" / "union" / "silver.jsonl"
PUBLISHED = HERE.parent / "pt-two-families" / "predictions.jsonl"
#: the union's members, as pt-distill annotated with them
MEMBERS = ("embedded/smollm2-135m/json-3shot", "embedded/smollm2-135m/json-grouped-3shot",
           "embedded/gemma3-270m/json-3shot", "embedded/gemma3-270m/json-grouped-3shot")
BATCH, ROUNDS = 50, 8
RULE = Rule(delta=0.05, alpha=0.05, rounds=ROUNDS, patience=3)
OPTIONS: dict[str, Any] = {}
#: each student kind's results folder, and why it trains with no dev sentences
STUDENTS = {"crf": (HERE / "results", "none: one c1/c2 setting, no early stopping"),
            "spacy": (HERE / "results-spacy", "none: every epoch runs (max_epochs), no early stopping")}


def teacher(split: str) -> tuple[list[Sentence], dict[str, list[int]]]:
    """The union's per-sentence counts on the `split` sentences its members
    answered in pt-two-families (combined there as pt-distill annotated,
    no model call), and those sentences."""
    registry = get_registry()
    dataset = registry.get("datasets", "lener_br")
    every = {s.id: s for s in dataset.sentences(split)}
    systems = group_by_system([PUBLISHED], "lener_br", split, every, [label.name for label in dataset.labels])
    answered = [every[i] for i in every if all(i in systems[m] for m in MEMBERS)]
    index = build_index(answered, {m: systems[m] for m in MEMBERS}, key=f"lener_br:{split}:{len(answered)}")
    result, _ = run_ensemble("union", make(registry, "combiners", "union", {}, Where("study.py", "union")),
                             index, None, "none")
    return answered, result["per_sentence"]


def path(results: Path, strategy: str, seed: int, round_: int) -> Path:
    return results / strategy / f"seed-{seed}" / f"round-{round_}.json"


def model_dir(work: Path, strategy: str, seed: int, round_: int) -> Path:
    """Where a round's model is kept: round 0's, trained on the silver alone, is one per seed."""
    return work / f"seed-{seed}" / "round-0" if round_ == 0 else work / strategy / f"seed-{seed}" / f"round-{round_}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--work", type=Path, required=True, help="where the models go (not committed)")
    parser.add_argument("--student", choices=sorted(STUDENTS), default="crf",
                        help="the student kind (its results go to results/ for crf, results-KIND/ otherwise)")
    parser.add_argument("--use", choices=USES, help="how silver and gold are spent [the kind's recipe]")
    parser.add_argument("--unlabelled", choices=UNLABELLED, help="silver tokens outside spans [the kind's recipe]")
    parser.add_argument("--results", type=Path, help="where the round JSONs go [the kind's folder]")
    args = parser.parse_args()
    student_kind = args.student
    results, dev_note = STUDENTS[student_kind]
    results = args.results or results
    work = args.work / student_kind if args.results is None else args.work / args.results.name

    registry = get_registry()
    dataset = registry.get("datasets", "lener_br")
    labels = [label.name for label in dataset.labels]
    student_cls = registry.get("students", student_kind)
    use = args.use or student_cls.recipe[0]
    unlabelled = args.unlabelled or student_cls.recipe[1]
    pool = read_silver(SILVER)
    gold = {s.id: s for s in dataset.sentences("train")}
    test = list(dataset.sentences("test"))
    dev, dev_teacher = teacher("dev")
    first, first_teacher = teacher("test")
    results.mkdir(parents=True, exist_ok=True)
    (results / "teacher.json").write_text(json.dumps({
        "teacher": f"union[{'+'.join(MEMBERS)}]", "dev": {"ids": [s.id for s in dev], "counts": dev_teacher},
        "test_first": {"ids": [s.id for s in first], "counts": first_teacher}}) + "\n", encoding="utf-8")

    def run_round(strategy: str, seed: int, round_: int, reviewed: list[str], picked: list[str],
                  earlier: list[Decision]) -> dict[str, Any]:
        """Train on the silver plus the reviewed gold, score it, decide; write the round's JSON."""
        model = model_dir(work, strategy, seed, round_)
        data, start = round_training(pool, {i: gold[i] for i in reviewed}, use, unlabelled,
                                     {"silver": str(SILVER.relative_to(HERE.parent))},
                                     model_dir(work, strategy, seed, 0) if round_ else None)
        started = time.perf_counter()
        meta = train_student(student_cls, student_kind, OPTIONS, data, [], labels, dataset.language, model, seed,
                             dev_note, start=start)
        student = student_cls(**OPTIONS)
        student.load(model)
        scored = {name: per_sentence(sentences, dict(zip((s.id for s in sentences), student.predict(sentences))))
                  for name, sentences in (("test", test), ("dev", dev), ("test_first", first))}
        record: dict[str, Any] = {
            "strategy": strategy, "seed": seed, "round": round_, "reviewed": len(reviewed),
            "picked": sorted(picked), "reviewed_ids": sorted(reviewed), "student": student_kind, "options": OPTIONS,
            "unlabelled": unlabelled, "use": use, "counts": scored,
            "train_s": meta["train_s"], "round_s": round(time.perf_counter() - started, 3),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        if round_ >= 1:
            decision = decide(RULE, round_, scored["dev"], dev_teacher, earlier)
            record["decision"] = decision.to_json()
            record["rule"] = {"delta": RULE.delta, "alpha": RULE.alpha, "rounds": RULE.rounds,
                              "patience": RULE.patience}
        out = path(results, strategy, seed, round_)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out) as handle:  # whole or absent: an interrupted study resumes from what it wrote
            handle.write(json.dumps(record) + "\n")
        return record

    for seed in args.seeds:
        for strategy in args.strategies:
            reviewed: list[str] = []
            earlier: list[Decision] = []
            for round_ in range(args.rounds + 1):
                done = path(results, strategy, seed, round_)
                model = model_dir(work, strategy, seed, round_)
                # round 0 reviews nothing: another strategy's round 0 of this seed is this one's
                shared = None if round_ else next((p for s in STRATEGIES if s != strategy
                                                   if (p := path(results, s, seed, 0)).is_file()), None)
                if not done.is_file() and shared is not None:
                    record = {**json.loads(shared.read_text(encoding="utf-8")), "strategy": strategy,
                              "shared_from": shared.parent.parent.name}
                    done.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_write(done) as handle:
                        handle.write(json.dumps(record) + "\n")
                if done.is_file():
                    record = json.loads(done.read_text(encoding="utf-8"))
                    if (record["use"], record["unlabelled"]) != (use, unlabelled):
                        sys.exit(f"{done}: trained with --use {record['use']} --unlabelled {record['unlabelled']}, "
                                 f"not {use} and {unlabelled}: give another --results")
                    reviewed = record["reviewed_ids"]
                    needs_model = round_ < args.rounds and not path(results, strategy, seed, round_ + 1).is_file()
                    if needs_model and not (model / "student.json").is_file():
                        run_round(strategy, seed, round_, reviewed, record["picked"], earlier)
                else:
                    picked: list[str] = []
                    if round_ >= 1:
                        student = None
                        if strategy in ("doubt", "hybrid"):
                            student = student_cls(**OPTIONS)
                            student.load(model_dir(work, strategy, seed, round_ - 1))
                        picked = pick(strategy, pool, BATCH, seed * 1000 + round_, student=student,
                                      exclude=set(reviewed))
                    reviewed = sorted({*reviewed, *picked})
                    record = run_round(strategy, seed, round_, reviewed, picked, earlier)
                    print(f"{strategy} seed {seed} round {round_}: {len(reviewed)} reviewed, "
                          f"{record['round_s']} s, {record.get('decision', {}).get('verdict', '')}", flush=True)
                if "decision" in record:
                    d = record["decision"]
                    earlier.append(Decision(**{**d, "student_interval": tuple(d["student_interval"])}))


if __name__ == "__main__":
    sys.exit(main())
