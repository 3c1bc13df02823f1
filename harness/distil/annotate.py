"""`nerbench annotate`: a teacher (system or ensemble) labels sentences whose
gold it never sees — a registered split with its labels withheld, or the
user's own text — through the run's cache, so an interrupted annotation
resumes where it stopped."""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.bases import Dataset, JudgedCombiner
from nerbench.index.candidates import build_index
from nerbench.plan.combiners import make_combiner
from nerbench.index.search import Choice, choose, evaluate
from nerbench.combine.stage import RunJudges
from nerbench.config.settings import RunConfig
from nerbench.data.readers import tokenise_text
from nerbench.files.text import utf8_lines
from nerbench.distil.train import read_silver
from nerbench.distil.silver import (silver_sentences, write_conll, write_docbin, write_silver_jsonl,
                                    write_span_jsonl)
from nerbench.distil.teachers import Teacher, system_names
from nerbench.errors import NerbenchError
from nerbench.files.predictions import checked_predictions, write_predictions
from nerbench.files.results import write_results
from nerbench.files.text import read_json
from nerbench.infer.backends import make_backends
from nerbench.infer import interrupt
from nerbench.infer.cache import PredictionCache
from nerbench.infer.runner import JobOutcome, Runner
from nerbench.plan.checks import check_config
from nerbench.plan.matrix import Job, Plan, load_sentences, make_format
from nerbench.plan.demos import DemoPool
from nerbench.plugin_system.manager import Registry
from nerbench.records import STATUS_ERROR, Prediction, Sentence, Span

#: The split name predictions of the user's own text carry.
TEXT_SPLIT = "text"


def choose_sentences(sentences: Sequence[Sentence], limit: int | None = None, sample: int | None = None,
                     seed: int = 0) -> list[Sentence]:
    """The first `limit` sentences, or `sample` of them drawn with `seed`
    (kept in the split's order): the same draw on every machine."""
    chosen = list(sentences)
    if sample is not None:
        if sample > len(chosen):
            raise NerbenchError(f"--sample {sample}: the split has only {len(chosen)} sentences")
        picked = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [s for i, s in enumerate(chosen) if i in picked]
    return chosen[:limit]


def text_sentences(path: Path) -> list[Sentence]:
    """The user's text, one sentence a line (blank lines skipped), tokenised
    as nerbench tokenises raw text; ids are "line-N" (1-based line numbers)."""
    out = []
    for lineno, line in utf8_lines(path, "text"):
        text = line.rstrip("\r\n").strip()
        if text:
            out.append(Sentence(f"line-{lineno}", text, tokenise_text(text)))
    if not out:
        raise NerbenchError(f"{path}: no text to annotate (one sentence a line)")
    return out


