"""`nerbench loop`: the active loop, one round per call. A folder holds its
state; each call trains the student on the silver plus every reviewed gold
sentence, compares it with its teacher on the labelled dev sample (the
stopping rule, `nerbench.distil.stopping`), picks the next batch for a
person to review (`nerbench.distil.picks`) and says where the loop stands.

The folder:

- `loop.json`: the settings, written by the first call; a later call that
  names another value is refused (a loop is one experiment);
- `round-N/model/`: the student of round N (`student.json` beside it).
  Under `pretrain` (the silver, then the gold) round 0's student is the
  silver phase of every round: a later round trains the reviewed gold
  starting from it rather than training on the silver again;
- `round-N/sent.jsonl`: the silver sentences sent for review (sentence JSONL);
- `round-N/review/`: with `--to TOOL`, the batch for the person's
  annotation tool, written by `review export`'s own code (a review folder:
  its manifest records the loop and the round);
- `round-N/reviewed.jsonl`: what came back (sentence JSONL with the
  reviewed spans), written by the person, by `--import EXPORT_FILE` (the
  tool's export read back by `review import`'s own code, into the review
  folder first) or by `--reviewer gold:ID:SPLIT` (a perfect reviewer from
  corpus gold). An imported round holds the accepted sentences alone: a
  sentence the person rejected, skipped or did not review is counted
  (`came_back` in the next round's record), never taught as "no entity" —
  it stays silver and goes back to the pool, so it may be picked again. A
  file the person writes by hand holds every sentence sent;
- `round-N/round.json`: the round's record (what it trained on, the
  decision, what it sent), written last: a round without it is redone by
  the next call, so an interrupted call resumes where it stopped.

The dev sample judges the student, so it is never used to train it or stop
its training (the student trains with no dev sentences).

Each round's record says what the loop has cost so far (`cost`:
`nerbench.distil.cost`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from nerbench.data.readers import sentence_lines
from nerbench.distil.cost import cost_line, loop_cost
from nerbench.distil.picks import NEEDS_STUDENT, STRATEGIES, pick
from nerbench.distil.review import IMPORTED, MANIFEST, export_review, import_review, read_annotation
from nerbench.distil.review_formats import ACCEPTED, REJECTED, SKIPPED, TASK_FILES, TOOLS, UNREVIEWED
from nerbench.distil.silver import SilverSentence, write_silver_jsonl
from nerbench.distil.stopping import Decision, Rule, decide
from nerbench.distil.train import UNLABELLED, USES, TrainingData, budget_data, read_silver, train_student
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.files.predictions import group_by_system
from nerbench.files.results import write_document
from nerbench.files.schema import validate
from nerbench.files.text import read_json
from nerbench.plugin_system.factory import Where, check_options, dataset_split
from nerbench.plugin_system.manager import Registry
from nerbench.records import Sentence
from nerbench.score.strict import per_sentence
from nerbench.students import META

SETTINGS = "loop.json"
#: a round's batch for the person's tool (a review folder)
REVIEW = "review"
_IMPORTED = {"type": "object", "required": ["counts"], "properties": {
    "counts": {"type": "object", "required": [ACCEPTED, REJECTED, SKIPPED, UNREVIEWED],
               "additionalProperties": {"type": "integer", "minimum": 0}}}}
#: the settings a first call must give (no default makes sense for them)
REQUIRED = ("silver", "dev", "teacher_predictions", "teacher")


@dataclass(frozen=True)
class LoopSettings:
    """One loop's settings (`loop.json`): the `student` kind and its
    `options`; the `silver` (silver.jsonl) it learns from, spent with the
    reviewed gold as `use` says (as `nerbench train --use`), its unlabelled
    tokens read as `unlabelled` (None, either: the student kind's `recipe`,
    recorded by the first call); the labelled `dev` split ("ID:SPLIT") and
    the `teacher`'s predictions on it (`teacher_predictions`, its system
    name `teacher`): the dev sample is the sentences the teacher answered;
    the `pick` strategy and the `batch` sent per round; the stopping rule's
    `delta`, `alpha`, planned `rounds` and `patience`; the `seed`; the
    annotation tool each batch is also written for (`to`, None: sentence
    JSONL alone) and a person's seconds per reviewed sentence
    (`review_cost`, None: not known)."""

    silver: str
    dev: str
    teacher_predictions: str
    teacher: str
    student: str = "crf"
    options: dict[str, Any] = field(default_factory=dict)
    unlabelled: str | None = None
    use: str | None = None
    pick: str = "hybrid"
    batch: int = 50
    delta: float = 0.05
    alpha: float = 0.05
    rounds: int = 8
    patience: int = 3
    seed: int = 0
    to: str | None = None
    review_cost: float | None = None

    @property
    def rule(self) -> Rule:
        return Rule(self.delta, self.alpha, self.rounds, self.patience, seed=self.seed)


def settings(folder: Path, given: Mapping[str, Any]) -> LoopSettings:
    """The loop's settings: those `loop.json` recorded (a given value that
    differs is refused), else the given ones (recorded by `loop_round` once
    they are found to work)."""
    given = {k: v for k, v in given.items() if v is not None}
    path = folder / SETTINGS
    if path.is_file():
        recorded = read_json(path, SETTINGS)
        for key, value in given.items():
            if recorded.get(key) != value:
                raise NerbenchError(f"{folder}: a loop with {key} = {recorded.get(key)!r}, not {value!r}; "
                                    "give another folder or leave the option out")
        return LoopSettings(**recorded)
    lacking = [k for k in REQUIRED if k not in given]
    if lacking:
        raise NerbenchError(f"{folder}: a new loop needs --{lacking[0].replace('_', '-')}")
    chosen = LoopSettings(**given)
    if chosen.pick not in STRATEGIES:
        raise NerbenchError(f"--pick {chosen.pick!r} is not one of {', '.join(STRATEGIES)}")
    if chosen.use is not None and chosen.use not in USES:
        raise NerbenchError(f"--use {chosen.use!r} is not one of {', '.join(USES)}")
    if chosen.unlabelled is not None and chosen.unlabelled not in UNLABELLED:
        raise NerbenchError(f"--unlabelled {chosen.unlabelled!r} is not one of {', '.join(UNLABELLED)}")
    if chosen.batch < 1:
        raise NerbenchError(f"--batch {chosen.batch}: at least 1")
    if chosen.review_cost is not None and chosen.review_cost <= 0:
        raise NerbenchError(f"--review-cost {chosen.review_cost}: seconds a sentence, more than 0")
    if chosen.to is not None:
        if chosen.to not in TOOLS:
            raise NerbenchError(f"--to {chosen.to!r} is not one of {', '.join(TOOLS)}")
        tool_source(chosen)
    return chosen


def tool_source(chosen: LoopSettings) -> Path:
    """The annotation folder a loop `--to` a tool writes its batches from."""
    folder = annotation_dir(chosen.silver)
    if folder is None:
        raise NerbenchError(f"--to {chosen.to}: the batches are written from an annotation folder (silver.jsonl "
                            f"beside annotation.json and predictions.jsonl: `nerbench annotate -o DIR`); "
                            f"{chosen.silver} is not in one")
    return folder


def annotation_dir(silver: str) -> Path | None:
    """The annotation folder the silver lies in (`nerbench annotate -o DIR`), if it does."""
    path = Path(silver)
    folder = path.parent
    if path.name == "silver.jsonl" and all((folder / f).is_file() for f in ("annotation.json", "predictions.jsonl")):
        return folder
    return None


def _import_counts(round_dir: Path) -> dict[str, int] | None:
    """What the person did with an imported round's batch (`import.json`'s
    counts), or None for a round not imported from a tool."""
    path = round_dir / REVIEW / IMPORTED
    if not path.is_file():
        return None
    imported = read_json(path, "review import")
    validate(imported, _IMPORTED, str(path))
    return dict(imported["counts"])


def _reviewed(folder: Path, round_: int, labels: Sequence[str]) -> tuple[list[Sentence], dict[str, Any]]:
    """What came back for round `round_`'s batch, each sentence one that was
    sent — every one of them, unless the round was imported from a tool
    (then the person's rejected, skipped and unreviewed ones are left out) —
    and its counts."""
    round_dir = folder / f"round-{round_}"
    sent = {s.sentence.id for s in read_silver(round_dir / "sent.jsonl", labels)}
    back = [s for _, _, s in sentence_lines(round_dir / "reviewed.jsonl", "reviewed")]
    ids = {s.id for s in back}
    counts = _import_counts(round_dir)
    odd = sorted(ids - sent) or ([] if counts is not None else sorted(sent - ids))
    if odd:
        raise NerbenchError(f"{round_dir}/reviewed.jsonl: sentence {odd[0]!r} was "
                            f"{'not sent' if odd[0] in ids else 'sent and did not come back'}")
    if counts is None:
        counts = {ACCEPTED: len(back), REJECTED: 0, SKIPPED: 0, UNREVIEWED: 0}
    return back, {"round": round_, "sent": len(sent), "reviewed": len(back),
                  **{k: counts[k] for k in (REJECTED, SKIPPED, UNREVIEWED)}}


def _import(export_file: Path, folder: Path, round_: int, say: Callable[[str], None]) -> None:
    """The tool's export of round `round_`'s batch, read by `review import`'s
    code into the round's review folder, then its accepted sentences as the
    round's reviewed.jsonl. A bad export writes nothing."""
    round_dir = folder / f"round-{round_}"
    if not (round_dir / REVIEW / MANIFEST).is_file():
        raise NerbenchError(f"--import: round {round_}'s batch was not written for a tool (a loop without --to); "
                            f"put its review in {round_dir}/reviewed.jsonl")
    done = import_review(export_file, round_dir / REVIEW)
    with atomic_write(round_dir / "reviewed.jsonl") as out:
        out.write(done.reviewed.read_text(encoding="utf-8"))
    c = done.counts
    say(f"round {round_}: imported {export_file}: {c[ACCEPTED]} sentences reviewed ({c['changed']} corrected); "
        f"{c[REJECTED]} rejected, {c[SKIPPED]} skipped, {c[UNREVIEWED]} unreviewed: not taught, back to the pool")


def _gold_reviewer(registry: Registry, reviewer: str) -> tuple[str, dict[str, Sentence]]:
    """The corpus gold a `gold:ID:SPLIT` reviewer plays from, by sentence id."""
    kind, _, ref = reviewer.partition(":")
    if kind != "gold" or not ref:
        raise NerbenchError(f"--reviewer {reviewer!r}: gold:ID:SPLIT is the reviewer nerbench can play")
    dataset, split = dataset_split(registry, ref)
    return ref, {s.id: s for s in dataset.sentences(split)}


def _review_from_gold(reviewer: tuple[str, dict[str, Sentence]], folder: Path, round_: int,
                      labels: Sequence[str]) -> None:
    """A perfect reviewer: the sent sentences' corpus gold."""
    ref, gold = reviewer
    sent = read_silver(folder / f"round-{round_}" / "sent.jsonl", labels)
    lacking = [s.sentence.id for s in sent if s.sentence.id not in gold]
    if lacking:
        raise NerbenchError(f"--reviewer gold:{ref}: sentence {lacking[0]!r} is not in {ref}")
    write_silver_jsonl(folder / f"round-{round_}" / "reviewed.jsonl", [gold[s.sentence.id] for s in sent])


def _teacher(registry: Registry, chosen: LoopSettings) -> tuple[list[Sentence], dict[str, list[int]]]:
    """The dev sample (the dev sentences the teacher answered) and the teacher's counts on it."""
    dataset, split = dataset_split(registry, chosen.dev)
    every = {s.id: s for s in dataset.sentences(split)}
    systems = group_by_system([Path(chosen.teacher_predictions)], dataset.id, split, every,
                              [label.name for label in dataset.labels])
    if chosen.teacher not in systems:
        raise NerbenchError(f"--teacher {chosen.teacher!r} has no predictions in {chosen.teacher_predictions} "
                            f"for {chosen.dev}; it holds {', '.join(sorted(systems))}")
    answered = [every[i] for i in every if i in systems[chosen.teacher]]
    return answered, per_sentence(answered, systems[chosen.teacher])


def loop_round(folder: Path, given: Mapping[str, Any], registry: Registry, reviewer: str | None = None,
               say: Callable[[str], None] = lambda line: None, import_file: Path | None = None,
               progress: bool = False) -> dict[str, Any]:
    """One call of `nerbench loop`: take in the waiting round's review (from
    `import_file`, the person's tool's export, or the gold `reviewer`),
    train, decide, pick; returns the round's record (or, while a batch
    awaits its review or the loop has stopped, the last one). `say` is told
    where the loop stands; `progress` draws a bar of the training."""
    if import_file is not None and reviewer is not None:
        raise NerbenchError("--import brings a person's review in, --reviewer plays one: not both")
    chosen = settings(folder, given)
    dataset, _ = dataset_split(registry, chosen.dev)
    labels = [label.name for label in dataset.labels]
    gold_reviewer = None if reviewer is None else _gold_reviewer(registry, reviewer)
    done = 0
    while (folder / f"round-{done}" / "round.json").is_file():
        done += 1
    records = [read_json(folder / f"round-{k}" / "round.json", "round.json") for k in range(done)]
    ended = bool(records) and (records[-1]["decision"]["stop"] or not records[-1]["sent"])
    waiting = bool(records) and not ended and not (folder / f"round-{done - 1}" / "reviewed.jsonl").is_file()
    if import_file is not None and not waiting:
        raise NerbenchError(f"--import: no round of {folder} waits for its review")
    if ended:
        last = records[-1]
        say(f"round {last['round']}: {last['decision']['verdict']}; the loop has ended")
        return last
    if waiting:
        if import_file is not None:
            _import(import_file, folder, done - 1, say)
        elif gold_reviewer is not None:
            _review_from_gold(gold_reviewer, folder, done - 1, labels)
        else:
            say(f"round {done - 1}: waiting for the review of {_batch(folder, done - 1, chosen)}")
            return records[-1]
    student_cls = registry.get("students", chosen.student)
    use, unlabelled = chosen.use or student_cls.recipe[0], chosen.unlabelled or student_cls.recipe[1]
    chosen = replace(chosen, use=use, unlabelled=unlabelled)
    if use == "pretrain" and not student_cls.continues:  # round 0 trains the silver alone: refuse it now
        raise NerbenchError(f"--use pretrain: student {chosen.student!r} cannot continue training from a model; "
                            "use mixed or gold-only")
    if chosen.pick in NEEDS_STUDENT and not student_cls.doubts:  # refused before a round is paid for
        raise NerbenchError(f"--pick {chosen.pick}: student {chosen.student!r} does not say its doubt; "
                            "pick random or disagreement")
    check_options(student_cls, chosen.options, Where("nerbench loop", "--option"), f"student {chosen.student!r}")
    missing = student_cls.missing()
    if missing:
        raise NerbenchError(f"student {chosen.student!r} needs {missing}, which is not installed; "
                            f"run: {student_cls.install}")
    silver = read_silver(Path(chosen.silver), labels)
    came_back = [_reviewed(folder, k, labels) for k in range(done)]
    reviewed = {s.id: s for back, _ in came_back for s in back}
    dev, teacher = _teacher(registry, chosen)
    if chosen.to is not None:  # what the export reads, checked before a round is paid for
        read_annotation(tool_source(chosen))
    if not (folder / SETTINGS).is_file():  # recorded once they all work: a refused first call leaves nothing
        folder.mkdir(parents=True, exist_ok=True)
        write_document(folder / SETTINGS, asdict(chosen))
    round_dir = folder / f"round-{done}"
    data, start = round_training(silver, reviewed, use, unlabelled, {"silver": chosen.silver},
                                 folder / "round-0" / "model" if done else None)
    meta = train_student(student_cls, chosen.student, chosen.options, data, [], labels,
                         dataset.language, round_dir / "model", chosen.seed,
                         "none: the dev sample judges the student, so it never trains or stops it", progress, start)
    student = student_cls(**chosen.options)
    student.load(round_dir / "model")
    counts = per_sentence(dev, dict(zip((s.id for s in dev), student.predict(dev))))
    earlier = [Decision(**{**r["decision"], "student_interval": tuple(r["decision"]["student_interval"])})
               for r in records]
    decision = decide(chosen.rule, done + 1, counts, teacher, earlier)
    left = len(silver) - len(reviewed)
    picked = [] if decision.stop or left == 0 else pick(
        chosen.pick, silver, min(chosen.batch, left), chosen.seed * 1000 + done, student=student,
        exclude=set(reviewed))
    by_id = {s.sentence.id: s for s in silver}
    write_silver_jsonl(round_dir / "sent.jsonl", [by_id[i] for i in picked])
    if (round_dir / REVIEW).exists():  # the export of an interrupted call of this round: redone whole
        shutil.rmtree(round_dir / REVIEW)
    if chosen.to is not None and picked:
        export_review(tool_source(chosen), round_dir / REVIEW, chosen.to, picked, registry,
                      {"loop": str(folder), "round": done})
    cost = loop_cost(annotation_dir(chosen.silver), chosen.review_cost, folder, done, [c for _, c in came_back],
                     meta["train_s"])
    record = {"round": done, "reviewed": len(reviewed), "silver_sentences": len(silver) - len(reviewed),
              "dev_sentences": len(dev), "decision": decision.to_json(), "sent": picked,
              "came_back": came_back[-1][1] if came_back else None, "cost": cost}
    write_document(round_dir / "round.json", record)
    say(f"round {done}: trained on {len(silver) - len(reviewed)} silver + {len(reviewed)} reviewed sentences; "
        f"dev F1 {100 * decision.student_f1:.1f} (teacher {100 * decision.teacher_f1:.1f}); {decision.verdict}"
        + (f"; {len(picked)} sentences sent for review: {round_dir / 'sent.jsonl'}" if picked else ""))
    say(f"cost so far: {cost_line(cost)}")
    if gold_reviewer is not None and picked:
        _review_from_gold(gold_reviewer, folder, done, labels)
    elif picked:
        say(f"next: review {_batch(folder, done, chosen)}")
    return record


def round_training(silver: Sequence[SilverSentence], reviewed: Mapping[str, Sentence], use: str, unlabelled: str,
                   about: dict[str, Any], first: Path | None) -> tuple[TrainingData, Path | None]:
    """What a round's student trains on (the silver and the `reviewed`
    gold, spent as `use` says), and the model it starts from. Under
    `pretrain` the silver phase is the same in every round (all the silver,
    the same seed and options), and round 0's student, trained on the silver
    alone, is it: given as `first`, a later round trains its gold from that
    model instead of paying for the silver again."""
    data = budget_data(silver, reviewed, set(reviewed), use, unlabelled, about)
    if use != "pretrain" or len(data.phases) < 2 or first is None or not (first / META).is_file():
        return data, None
    return TrainingData(data.phases[1:], {**data.about, "silver_phase": str(first)}), first


def _batch(folder: Path, round_: int, chosen: LoopSettings) -> str:
    """Where round `round_`'s batch is and how its review comes back."""
    round_dir = folder / f"round-{round_}"
    if chosen.to is not None and (round_dir / REVIEW / MANIFEST).is_file():
        return (f"{round_dir / REVIEW / TASK_FILES[chosen.to]} in {chosen.to} (docs/distil.md says how), then bring "
                f"its export back: nerbench loop {folder} --import EXPORT_FILE")
    return (f"{round_dir / 'sent.jsonl'}: put it in {round_dir / 'reviewed.jsonl'} (sentence JSONL, every "
            f"sentence sent), then: nerbench loop {folder}")
