"""`nerbench review`: a person in the loop through the annotation tool they
already use. `export` sends the sentences that matter — where the teacher's
members disagree most, or a seeded random draw — to Label Studio, Prodigy or
doccano, each with what the members said; `import` brings the tool's export
back as gold sentence JSONL (`reviewed.jsonl`) that `train --reviewed` reads
through `distil.reviewed.read_reviewed`.

A review folder belongs to one export: `review.json` (what was asked: the
annotation, the tool, the pick — or the sentence ids, when the active loop
chose them — and the loop's round), `sentences.jsonl` (the sentences on
the dataset's tokens: what every answer is matched against), the tool's
tasks (and, for Label Studio, `label_config.xml`); `import` adds
`reviewed.jsonl` and `import.json` (the counts) there.

Files are data: the tool's export comes from a person's machine and is
checked line by line — the sentence is one this export sent, its text is
the same, every span is on the text and on its tokens with a known label,
one answer per sentence. Rejected, skipped and unreviewed tasks are counted,
never taken as "no entities"."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.data.manifest import sha256_file
from nerbench.data.readers import sentence_lines
from nerbench.distil.review_formats import (ACCEPTED, READERS, REJECTED, SKIPPED, TASK_FILES, TOOLS, UNREVIEWED,
                                            WRITERS, Answer, ReviewTask, label_studio_config)
from nerbench.distil.silver import SilverSentence
from nerbench.distil import picks
from nerbench.distil.train import PICKS, read_silver
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.files.predictions import checked_predictions
from nerbench.files.results import write_document
from nerbench.files.schema import validate
from nerbench.files.text import read_json
from nerbench.parse.alignment import TokenIndex
from nerbench.plugin_system.manager import Registry
from nerbench.records import Label, Sentence, Span

MANIFEST, SENTENCES, REVIEWED, IMPORTED = "review.json", "sentences.jsonl", "reviewed.jsonl", "import.json"
LS_CONFIG = "label_config.xml"

_ANNOTATION = {
    "type": "object", "required": ["teacher", "dataset", "split", "language", "labels"],
    "properties": {
        "teacher": {"type": "object", "required": ["name", "members"],
                    "properties": {"name": {"type": "string"},
                                   "members": {"type": "array", "minItems": 1, "items": {"type": "string"}}}},
        "dataset": {"type": "string"}, "split": {"type": "string"}, "language": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
}
_MANIFEST = {
    "type": "object", "required": ["export", "tool", "labels", "request"],
    "properties": {"export": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "tool": {"enum": list(TOOLS)},
                   "labels": {"type": "array", "items": {"type": "string"}}, "request": {"type": "object"}},
}
@dataclass
class AnnotationFolder:
    """What `nerbench annotate -o DIR` wrote, read and checked: the teacher,
    its silver, and each member's answer per sentence."""

    path: Path
    summary: dict[str, Any]
    silver: list[SilverSentence]
    tasks: dict[str, ReviewTask]  # by sentence id, in the silver's order
    silver_sha256: str

    @property
    def members(self) -> list[str]:
        return list(self.summary["teacher"]["members"])


def read_annotation(folder: Path) -> AnnotationFolder:
    """annotation.json, silver.jsonl and predictions.jsonl of an annotation
    folder, each through its one reader: the members' answers are checked
    against the silver's sentences and the annotation's labels."""
    summary_path = folder / "annotation.json"
    if not summary_path.is_file():
        raise NerbenchError(f"{folder}: not an annotation folder (no annotation.json; `nerbench annotate -o DIR` "
                            "writes one)")
    summary = read_json(summary_path, "annotation")
    validate(summary, _ANNOTATION, str(summary_path))
    silver = read_silver(folder / "silver.jsonl")
    by_id = {s.sentence.id: s.sentence for s in silver}
    key = (summary["dataset"], summary["split"])
    rows = checked_predictions([folder / "predictions.jsonl"], {key: (by_id, summary["labels"])}).get(key, {})
    members = summary["teacher"]["members"]
    tasks = {}
    for s in silver:
        answers = {}
        for m in members:
            row = rows.get(m, {}).get(s.sentence.id)
            if row is None:
                raise NerbenchError(f"{folder / 'predictions.jsonl'}: member {m!r} has no answer for sentence "
                                    f"{s.sentence.id!r} of the silver")
            answers[m] = tuple(sorted(set(row.spans)))
        tasks[s.sentence.id] = ReviewTask(s.sentence, s.votes, answers, s.disagreement)
    return AnnotationFolder(folder, summary, silver, tasks, sha256_file(folder / "silver.jsonl"))