@dataclass
class Annotation:
    """What the teacher said of each sentence, and what its members said."""

    teacher: Teacher
    dataset: Dataset
    split: str
    sentences: list[Sentence]
    #: the teacher's spans, per sentence id
    spans: dict[str, list[Span]]
    #: member system → sentence id → its spans
    members: dict[str, dict[str, tuple[Span, ...]]]
    outcomes: list[JobOutcome]
    excluded_demos: int
    #: sha256 of the demonstration texts left out: an earlier annotation's
    #: answers are reused only under the same exclusion
    exclusion_sha256: str
    wall_s: float
    judging: dict[str, Any] | None = None
    #: member → sentence id → the answer an earlier annotation in the output folder gave
    reused: dict[str, dict[str, Prediction]] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Member answers that never came (a rerun asks for them again)."""
        return sum(o.stats.statuses.get("error", 0) for o in self.outcomes)


def _jobs(config: RunConfig, teacher: Teacher, dataset: Dataset, split: str) -> list[Job]:
    by_name = {f"{b.name}/{ref.name}/{f.label}": Job(b.name, b.kind, ref.name, ref.id, dataset.id, split, f.label)
               for b in config.backends for ref in b.models for f in config.formats}
    missing = [m for m in teacher.members if m not in by_name]
    if missing:
        raise NerbenchError(f"teacher {teacher.name!r}: {missing[0]!r} is not a system of {config.path} "
                            f"({', '.join(system_names(config))})")
    return [by_name[m] for m in teacher.members]


def annotation_plan(config: RunConfig, registry: Registry, teacher: Teacher, dataset: Dataset, split: str,
                    sentences: list[Sentence], exclude: Sequence[Sentence] = ()) -> tuple[Plan, int, str]:
    """The members' jobs over `sentences` with their gold withheld, and
    demonstration pools that hold none of their texts nor those of
    `exclude` (the whole sample a piece of it is annotated from); also how
    many pool sentences that exclusion removed, and the sha256 of their texts."""
    check_config(config, registry)
    jobs = _jobs(config, teacher, dataset, split)
    used = {job.format for job in jobs}
    formats = {}
    for entry in config.formats:
        if entry.label in used:
            formats[entry.label] = make_format(registry, entry, config.path.parent, str(config.path))
    texts = frozenset(s.text for s in [*sentences, *exclude])
    pools, removed = {}, set()
    for spec in formats.values():
        if spec.shots and (dataset.id, spec.demo_split) not in pools:
            pool_source = load_sentences(dataset, spec.demo_split, None)
            pool = DemoPool(pool_source, exclude=texts)
            kept = set(map(id, pool.sentences))
            removed |= {(spec.demo_split, s.text) for s in DemoPool(pool_source).sentences if id(s) not in kept}
            pools[(dataset.id, spec.demo_split)] = pool
    withheld = [replace(s, spans=()) for s in sentences]
    plan = Plan(jobs, {(dataset.id, split): withheld}, {dataset.id: dataset}, formats, pools)
    digest = hashlib.sha256("\n".join(f"{a}\t{b}" for a, b in sorted(removed)).encode()).hexdigest()
    return plan, len(removed), digest


def earlier_answers(out_dir: Path, config: RunConfig, teacher: Teacher, dataset: Dataset, split: str,
                    sentences: Sequence[Sentence]) -> tuple[dict[str, dict[str, Prediction]], str | None]:
    """What an earlier annotation in `out_dir` (by this config, of this
    split) already has: member → sentence id → answer, for each of
    `sentences` that every member of `teacher` answered there, on the same
    text; and the demonstration exclusion it was asked under. Nothing when
    `out_dir` holds no annotation — so an annotation done in pieces (more
    of a sample each time, `--limit`) or on another machine resumes from
    its committed output, not only from the cache."""
    summary_path, rows_path, silver_path = (out_dir / "annotation.json", out_dir / "predictions.jsonl",
                                            out_dir / "silver.jsonl")
    if not (summary_path.is_file() and rows_path.is_file() and silver_path.is_file()):
        return {}, None
    summary = read_json(summary_path, "annotation")
    if not isinstance(summary, dict):
        raise NerbenchError(f"{summary_path}: not an annotation.json (expected a JSON object)")
    for key, want, what in (("config_sha256", config.sha256, f"config than {config.path}"),
                            ("dataset", dataset.id, "dataset"), ("split", split, "split")):
        if summary.get(key) != want:
            raise NerbenchError(f"{summary_path}: an annotation of another {what} ({key} "
                                f"{summary.get(key)!r}); give another -o or remove it")
    texts = {s.sentence.id: s.sentence.text for s in read_silver(silver_path)}
    by_id = {s.id: s for s in sentences}
    labels = [label.name for label in dataset.labels]
    rows = checked_predictions([rows_path], {(dataset.id, split): (by_id, labels)})[(dataset.id, split)]
    done = [s.id for s in sentences if texts.get(s.id) == s.text and all(
        s.id in rows.get(m, {}) and rows[m][s.id].status != STATUS_ERROR for m in teacher.members)]
    answers = {m: {sid: rows[m][sid] for sid in done} for m in teacher.members}
    return answers, summary.get("demonstrations_excluded_sha256")


async def _annotate(config: RunConfig, plan: Plan, registry: Registry, teacher: Teacher, cache: PredictionCache,
                    progress: bool, sentences: list[Sentence], reused: dict[str, dict[str, Prediction]]
                    ) -> tuple[list[JobOutcome], dict[str, list[Span]], dict[str, Any] | None]:
    ((dataset_id, split), _), = plan.sentences.items()
    dataset = plan.datasets[dataset_id]
    async with Runner(plan, make_backends(config, registry), config, cache, progress,
                      desc="nerbench annotate") as runner:
        outcomes = await runner.run_jobs()
        members = _members(teacher, outcomes, reused)
        if teacher.combiner is None:
            return outcomes, {sid: list(spans) for sid, spans in members[teacher.name].items()}, None
        combiner = make_combiner(registry, teacher.combiner, teacher.options)
        if combiner.needs_dev and teacher.params is None:
            raise NerbenchError(f"teacher {teacher.name!r}: combiner {teacher.combiner!r} is fitted on dev; "
                                "name the ensemble as a results.json lists it (its choice and parameters)")
        labels = [label.name for label in dataset.labels] if combiner.retypes else ()
        withheld = [replace(s, spans=()) for s in sentences]
        index = build_index(withheld, members, labels, key=f"{dataset_id}:{split}")
        judging = None
        if isinstance(combiner, JudgedCombiner):
            judges = RunJudges(runner, config.backends)
            await combiner.judge(index, dataset, judges)
            judging = judges.stats.to_json()
        params = teacher.params if teacher.params is not None else choose(combiner, None, list(teacher.members),
                                                                          "none").params
        _, combined = evaluate(combiner, index, Choice(teacher.members, params, None))
    return outcomes, combined, judging


def _members(teacher: Teacher, outcomes: list[JobOutcome], reused: dict[str, dict[str, Prediction]]
             ) -> dict[str, dict[str, tuple[Span, ...]]]:
    """member → sentence id → spans: what was reused and what was asked now."""
    members = {m: {sid: p.spans for sid, p in reused.get(m, {}).items()} for m in teacher.members}
    for o in outcomes:
        members[o.job.system].update((p.sentence_id, p.spans) for p in o.predictions)
    return members


def annotate(config: RunConfig, registry: Registry, teacher: Teacher, dataset: Dataset, split: str,
             sentences: list[Sentence], cache_path: Path, progress: bool = True, exclude: Sequence[Sentence] = (),
             earlier: tuple[dict[str, dict[str, Prediction]], str | None] = ({}, None)) -> Annotation:
    """Ask the teacher's members about `sentences` (gold withheld; no
    demonstration among them or `exclude`) and combine their answers;
    every completion is cached the moment it arrives. `earlier` is what
    `earlier_answers` found: those sentences are not asked again, provided
    they were asked under the same demonstration exclusion."""
    if not sentences:
        raise NerbenchError("nothing to annotate: no sentences")
    started = time.perf_counter()
    answers, earlier_exclusion = earlier
    ids = {s.id for s in sentences}
    done = set.intersection(*(set(answers.get(m, {})) & ids for m in teacher.members)) if answers else set()
    todo = [s for s in sentences if s.id not in done]
    plan, excluded, exclusion = annotation_plan(config, registry, teacher, dataset, split, todo,
                                                [*sentences, *exclude])
    if earlier_exclusion is not None and earlier_exclusion != exclusion:
        raise NerbenchError("the output folder's annotation left other demonstrations out (another --sample or "
                            "--seed, or a prefix of a split: annotate pieces of one --sample); give another -o "
                            "or remove it")
    reused = {m: {sid: p for sid, p in answers[m].items() if sid in done} for m in teacher.members} if done else {}
    cache = PredictionCache(cache_path)
    try:
        outcomes, spans, judging = interrupt.run(_annotate(config, plan, registry, teacher, cache, progress,
                                                           sentences, reused))
    finally:
        cache.close()
    return Annotation(teacher, dataset, split, sentences, spans, _members(teacher, outcomes, reused), outcomes,
                      excluded, exclusion, time.perf_counter() - started, judging, reused)


def write_annotation(annotation: Annotation, out_dir: Path, config_sha256: str,
                     extra: dict[str, Any] | None = None) -> tuple[list[Path], dict[str, Any]]:
    """The silver in every export under `out_dir`, the members' and the
    teacher's predictions, and `annotation.json` (what was asked, of whom,
    what came back and what an export could not hold)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    a = annotation
    silver = silver_sentences(a.sentences, a.spans, a.members)
    files = [out_dir / "predictions.jsonl", out_dir / "silver.jsonl", out_dir / "silver.conll",
             out_dir / "silver.spans.jsonl"]
    asked = {(o.job.system, p.sentence_id): p for o in a.outcomes for p in o.predictions}
    member_rows = [asked.get((m, s.id)) or a.reused[m][s.id] for m in a.teacher.members for s in a.sentences]
    teacher_rows = [] if a.teacher.combiner is None else [
        Prediction(a.teacher.name, a.dataset.id, a.split, s.id, tuple(sorted(set(a.spans.get(s.id, ())))))
        for s in a.sentences]
    write_predictions(files[0], [*member_rows, *teacher_rows])
    write_silver_jsonl(files[1], silver)
    lost = write_conll(files[2], silver)
    write_span_jsonl(files[3], silver)
    docbin = write_docbin(out_dir / "silver.spacy", silver, a.dataset.language)
    if docbin is not None:
        files.append(out_dir / "silver.spacy")
        lost.update({k: v for k, v in docbin.items() if k not in lost})  # a sentence without tokens counts once
    spans = sum(len(s.sentence.spans) for s in silver)
    summary: dict[str, Any] = {
        "nerbench_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "teacher": a.teacher.to_json(),
        "dataset": a.dataset.id,
        "language": a.dataset.language,
        "labels": [label.name for label in a.dataset.labels],
        "split": a.split,
        "sentences": len(silver),
        "sentence_ids": [s.sentence.id for s in silver],
        "spans": spans,
        "spans_per_label": dict(sorted(Counter(sp.label for s in silver for sp in s.sentence.spans).items())),
        "votes": dict(sorted(Counter(v for s in silver for v in s.votes).items())),
        "not_in_token_exports": dict(sorted(lost.items())),
        "demonstrations_excluded": a.excluded_demos,
        "demonstrations_excluded_sha256": a.exclusion_sha256,
        "config_sha256": config_sha256,
        "reused_sentences": len(next(iter(a.reused.values()), {})),
        "members": {o.job.system: o.stats.to_json() for o in a.outcomes},
        "wall_s": round(a.wall_s, 3),
        "partial": bool(a.errors),
        **(extra or {}),
    }
    if a.judging is not None:
        summary["judging"] = a.judging
    write_results(out_dir / "annotation.json", summary)
    files.append(out_dir / "annotation.json")
    return files, summary
