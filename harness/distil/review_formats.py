"""The annotation tools a reviewer already uses, as files: what nerbench
writes for each (tasks carrying the sentence id, so the answers come back to
their sentence) and what it reads back from each tool's export.

- Label Studio: a JSON list of tasks, `data` = {text, nerbench_id}, one
  *prediction per teacher member* (`model_version` the member system,
  `score` its vote share), and the labeling config (XML) of the dataset's
  labels with their descriptions as hints. Read back: its JSON export, each
  annotation's `labels` regions; `was_cancelled` (skipped) and tasks with no
  annotation are counted, never read as "no entities".
- Prodigy (`ner_manual`): `text`, `tokens` with `id` and `ws`, `spans` with
  character offsets and `token_start`/`token_end` — **inclusive**, where
  spaCy's span end is exclusive — and `meta` holding the id, the members'
  votes and answers. Read back: `db-out` JSONL, `answer` accept / reject /
  ignore.
- doccano: `{"text", "label": [[start, end, LABEL]]}` (`labels`, older
  versions' key, accepted on import), the id as a top-level key (doccano
  keeps unknown keys as metadata and exports them back). doccano's export
  says nothing of review: export with "only approved documents".

Each reader checks the shape of what the tool wrote (one line naming the
file, line and field); whether the answer fits the exported sentence is
`review.py`'s to check."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from nerbench.errors import NerbenchError
from nerbench.files.schema import validate
from nerbench.files.text import json_array_items, json_value, utf8_lines
from nerbench.records import Label, Sentence, Span

TOOLS = ("label-studio", "prodigy", "doccano")
#: Where each tool's tasks go in the export folder.
TASK_FILES = {"label-studio": "tasks.json", "prodigy": "tasks.jsonl", "doccano": "tasks.jsonl"}
#: The key every tool's task carries the sentence id under.
ID_KEY = "nerbench_id"
#: Label Studio: the names the labeling config gives its Labels and Text tags.
LS_FROM, LS_TO = "label", "text"

ACCEPTED, REJECTED, SKIPPED, UNREVIEWED = "accepted", "rejected", "skipped", "unreviewed"


@dataclass(frozen=True)
class ReviewTask:
    """A picked sentence as the reviewer gets it: the teacher's spans (with
    how many members proposed each), and every member's own answer."""

    sentence: Sentence
    votes: tuple[int, ...]
    members: dict[str, tuple[Span, ...]]
    disagreement: float | None

    def vote_share(self, span: Span) -> float:
        """The share of members that proposed exactly `span`."""
        return sum(span in answer for answer in self.members.values()) / max(len(self.members), 1)


@dataclass(frozen=True)
class Answer:
    """What the tool's export says of one task: where it is (FILE:LINE), the
    sentence id, text and spans it holds, its status (accepted, rejected,
    skipped, unreviewed) and, where the tool records them, who and when."""

    where: str
    sentence_id: str
    text: str
    spans: tuple[Span, ...]
    status: str
    by: str | None = None
    at: str | None = None
    #: Prodigy's token indices per span (token_end inclusive), checked against the sentence's tokens
    token_ranges: tuple[tuple[int, int] | None, ...] = ()


# -- writing ------------------------------------------------------------------


def label_studio_config(labels: Sequence[Label], language: str) -> str:
    """Label Studio's labeling config for NER over the dataset's labels, each
    with its description (in the dataset's language) as the hint shown on hover."""
    items = "\n".join(f"    <Label value={quoteattr(label.name)} hint={quoteattr(label.description(language))}/>"
                      for label in labels)
    return (f'<View>\n  <Labels name="{LS_FROM}" toName="{LS_TO}">\n{items}\n  </Labels>\n'
            f'  <Text name="{LS_TO}" value="${LS_TO}"/>\n</View>\n')


def _ls_region(task: ReviewTask, span: Span, rid: str) -> dict[str, Any]:
    return {"id": rid, "from_name": LS_FROM, "to_name": LS_TO, "type": "labels", "score": task.vote_share(span),
            "value": {"start": span.start, "end": span.end, "text": task.sentence.text[span.start:span.end],
                      "labels": [span.label]}}


