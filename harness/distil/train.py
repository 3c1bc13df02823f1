"""`nerbench train`: what a student learns from — silver, gold, or a gold
budget spent on some silver sentences — and the training itself, seeded,
with the provenance written beside every model (`student.json`).

Unlabelled tokens: with `unlabelled = "O"` every token outside a taught span
is taught as no entity; with `"missing"` the tokens outside the silver's
spans carry no label (spaCy's missing value: no loss), because a silent
teacher is the main damage of silver from small models. Gold sentences are
always taught in full.

A gold budget k picks k silver sentences to replace by their gold
(`nerbench.distil.picks`): by disagreement (the k with the highest 1 − mean
pairwise span F1 among the teacher's members, ties broken at random with the
seed) or at random. It is
then spent three ways: `mixed` (gold for those k, silver for the rest),
`gold-only` (those k alone) and `pretrain` (the silver first, then the k gold
as a second training started from that model)."""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nerbench import __version__
from nerbench.bases import Dataset, Student
from nerbench.data.sample import draw, first
from nerbench.distil import picks
from nerbench.distil.reviewed import read_reviewed
from nerbench.distil.silver import SilverSentence, checked_silver
from nerbench.errors import NerbenchError
from nerbench.files.results import write_document
from nerbench.files.text import read_json
from nerbench.parse.alignment import TokenIndex
from nerbench.plugin_system.factory import Where, check_options, dataset_split
from nerbench.plugin_system.manager import Registry
from nerbench.records import Example, Sentence
from nerbench.students import FILES, META, folder_files, student_id

UNLABELLED = ("O", "missing")
#: the picks `nerbench train --budget` offers: those that need no trained student
PICKS = tuple(s for s in picks.STRATEGIES if s not in picks.NEEDS_STUDENT)
USES = ("mixed", "gold-only", "pretrain")


def read_silver(path: Path, labels: Sequence[str] | None = None) -> list[SilverSentence]:
    """`silver.jsonl` as `nerbench annotate` writes it, through its one validating reader."""
    return checked_silver(path, labels).sentences


def training_silver(path: Path, labels: Sequence[str], allow_partial: bool = False
                    ) -> tuple[list[SilverSentence], dict[str, Any]]:
    """The silver sentences a student may learn from, and what was left out:
    a sentence some member of the teacher never answered is left out, never
    taught as "no entity"; a partial silver is refused unless
    `allow_partial` (and then its answered sentences alone are taught)."""
    silver = checked_silver(path, labels)
    if (silver.partial or silver.unanswered) and not allow_partial:
        raise NerbenchError(f"{path}: partial silver ({len(silver.unanswered)} of {len(silver.sentences)} sentences "
                            "got no answer from every member of the teacher): run `nerbench annotate` again to "
                            "complete it, or --allow-partial to train on the answered ones")
    kept = [s for s in silver.sentences if s.sentence.id not in silver.unanswered]
    if not kept:
        raise NerbenchError(f"{path}: no silver sentence was answered by every member of the teacher")
    return kept, {"allow_partial": allow_partial, "unanswered_left_out": len(silver.unanswered)}


def example(sentence: Sentence, unlabelled: str) -> Example:
    """`sentence` as taught: under "missing", tokens outside its spans carry no label."""
    if unlabelled == "O":
        return Example(sentence)
    index = TokenIndex(sentence.tokens)
    covered = [False] * len(sentence.tokens)
    for span in sentence.spans:
        rng = index.token_range(span.start, span.end)
        if rng is not None:
            covered[rng[0]:rng[1]] = [True] * (rng[1] - rng[0])
    return Example(sentence, tuple(not c for c in covered))


@dataclass
class TrainingData:
    """What one training learns from, in phases (a second phase continues
    from the first's model), and how it was assembled (recorded)."""

    phases: list[list[Example]]
    about: dict[str, Any] = field(default_factory=dict)


def gold_data(gold: Sequence[Sentence], about: dict[str, Any]) -> TrainingData:
    return TrainingData([[Example(s) for s in gold]], {"gold_sentences": len(gold), **about})


def silver_data(silver: Sequence[SilverSentence], unlabelled: str, about: dict[str, Any]) -> TrainingData:
    return TrainingData([[example(s.sentence, unlabelled) for s in silver]],
                        {"silver_sentences": len(silver), "unlabelled": unlabelled, **about})