def pick(annotation: AnnotationFolder, how: str, n: int, seed: int) -> list[ReviewTask]:
    """The `n` sentences a person should see, in the silver's order: where the
    members disagree most, or at random (seeded) — `train --budget`'s picking."""
    if how not in PICKS:
        raise NerbenchError(f"--pick {how!r}: one of {', '.join(PICKS)}")
    tasks = annotation.tasks
    if not 0 < n <= len(tasks):
        raise NerbenchError(f"--n {n}: between 1 and the {len(tasks)} sentences of {annotation.path}")
    chosen = set(picks.pick(how, annotation.silver, n, seed))
    return [task for sid, task in tasks.items() if sid in chosen]


@dataclass(frozen=True)
class Pick:
    """Which sentences an export sends when no one names them: `n` picked
    as `pick` does (`review export --pick --n --seed`)."""

    how: str
    n: int
    seed: int


def _chosen(annotation: AnnotationFolder, which: Pick | Sequence[str]) -> tuple[list[ReviewTask], dict[str, Any]]:
    """The tasks `which` names — a pick, or the ids of sentences chosen
    elsewhere (the active loop's batch), in their order — and what the
    export's request records of the choice."""
    if isinstance(which, Pick):
        return pick(annotation, which.how, which.n, which.seed), {"pick": which.how, "n": which.n, "seed": which.seed}
    unknown = [i for i in which if i not in annotation.tasks]
    if unknown:
        raise NerbenchError(f"sentence {unknown[0]!r} is not in the silver of {annotation.path}")
    if not which:
        raise NerbenchError("no sentence to export")
    return [annotation.tasks[i] for i in which], {"sentence_ids": list(which)}


@dataclass
class Export:
    folder: Path
    tool: str
    tasks: list[ReviewTask]
    files: list[Path]
    export_id: str


def _claim(folder: Path, request: dict[str, Any]) -> None:
    """`folder` is this export's: empty, new, or an export of the same request."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        earlier = read_json(manifest, "review manifest")
        if not isinstance(earlier, dict) or earlier.get("request") != request:
            raise NerbenchError(f"{folder}: holds another review export ({manifest}); give another -o or remove it")
    elif folder.exists() and any(folder.iterdir()):
        raise NerbenchError(f"{folder}: not empty and not a review export; give another -o")


def export_review(annotation_dir: Path, out_dir: Path, tool: str, which: Pick | Sequence[str], registry: Registry,
                  origin: Mapping[str, Any] | None = None) -> Export:
    """Write the sentences of the annotation in `annotation_dir` that
    `which` picks or names for `tool` under `out_dir`, with what the export
    is matched against on import; `origin` (e.g. the loop and its round)
    joins the request the manifest records."""
    if tool not in TOOLS:
        raise NerbenchError(f"--to {tool!r}: one of {', '.join(TOOLS)}")
    annotation = read_annotation(annotation_dir)
    summary = annotation.summary
    dataset = registry.get("datasets", summary["dataset"])
    known = {label.name: label for label in dataset.labels}
    labels: list[Label] = []
    for name in summary["labels"]:
        if name not in known:
            raise NerbenchError(f"{annotation_dir / 'annotation.json'}: label {name!r} is not one of dataset "
                                f"{dataset.id!r}'s ({', '.join(known)})")
        labels.append(known[name])
    tasks, choice = _chosen(annotation, which)
    request = {"annotation": str(annotation_dir), "silver_sha256": annotation.silver_sha256, "tool": tool,
               **choice, **(origin or {})}
    export_id = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    _claim(out_dir, request)
    files = [out_dir / SENTENCES, out_dir / TASK_FILES[tool], out_dir / MANIFEST]
    with atomic_write(files[0]) as out:
        for task in tasks:
            out.write(json.dumps(task.sentence.to_json(), ensure_ascii=False) + "\n")
    written = [WRITERS[tool](task) for task in tasks]
    with atomic_write(files[1]) as out:
        if tool == "label-studio":
            out.write(json.dumps(written, ensure_ascii=False, indent=1) + "\n")
        else:
            out.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in written)
    if tool == "label-studio":
        with atomic_write(out_dir / LS_CONFIG) as out:
            out.write(label_studio_config(labels, summary["language"]))
        files.insert(2, out_dir / LS_CONFIG)
    write_document(files[-1], {
        "export": export_id, "tool": tool, "request": request, "nerbench_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "teacher": summary["teacher"]["name"],
        "members": annotation.members, "dataset": summary["dataset"], "split": summary["split"],
        "language": summary["language"], "labels": [label.name for label in labels],
        "sentence_ids": [t.sentence.id for t in tasks],
        "disagreement": {t.sentence.id: t.disagreement for t in tasks},
    })
    return Export(out_dir, tool, tasks, files, export_id)


# -- import -------------------------------------------------------------------


@dataclass
class Imported:
    """What `import_review` took and counted."""

    reviewed: Path
    sentences: list[Sentence]
    counts: Counter[str] = field(default_factory=Counter)
    source_sha256: str = ""


def _checked_spans(answer: Answer, sentence: Sentence, labels: Sequence[str]) -> tuple[Span, ...]:
    """The answer's spans, each on the text, on the sentence's tokens and of a
    known label — or one line saying which is not."""
    where, text = answer.where, sentence.text
    index = TokenIndex(sentence.tokens)
    for k, span in enumerate(answer.spans):
        if not 0 <= span.start < span.end <= len(text):
            raise NerbenchError(f"{where}: span {span.start}-{span.end} is off the text of sentence "
                                f"{sentence.id!r} ({len(text)} characters)")
        if not index.is_aligned(span.start, span.end):
            raise NerbenchError(f"{where}: span {span.start}-{span.end} ({text[span.start:span.end]!r}) is not on "
                                f"the tokens of sentence {sentence.id!r}: select whole tokens")
        if span.label not in labels:
            raise NerbenchError(f"{where}: label {span.label!r} is not one of the dataset's ({', '.join(labels)})")
        rng = answer.token_ranges[k] if k < len(answer.token_ranges) else None
        if rng is not None:
            first = {t.start: i for i, t in enumerate(sentence.tokens)}[span.start]
            last = {t.end: i for i, t in enumerate(sentence.tokens)}[span.end]
            if rng != (first, last):
                raise NerbenchError(f"{where}: span {span.start}-{span.end} has token_start/token_end {rng[0]}/"
                                    f"{rng[1]}, but covers tokens {first} to {last} (token_end is inclusive)")
    return tuple(sorted(set(answer.spans)))


def read_export(folder: Path) -> tuple[dict[str, Any], dict[str, Sentence]]:
    """A review folder's manifest and its exported sentences by id."""
    path = folder / MANIFEST
    if not path.is_file():
        raise NerbenchError(f"{folder}: not a review export (no {MANIFEST}; `nerbench review export -o DIR` "
                            "writes one)")
    manifest = read_json(path, "review manifest")
    validate(manifest, _MANIFEST, str(path))
    sentences = {s.id: s for _, _, s in sentence_lines(folder / SENTENCES, "review sentences")}
    return manifest, sentences