def label_studio_task(task: ReviewTask) -> dict[str, Any]:
    """One task, one prediction per member: `score` is the member's vote
    share (the mean share of members proposing each of its spans; for a silent
    member, the share of members silent with it)."""
    predictions = []
    for k, (member, spans) in enumerate(task.members.items()):
        shares = [task.vote_share(s) for s in spans]
        silent = sum(not a for a in task.members.values()) / len(task.members)
        predictions.append({"model_version": member,
                            "score": round(sum(shares) / len(shares), 6) if shares else round(silent, 6),
                            "result": [_ls_region(task, s, f"m{k}-{i}") for i, s in enumerate(spans)]})
    return {"data": {LS_TO: task.sentence.text, ID_KEY: task.sentence.id}, "predictions": predictions}


def _span_votes(task: ReviewTask) -> str:
    """The teacher's spans with their votes, as a reviewer reads them."""
    total = len(task.members)
    return "; ".join(f"{task.sentence.text[s.start:s.end]} [{s.label}] {v}/{total}"
                     for s, v in zip(task.sentence.spans, task.votes)) or "none"


def prodigy_task(task: ReviewTask) -> dict[str, Any]:
    """A `ner_manual` task: the teacher's spans to correct, on the sentence's
    tokens, `token_end` inclusive (Prodigy's convention)."""
    s = task.sentence
    tokens = s.tokens
    first = {t.start: i for i, t in enumerate(tokens)}
    last = {t.end: i for i, t in enumerate(tokens)}
    spans = [{"start": sp.start, "end": sp.end, "label": sp.label, "token_start": first[sp.start],
              "token_end": last[sp.end]} for sp in s.spans if sp.start in first and sp.end in last]
    meta: dict[str, Any] = {ID_KEY: s.id, "votes": _span_votes(task)}
    if task.disagreement is not None:
        meta["disagreement"] = round(task.disagreement, 3)
    meta.update({member: "; ".join(f"{s.text[a.start:a.end]} [{a.label}]" for a in answer) or "none"
                 for member, answer in task.members.items()})
    return {"text": s.text,
            "tokens": [{"text": t.text, "start": t.start, "end": t.end, "id": i,
                        "ws": bool(nxt is not None and s.text[t.end:nxt.start])}
                       for i, (t, nxt) in enumerate(zip(tokens, [*tokens[1:], None]))],
            "spans": spans, "meta": meta}


def doccano_task(task: ReviewTask) -> dict[str, Any]:
    """The teacher's spans as doccano's `label`, the votes beside them."""
    s = task.sentence
    return {"text": s.text, "label": [[sp.start, sp.end, sp.label] for sp in s.spans], ID_KEY: s.id,
            "votes": _span_votes(task)}


# -- reading ------------------------------------------------------------------