def budget_data(silver: Sequence[SilverSentence], gold: Mapping[str, Sentence], bought: Collection[str], use: str,
                unlabelled: str, about: dict[str, Any]) -> TrainingData:
    """The gold of the silver sentences `bought` (picked by `nerbench.distil.picks`
    or reviewed in the loop), spent as `use` says."""
    missing = sorted(i for i in bought if i not in gold)
    if missing:
        raise NerbenchError(f"silver sentence {missing[0]!r} is not in the --gold split: its gold cannot be bought")
    return spend_gold(silver, [gold[s.sentence.id] for s in silver if s.sentence.id in bought], use, unlabelled,
                      {**about, "budget": len(bought), "gold_ids": sorted(bought)})


def spend_gold(silver: Sequence[SilverSentence], gold: Sequence[Sentence], use: str, unlabelled: str,
               about: dict[str, Any]) -> TrainingData:
    """Gold sentences (bought from a corpus, or reviewed by a person) with
    the silver, as `use` says: `mixed` (each gold sentence in place of its
    silver one, silver for the rest), `gold-only` (the gold alone) or
    `pretrain` (all the silver first, then the gold)."""
    ids = {s.id for s in gold}
    gold_part = [Example(s) for s in gold]
    silver_part = [example(s.sentence, unlabelled) for s in silver if s.sentence.id not in ids]
    about = {**about, "use": use, "unlabelled": unlabelled, "gold_sentences": len(gold)}
    if use == "gold-only":
        return TrainingData([gold_part], about)
    if use == "pretrain":
        pretrain = [example(s.sentence, unlabelled) for s in silver]
        # no gold yet: the silver phase alone (a gold phase of nothing would train nothing)
        return TrainingData([pretrain, gold_part] if gold_part else [pretrain],
                            {**about, "silver_sentences": len(silver)})
    if use == "mixed":
        return TrainingData([gold_part + silver_part], {**about, "silver_sentences": len(silver_part)})
    raise NerbenchError(f"--use {use!r} is not one of {', '.join(USES)}")


def train_student(cls: type[Student], name: str, options: dict[str, Any], data: TrainingData,
                  dev: Sequence[Sentence], labels: Sequence[str], language: str, out_dir: Path, seed: int,
                  dev_ref: str, progress: bool = False, start: Path | None = None) -> dict[str, Any]:
    """Train one seed into `out_dir` (each phase after the first continues
    from the model the one before wrote; the first, from `start` when given:
    a model trained earlier on what comes before `data`) and write `student.json`. The model
    is trained beside it and moved in whole once `student.json` is written:
    an interruption or a full disk never leaves half a model in `out_dir`.
    `progress`: a bar of the steps the student reports (`Student.progress`),
    on a terminal."""
    if not data.phases or not any(data.phases):
        raise NerbenchError("nothing to train on")
    if (len(data.phases) > 1 or start is not None) and not cls.continues:  # refused before a phase is paid for
        raise NerbenchError(f"student {name!r} cannot continue training from a model (--use pretrain)")
    started = time.perf_counter()
    reports = []
    previous = start
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Earlier phases are written aside too: the model folder ships the final model alone.
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.training-") as scratch:
        model = Path(scratch) / "model"
        for i, phase in enumerate(data.phases):
            target = model if i == len(data.phases) - 1 else Path(scratch) / f"phase-{i + 1}"
            target.mkdir(parents=True, exist_ok=True)
            student = cls(**options)
            if previous is not None:
                student.load(previous)
            phases = f", phase {i + 1} of {len(data.phases)}" if len(data.phases) > 1 else ""
            # disable=None: drawn on a terminal only, so logs and pipes get the lines `say` writes
            with tqdm(desc=f"training {name} (seed {seed}{phases})", unit="step", disable=None if progress else True,
                      leave=False) as bar:
                student.on_progress = partial(_advance, bar)
                reports.append(student.train(phase, dev, labels, language, target, seed))
            previous = target
        meta = {**_meta(cls, name, options, seed, data, dev, dev_ref, labels, language, reports, started),
                # what loading checks the folder against: a file changed since is refused before its loader reads it
                FILES: folder_files(model)}
        write_document(model / META, meta)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        model.rename(out_dir)
    return meta


