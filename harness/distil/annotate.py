"""`nerbench annotate`: a teacher (system or ensemble) labels sentences whose
gold it never sees — a registered split with its labels withheld, or the
user's own text — through the run's cache, so an interrupted annotation
resumes where it stopped."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.bases import Combiner, Dataset, JudgedCombiner
from nerbench.index.candidates import build_index
from nerbench.index.search import Choice, choose
from nerbench.combine.stage import RunJudges, combine
from nerbench.config.settings import RunConfig
from nerbench.data.readers import tokenise_text
from nerbench.files.text import utf8_lines
from nerbench.distil.train import read_silver
from nerbench.distil.silver import (silver_sentences, write_conll, write_docbin, write_silver_jsonl,
                                    write_span_jsonl)
from nerbench.data.manifest import sha256_file
from nerbench.data.sample import draw, first
from nerbench.distil.teachers import Teacher, endpoints, load_source, resolve_teacher
from nerbench.errors import NerbenchError
from nerbench.files.folders import owned_folder
from nerbench.files.predictions import checked_predictions, write_predictions
from nerbench.files.results import write_document
from nerbench.files.schema import validate
from nerbench.files.text import read_json
from nerbench.infer.runner import JobOutcome, Runner
from nerbench.infer.session import model_session
from nerbench.plan.matrix import member_plan, register_config_datasets
from nerbench.plugin_system.factory import Where, dataset_split, make
from nerbench.plugin_system.manager import Registry
from nerbench.records import STATUS_ERROR, Prediction, Sentence, Span

#: The split name predictions of the user's own text carry.
TEXT_SPLIT = "text"


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
    #: what that earlier annotation cost the teacher (`teacher_cost`), carried over when its answers are reused
    earlier_cost: dict[str, Any] | None = None

    @property
    def errors(self) -> int:
        """Member answers that never came (a rerun asks for them again)."""
        return sum(o.stats.statuses.get("error", 0) for o in self.outcomes)


_COST = {"type": "object", "required": ["calls", "wall_s", "pieces", "complete"],
         "properties": {"calls": {"type": "integer", "minimum": 0}, "wall_s": {"type": "number", "minimum": 0},
                        "pieces": {"type": "integer", "minimum": 1}, "complete": {"type": "boolean"}}}
_CALLS = {"type": "object", "properties": {"backend_calls": {"type": "integer", "minimum": 0}}}
#: what an annotation.json written before `teacher_cost` holds of its own call's cost
_OWN_COST = {"type": "object", "properties": {
    "wall_s": {"type": "number", "minimum": 0}, "reused_sentences": {"type": "integer", "minimum": 0},
    "members": {"type": "object", "additionalProperties": _CALLS}, "judging": _CALLS}}


def teacher_cost(summary: Mapping[str, Any], where: str) -> dict[str, Any]:
    """What the silver of an annotation.json cost its teacher, every piece
    included: model `calls` (answered by a backend: cache hits cost nothing
    here), `wall_s` and the `pieces` (annotate calls) summed. An annotation
    written before nerbench recorded it counts what it has — its own wall
    time, its members' and judges' calls — and is `complete` only if it
    reused no earlier piece (whose cost it did not keep)."""
    if "teacher_cost" in summary:
        validate(summary["teacher_cost"], _COST, where, "teacher_cost")
        return dict(summary["teacher_cost"])
    validate(dict(summary), _OWN_COST, where)
    members = summary.get("members") or {}
    known = "wall_s" in summary and members and all("backend_calls" in m for m in members.values())
    calls = sum(m.get("backend_calls", 0) for m in members.values())
    return {"calls": calls + (summary.get("judging") or {}).get("backend_calls", 0),
            "wall_s": summary.get("wall_s", 0.0), "pieces": 1,
            "complete": bool(known) and not summary.get("reused_sentences")}


@dataclass
class Earlier:
    """What an earlier annotation in the output folder has: member →
    sentence id → answer, the demonstration exclusion it was asked under,
    and what it cost the teacher."""

    answers: dict[str, dict[str, Prediction]] = field(default_factory=dict)
    exclusion: str | None = None
    cost: dict[str, Any] | None = None


def earlier_answers(out_dir: Path, config: RunConfig, teacher: Teacher, dataset: Dataset, split: str,
                    sentences: Sequence[Sentence]) -> Earlier:
    """What an earlier annotation in `out_dir` (by this config, of this
    split) already has: the answers for each of `sentences` that every
    member of `teacher` answered there, on the same text. Nothing when
    `out_dir` holds no annotation — so an annotation done in pieces (more
    of a sample each time, `--limit`) or on another machine resumes from
    its committed output, not only from the cache."""
    summary_path, rows_path, silver_path = (out_dir / "annotation.json", out_dir / "predictions.jsonl",
                                            out_dir / "silver.jsonl")
    if not (summary_path.is_file() and rows_path.is_file() and silver_path.is_file()):
        return Earlier()
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
    return Earlier(answers, summary.get("demonstrations_excluded_sha256"), teacher_cost(summary, str(summary_path)))


def teacher_combiner(registry: Registry, teacher: Teacher) -> Combiner | None:
    """The combiner an ensemble teacher is made with (None for a system),
    refused before any member is asked when it cannot be used as named."""
    if teacher.combiner is None:
        return None
    combiner = make(registry, "combiners", teacher.combiner, dict(teacher.options), Where("--teacher", teacher.name))
    if combiner.needs_dev and teacher.params is None:
        raise NerbenchError(f"teacher {teacher.name!r}: combiner {teacher.combiner!r} is fitted on dev; "
                            "name the ensemble as a results.json lists it (its choice and parameters)")
    return combiner


def _members(teacher: Teacher, outcomes: list[JobOutcome], reused: dict[str, dict[str, Prediction]]
             ) -> dict[str, dict[str, tuple[Span, ...]]]:
    """member → sentence id → spans: what was reused and what was asked now."""
    members = {m: {sid: p.spans for sid, p in reused.get(m, {}).items()} for m in teacher.members}
    for o in outcomes:
        members[o.job.system].update((p.sentence_id, p.spans) for p in o.predictions)
    return members


def annotate(config: RunConfig, registry: Registry, teacher: Teacher, dataset: Dataset, split: str,
             sentences: list[Sentence], cache_path: Path, progress: bool = True, exclude: Sequence[Sentence] = (),
             earlier: Earlier | None = None) -> Annotation:
    """Ask the teacher's members about `sentences` (gold withheld; no
    demonstration among them or `exclude`) and combine their answers;
    every completion is cached the moment it arrives. `earlier` is what
    `earlier_answers` found: those sentences are not asked again, provided
    they were asked under the same demonstration exclusion."""
    if not sentences:
        raise NerbenchError("nothing to annotate: no sentences")
    started = time.perf_counter()
    earlier = earlier or Earlier()
    answers, earlier_exclusion = earlier.answers, earlier.exclusion
    ids = {s.id for s in sentences}
    done = set.intersection(*(set(answers.get(m, {})) & ids for m in teacher.members)) if answers else set()
    todo = [s for s in sentences if s.id not in done]
    combiner = teacher_combiner(registry, teacher)
    try:
        plan, removed = member_plan(config, registry, teacher.members, dataset, split, todo, [*sentences, *exclude])
    except NerbenchError as exc:
        raise NerbenchError(f"teacher {teacher.name!r}: {exc}") from None
    excluded = len(removed)
    exclusion = hashlib.sha256("\n".join(f"{a}\t{b}" for a, b in sorted(removed)).encode()).hexdigest()
    if earlier_exclusion is not None and earlier_exclusion != exclusion:
        raise NerbenchError("the output folder's annotation left other demonstrations out (another --sample or "
                            "--seed, or a prefix of a split: annotate pieces of one --sample); give another -o "
                            "or remove it")
    reused = {m: {sid: p for sid, p in answers[m].items() if sid in done} for m in teacher.members} if done else {}

    async def work(runner: Runner) -> tuple[list[JobOutcome], dict[str, list[Span]], dict[str, Any] | None]:
        outcomes = await runner.run_jobs()
        members = _members(teacher, outcomes, reused)
        if combiner is None:
            return outcomes, {sid: list(spans) for sid, spans in members[teacher.name].items()}, None
        labels = [label.name for label in dataset.labels] if combiner.retypes else ()
        withheld = [replace(s, spans=()) for s in sentences]
        index = build_index(withheld, members, labels, key=f"{dataset.id}:{split}")
        params = teacher.params if teacher.params is not None else choose(combiner, None, list(teacher.members),
                                                                          "none").params
        judges = RunJudges(runner, config.backends)
        _, combined = await combine(combiner, index, dataset, judges, Choice(teacher.members, params, None))
        return outcomes, combined, judges.stats.to_json() if isinstance(combiner, JudgedCombiner) else None

    outcomes, spans, judging = model_session(config, plan, registry, cache_path, work, progress,
                                             desc="nerbench annotate")
    return Annotation(teacher, dataset, split, sentences, spans, _members(teacher, outcomes, reused), outcomes,
                      excluded, exclusion, time.perf_counter() - started, judging, reused,
                      earlier.cost if reused else None)


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
        "teacher_cost": _cumulative_cost(a),
        "partial": bool(a.errors),
        **(extra or {}),
    }
    if a.judging is not None:
        summary["judging"] = a.judging
    write_document(out_dir / "annotation.json", summary)
    files.append(out_dir / "annotation.json")
    return files, summary


def _cumulative_cost(a: Annotation) -> dict[str, Any]:
    """This call's cost, plus the earlier pieces' whose answers it reused."""
    calls = sum(o.stats.backend_calls for o in a.outcomes) + (a.judging or {}).get("backend_calls", 0)
    before = a.earlier_cost or {"calls": 0, "wall_s": 0.0, "pieces": 0, "complete": True}
    return {"calls": before["calls"] + calls, "wall_s": round(before["wall_s"] + a.wall_s, 3),
            "pieces": before["pieces"] + 1, "complete": before["complete"]}


@dataclass(frozen=True)
class AnnotationSpec:
    """What `nerbench annotate` is asked: the `source` (a config, or a
    results.json) defining the `teacher`'s systems; what to annotate — a
    registered `split` ("ID:SPLIT") or a `text` file with the `dataset`
    whose labels and language apply — its first `limit` sentences or a
    seeded `sample`; where to write (`output`) and whose earlier answers to
    reuse (`reuse`, default `output`'s)."""

    source: Path
    teacher: str
    output: Path
    split: str | None = None
    text: Path | None = None
    dataset: str | None = None
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    reuse: Path | None = None
    #: with a results.json `source`: the user's config whose backends the teacher is asked through
    config: Path | None = None
    #: with a results.json `source`: ask through the backends it records (each shown through `say`)
    trust_endpoints: bool = False


def annotate_as(spec: AnnotationSpec, registry: Registry, cache_path: Path, progress: bool = True,
                say: Callable[[str], None] = lambda line: None) -> tuple[Annotation, list[Path], dict[str, Any]]:
    """`nerbench annotate` as a library call: resolve the teacher, choose
    the sentences, reuse what the output folder already holds, ask the rest,
    write the silver and its exports. Returns the annotation, the files
    written and `annotation.json`'s content."""
    config, results = load_source(spec.source, spec.config, spec.trust_endpoints)
    for line in endpoints(config) if spec.trust_endpoints else ():
        say(f"trusted from {spec.source}: {line}")
    register_config_datasets(config, registry)
    try:
        teacher = resolve_teacher(spec.teacher, config, results)
    except NerbenchError as exc:
        raise NerbenchError(f"--teacher: {exc}") from None
    if (spec.split is None) == (spec.text is None):
        raise NerbenchError("give --split ID:SPLIT or --text FILE (with --dataset ID), not both or neither")
    if spec.text is not None:
        if not spec.dataset:
            raise NerbenchError("--text needs --dataset ID (whose labels and language the teacher uses)")
        try:
            dataset = registry.get("datasets", spec.dataset)
        except NerbenchError as exc:
            raise NerbenchError(f"--dataset: {exc}") from None
        split, candidates = TEXT_SPLIT, text_sentences(spec.text)
    else:
        try:
            dataset, split = dataset_split(registry, spec.split or "")
        except NerbenchError as exc:
            raise NerbenchError(f"--split {spec.split}: {exc}") from None
        candidates = first(dataset, split, None)
    drawn = draw(candidates, None, spec.sample, spec.seed)
    # A piece of a sample (--limit) keeps the whole sample out of the demonstrations: it is asked as the whole is.
    sentences = drawn[:spec.limit]
    asked = {"source": str(spec.source), "sample": spec.sample, "seed": spec.seed, "limit": spec.limit,
             **({"text_sha256": sha256_file(spec.text)} if spec.text is not None else {})}
    with owned_folder(spec.output, "annotation"):
        same_annotation(spec.output, teacher, asked, len(sentences))
        earlier = earlier_answers(spec.reuse or spec.output, config, teacher, dataset, split, candidates)
        result = annotate(config, registry, teacher, dataset, split, sentences, cache_path, progress,
                          drawn if spec.sample else (), earlier)
        files, summary = write_annotation(result, spec.output, config.sha256, asked)
    return result, files, summary


def same_annotation(out_dir: Path, teacher: Teacher, asked: dict[str, Any], sentences: int) -> None:
    """An annotation already in `out_dir` is continued only when asked
    identically — the same teacher, the same text, the same sample — and
    never shrunk: anything else is refused, not replaced."""
    path = out_dir / "annotation.json"
    if not path.is_file():
        return
    then = read_json(path, "annotation")
    if not isinstance(then, dict):
        raise NerbenchError(f"{path}: not an annotation.json (expected a JSON object)")
    was = {"teacher": (then.get("teacher") or {}).get("name"),
           **{k: then.get(k) for k in ("sample", "seed", "text_sha256")}}
    now = {"teacher": teacher.name, **{k: asked.get(k) for k in ("sample", "seed", "text_sha256")}}
    for key in was:
        if was[key] != now[key]:
            raise NerbenchError(f"{path}: an annotation asked with another {key.replace('_', ' ')} "
                                f"({was[key]!r}, now {now[key]!r}); give another -o or remove it")
    if isinstance(then.get("sentences"), int) and then["sentences"] > sentences:
        raise NerbenchError(f"{path}: holds {then['sentences']} annotated sentences and this would write "
                            f"{sentences}; give --limit {then['sentences']} or more, or another -o")