def import_review(export_file: Path, folder: Path) -> Imported:
    """The tool's export of the review in `folder`, checked line by line
    against what was exported, written as gold sentence JSONL
    (`folder/reviewed.jsonl`, each line with who/when and the sha256 of
    `export_file`) with the counts in `folder/import.json`."""
    manifest, exported = read_export(folder)
    tool, labels = manifest["tool"], manifest["labels"]
    if not export_file.is_file():
        raise NerbenchError(f"{export_file}: no such file")
    source_sha256 = sha256_file(export_file)
    seen: dict[str, str] = {}
    counts: Counter[str] = Counter()
    gold: list[tuple[Sentence, dict[str, Any]]] = []
    for answer in READERS[tool](export_file):
        sentence = exported.get(answer.sentence_id)
        if sentence is None:
            raise NerbenchError(f"{answer.where}: sentence {answer.sentence_id!r} is not one this review exported "
                                f"({folder / SENTENCES})")
        if answer.sentence_id in seen:
            raise NerbenchError(f"{answer.where}: sentence {answer.sentence_id!r} again (first at "
                                f"{seen[answer.sentence_id]}): one answer per sentence")
        seen[answer.sentence_id] = answer.where
        if answer.text != sentence.text:
            raise NerbenchError(f"{answer.where}: the text of sentence {answer.sentence_id!r} is not the one "
                                "exported (was it edited?)")
        counts[answer.status] += 1
        if answer.status != ACCEPTED:
            continue
        spans = _checked_spans(answer, sentence, labels)
        changed = spans != tuple(sorted(set(sentence.spans)))
        counts["changed" if changed else "unchanged"] += 1
        review: dict[str, Any] = {"tool": tool, "export": manifest["export"], "source_sha256": source_sha256,
                                  "changed": changed}
        review.update({k: v for k, v in (("by", answer.by), ("at", answer.at)) if v is not None})
        gold.append((Sentence(sentence.id, sentence.text, sentence.tokens, spans), review))
    counts[UNREVIEWED] += len(exported) - len(seen)
    counts["spans"] = sum(len(s.spans) for s, _ in gold)
    out = folder / REVIEWED
    with atomic_write(out) as handle:
        for sentence, review in gold:
            handle.write(json.dumps({**sentence.to_json(), "review": review}, ensure_ascii=False) + "\n")
    # every count, a zero too: "0 rejected" is what the reviewer did
    counts = Counter({k: counts[k] for k in (ACCEPTED, REJECTED, SKIPPED, UNREVIEWED, "changed", "unchanged",
                                             "spans")})
    write_document(folder / IMPORTED, {
        "export": manifest["export"], "tool": tool, "source": str(export_file), "source_sha256": source_sha256,
        "reviewed": REVIEWED, "reviewed_sha256": sha256_file(out), "exported": len(exported),
        "counts": dict(counts),
        "nerbench_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    return Imported(out, [s for s, _ in gold], counts, source_sha256)