def _advance(bar: tqdm, done: int, total: int) -> None:
    bar.total = total
    bar.update(done - bar.n)


def _meta(cls: type[Student], name: str, options: dict[str, Any], seed: int, data: TrainingData,
          dev: Sequence[Sentence], dev_ref: str, labels: Sequence[str], language: str, reports: list[Any],
          started: float) -> dict[str, Any]:
    """`student.json`: what was trained, on what, how, and what it cost."""
    return {
        "student": student_id(cls),
        "name": name,
        "labels": sorted(labels),
        "language": language,
        "options": options,
        "seed": seed,
        "data": data.about,
        "dev": {"split": dev_ref, "sentences": len(dev), "used_for": "early stopping"},
        "report": reports[-1] if len(reports) == 1 else reports,
        "train_s": round(time.perf_counter() - started, 3),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "nerbench_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@dataclass(frozen=True)
class TrainSpec:
    """What `nerbench train` is asked: the `student` kind and its `options`;
    the labelled corpus `gold` ("ID:SPLIT", its labels and language); what
    to learn from — `silver` (silver.jsonl) alone, with a gold `budget`
    picked by `pick`, or with a person's `reviewed` gold (`review import`),
    either gold spent as `use`; the `reviewed` gold alone; the gold of the
    sentences `like` holds, or the gold itself (its first `limit` or a
    `sample`); the `dev`
    split's first `dev_limit` sentences for early stopping; the `seeds`;
    where the models go (`output`)."""

    student: str
    gold: str
    dev: str
    output: Path
    silver: Path | None = None
    reviewed: Path | None = None
    like: Path | None = None
    budget: int | None = None
    pick: str = "disagreement"
    use: str = "mixed"
    unlabelled: str = "O"
    limit: int | None = None
    sample: int | None = None
    dev_limit: int = 200
    seeds: tuple[int, ...] = (0,)
    options: dict[str, Any] = field(default_factory=dict)
    #: train on a partial silver's answered sentences (else it is refused)
    allow_partial: bool = False


def spec_silver(spec: TrainSpec, labels: Sequence[str]) -> tuple[list[SilverSentence], dict[str, Any]]:
    """The silver `spec` trains on (none without --silver) and what was left out of it."""
    if spec.silver is None:
        return [], {}
    silver, left_out = training_silver(spec.silver, labels, spec.allow_partial)
    return silver, {"silver": str(spec.silver), **left_out}


def reviewed_data(spec: TrainSpec, path: Path, labels: Sequence[str], about: dict[str, Any]) -> TrainingData:
    """A person's reviewed gold in `path` (its sha256 and counts recorded),
    alone or spent with the silver it was reviewed from."""
    silver, left_out = spec_silver(spec, labels)
    reviewed, provenance = read_reviewed(path, labels, {s.sentence.id: s.sentence for s in silver} or None)
    about = {**about, "reviewed": provenance, **left_out}
    if not silver:
        return gold_data(reviewed, about)
    return spend_gold(silver, reviewed, spec.use, spec.unlabelled, about)


def training_data(spec: TrainSpec, gold: Sequence[Sentence], seed: int, labels: Sequence[str]) -> TrainingData:
    """What one seed of `spec` learns from (a random budget is redrawn per seed)."""
    about: dict[str, Any] = {"gold": spec.gold}
    if spec.reviewed is not None:
        return reviewed_data(spec, spec.reviewed, labels, about)
    if spec.silver is None and spec.like is None:
        return gold_data(draw(gold, spec.limit, spec.sample, 0), {**about, "limit": spec.limit,
                                                                   "sample": spec.sample})
    if spec.like is not None:
        by_id = {s.id: s for s in gold}
        wanted = [s.sentence.id for s in read_silver(spec.like, labels)]
        lacking = [i for i in wanted if i not in by_id]
        if lacking:
            raise NerbenchError(f"{spec.like}: sentence {lacking[0]!r} is not in {spec.gold}")
        return gold_data([by_id[i] for i in wanted], {**about, "like": str(spec.like)})
    silver, left_out = spec_silver(spec, labels)
    about.update(left_out)
    if spec.budget:
        bought = picks.pick(spec.pick, silver, spec.budget, seed if spec.pick == "random" else 0)
        return budget_data(silver, {s.id: s for s in gold}, bought, spec.use, spec.unlabelled,
                           {**about, "pick": spec.pick})
    return silver_data(silver, spec.unlabelled, about)


def train_students(spec: TrainSpec, registry: Registry, say: Callable[[str], None] = lambda line: None,
                   progress: bool = False) -> list[dict[str, Any]]:
    """`nerbench train` as a library call: one model per seed in
    `spec.output`/seed-N and `train.json` beside them; returns each model's
    `student.json`. `say` is told what is being trained; `progress` draws
    a bar of each model's training steps."""
    check_spec(spec)
    _own_folder(spec)
    try:
        student_cls = registry.get("students", spec.student)
    except NerbenchError as exc:
        raise NerbenchError(f"student {spec.student!r}: {exc}") from None
    check_options(student_cls, spec.options, Where("nerbench train", "--option"), f"student {spec.student!r}")
    missing = student_cls.missing()
    if missing:
        raise NerbenchError(f"student {spec.student!r} needs {missing}, which is not installed; "
                            f"run: {student_cls.install}")
    dataset, gold_split = _split(registry, spec.gold, "--gold")
    dev_dataset, dev_split = _split(registry, spec.dev, "--dev")
    if dev_dataset.id != dataset.id:
        raise NerbenchError(f"--dev {spec.dev}: another dataset than --gold {spec.gold}")
    gold = first(dataset, gold_split, None)
    dev_sample = first(dev_dataset, dev_split, spec.dev_limit)
    labels = [label.name for label in dataset.labels]
    runs = []
    for seed in spec.seeds:
        data = training_data(spec, gold, seed, labels)
        # Early stopping must not look at what it learns from: a dev sentence whose text is trained on
        # (LeNER-Br repeats short ones across splits: "É o relatório .") is left out of the dev sample.
        taught = {e.sentence.text for phase in data.phases for e in phase}
        dev = [s for s in dev_sample if s.text not in taught]
        if not dev:
            raise NerbenchError(f"--dev {spec.dev}: every dev sentence is among the training sentences")
        dev_note = f"{spec.dev} (first {len(dev_sample)}, {len(dev_sample) - len(dev)} also trained on left out)"
        say(f"training {spec.student} (seed {seed}) on {data.about}")
        runs.append(train_student(student_cls, spec.student, spec.options, data, dev, labels, dataset.language,
                                  spec.output / f"seed-{seed}", seed, dev_note, progress))
    write_document(spec.output / "train.json", {"student": spec.student,
                                               "models": [f"seed-{m['seed']}" for m in runs], "runs": runs})
    return runs


def check_spec(spec: TrainSpec) -> None:
    """Options that clash are refused before anything is read or trained."""
    if spec.budget is not None and spec.silver is None:
        raise NerbenchError("--budget buys the gold of silver sentences: give --silver")
    if spec.silver is not None and spec.like is not None:
        raise NerbenchError("give --silver or --like, not both")
    if spec.reviewed is not None and (spec.budget is not None or spec.like is not None):
        raise NerbenchError("--reviewed is the gold to train with: not with --budget or --like")
    if (spec.limit is not None or spec.sample is not None) and (spec.silver or spec.like or spec.reviewed):
        raise NerbenchError("--limit and --sample choose corpus gold to train on alone; not with --silver, "
                            "--reviewed or --like")
    repeated = sorted({s for s in spec.seeds if spec.seeds.count(s) > 1})
    if repeated:
        raise NerbenchError(f"--seed {repeated[0]} is given twice")


def _own_folder(spec: TrainSpec) -> None:
    """An output folder holds the models of one student kind: training
    another kind into it is refused, not mixed."""
    record = spec.output / "train.json"
    if not record.is_file():
        return
    then = read_json(record, "train.json")
    student = then.get("student") if isinstance(then, dict) else None
    if student != spec.student:
        raise NerbenchError(f"{spec.output}: holds the models of student {student!r}, not {spec.student!r}; "
                            "give another -o or remove it")


def _split(registry: Registry, ref: str, option: str) -> tuple[Dataset, str]:
    try:
        return dataset_split(registry, ref)
    except NerbenchError as exc:
        raise NerbenchError(f"{option} {ref}: {exc}") from None