_INT = {"type": "integer", "minimum": 0}
_LS_TASK = {
    "type": "object", "required": ["data"],
    "properties": {
        "data": {"type": "object", "required": [LS_TO, ID_KEY],
                 "properties": {LS_TO: {"type": "string"}, ID_KEY: {"type": "string"}}},
        "annotations": {"type": "array", "items": {
            "type": "object", "required": ["result"],
            "properties": {
                "was_cancelled": {"type": "boolean"},
                "result": {"type": "array", "items": {
                    "type": "object", "required": ["type", "value"],
                    "properties": {"type": {"type": "string"}, "value": {"type": "object"}}}},
            }}},
    },
}
_LS_LABELS = {"type": "object", "required": ["start", "end", "labels"],
              "properties": {"start": _INT, "end": _INT, "text": {"type": "string"},
                             "labels": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}
_PRODIGY_TASK = {
    "type": "object", "required": ["text", "meta"],
    "properties": {
        "text": {"type": "string"},
        "meta": {"type": "object", "required": [ID_KEY], "properties": {ID_KEY: {"type": "string"}}},
        "answer": {"enum": ["accept", "reject", "ignore"]},
        "spans": {"type": "array", "items": {
            "type": "object", "required": ["start", "end", "label"],
            "properties": {"start": _INT, "end": _INT, "label": {"type": "string"},
                           "token_start": _INT, "token_end": _INT}}},
        "_annotator_id": {"type": "string"},
        "_timestamp": {"type": "integer"},
    },
}
_TRIPLES = {"type": "array", "items": {"type": "array", "minItems": 3, "maxItems": 3,
                                        "prefixItems": [_INT, _INT, {"type": "string"}]}}
_DOCCANO_TASK = {
    "type": "object", "required": ["text", ID_KEY],
    "properties": {"text": {"type": "string"}, ID_KEY: {"type": "string"}, "label": _TRIPLES, "labels": _TRIPLES},
}


def _ls_user(annotation: dict[str, Any]) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return None if who is None else str(who)


def read_label_studio(path: Path) -> Iterator[Answer]:
    """Label Studio's JSON export: a task's one submitted annotation is the
    reviewer's answer (two are refused: nerbench takes one reviewer's word per
    sentence); cancelled ones are skips; a task with none is unreviewed."""
    for where, task in json_array_items(path, "Label Studio export"):
        validate(task, _LS_TASK, where)
        data = task["data"]
        annotations = task.get("annotations") or []
        submitted = [a for a in annotations if not a.get("was_cancelled")]
        if len(submitted) > 1:
            raise NerbenchError(f"{where}: task {task.get('id')} has {len(submitted)} submitted annotations; "
                                "nerbench takes one answer per sentence: keep one in Label Studio")
        if not submitted:
            yield Answer(where, data[ID_KEY], data[LS_TO], (), SKIPPED if annotations else UNREVIEWED)
            continue
        annotation = submitted[0]
        spans = []
        for k, region in enumerate(annotation["result"]):
            field = f"annotations.result[{k}]"
            if region["type"] != "labels":
                raise NerbenchError(f"{where}: field {field}.type: {region['type']!r} is not an entity span "
                                    "(the labeling config nerbench wrote has Labels only)")
            value = region["value"]
            validate(value, _LS_LABELS, where, f"{field}.value")
            if "text" in value and value["text"] != data[LS_TO][value["start"]:value["end"]]:
                raise NerbenchError(f"{where}: field {field}.value: its text {value['text']!r} is not the text at "
                                    f"{value['start']}-{value['end']}")
            spans += [Span(value["start"], value["end"], label) for label in value["labels"]]
        yield Answer(where, data[ID_KEY], data[LS_TO], tuple(spans), ACCEPTED, _ls_user(annotation),
                     annotation.get("updated_at") or annotation.get("created_at"))


def _jsonl(path: Path, what: str) -> Iterator[tuple[str, Any]]:
    for lineno, line in utf8_lines(path, what):
        if line.strip():
            where = f"{path}:{lineno}"
            yield where, json_value(line, where)


PRODIGY_ANSWERS = {"accept": ACCEPTED, "reject": REJECTED, "ignore": SKIPPED}


def read_prodigy(path: Path) -> Iterator[Answer]:
    """Prodigy's `db-out` JSONL: `answer` accept / reject / ignore (a line
    without one was never answered); the annotator and time where Prodigy
    records them (`_annotator_id`, `_timestamp`)."""
    for where, task in _jsonl(path, "Prodigy export"):
        validate(task, _PRODIGY_TASK, where)
        spans = task.get("spans") or []
        status = PRODIGY_ANSWERS[task["answer"]] if "answer" in task else UNREVIEWED
        stamp = task.get("_timestamp")
        at = None if stamp is None else datetime.datetime.fromtimestamp(stamp, datetime.UTC).isoformat()
        ranges = tuple((s["token_start"], s["token_end"]) if "token_start" in s and "token_end" in s else None
                       for s in spans)
        yield Answer(where, task["meta"][ID_KEY], task["text"],
                     tuple(Span(s["start"], s["end"], s["label"]) for s in spans) if status == ACCEPTED else (),
                     status, task.get("_annotator_id"), at, ranges if status == ACCEPTED else ())


def read_doccano(path: Path) -> Iterator[Answer]:
    """doccano's JSONL export (`label`, or `labels` in older versions): every
    line is taken as reviewed — doccano's file does not say otherwise."""
    for where, task in _jsonl(path, "doccano export"):
        validate(task, _DOCCANO_TASK, where)
        if "label" in task and "labels" in task:
            raise NerbenchError(f"{where}: both 'label' and 'labels': which one is the answer?")
        triples = task.get("label", task.get("labels", []))
        yield Answer(where, task[ID_KEY], task["text"], tuple(Span(a, b, lab) for a, b, lab in triples), ACCEPTED)


WRITERS: dict[str, Callable[[ReviewTask], dict[str, Any]]] = {
    "label-studio": label_studio_task, "prodigy": prodigy_task, "doccano": doccano_task}
READERS: dict[str, Callable[[Path], Iterator[Answer]]] = {
    "label-studio": read_label_studio, "prodigy": read_prodigy, "doccano": read_doccano}
