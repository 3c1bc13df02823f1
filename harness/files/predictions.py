"""The predictions JSONL interchange format: one system's answer for one
sentence per line (docs/formats.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path

from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.files.text import json_value, utf8_lines
from nerbench.records import STATUS_OK, STATUSES, Prediction, Sentence, Span

REQUIRED = ("system", "dataset", "split", "sentence_id", "spans")


def _rows(path: Path) -> Iterator[tuple[str, Prediction]]:
    """("FILE:LINE", prediction) for every line, each checked on its own:
    a line that is not a prediction is an error naming the file and line."""
    for lineno, line in utf8_lines(path, "predictions"):
        where = f"{path}:{lineno}"
        if not line.strip():
            continue
        obj = json_value(line, where)
        if not isinstance(obj, dict):
            raise NerbenchError(f"{where}: expected a JSON object")
        missing = [k for k in REQUIRED if k not in obj]
        if missing:
            raise NerbenchError(f"{where}: field {missing[0]!r} is missing")
        # Another tool's predictions may leave the status out: an answer is then assumed.
        status = obj.get("status", STATUS_OK)
        if status not in STATUSES:
            raise NerbenchError(f"{where}: field 'status': {status!r} is not one of {', '.join(STATUSES)}")
        try:
            spans = tuple(_span(s) for s in obj["spans"])
        except (KeyError, TypeError, ValueError):
            raise NerbenchError(f"{where}: field 'spans': each span needs integer start, end and a label") from None
        for span in spans:
            if not 0 <= span.start < span.end:
                raise NerbenchError(f"{where}: field 'spans': span {span.start}-{span.end} is negative, "
                                    "empty or reversed (start < end, both from 0)")
        issues = obj.get("issues") or {}
        if not isinstance(issues, dict):
            raise NerbenchError(f"{where}: field 'issues': expected an object of counts")
        error = obj.get("error")
        yield where, Prediction(str(obj["system"]), str(obj["dataset"]), str(obj["split"]), str(obj["sentence_id"]),
                                spans, status, issues, None if error is None else str(error))


def _span(obj: dict) -> Span:
    start, end = obj["start"], obj["end"]
    if type(start) is not int or type(end) is not int or not isinstance(obj["label"], str):
        raise TypeError
    return Span(start, end, obj["label"])


def read_predictions(path: Path) -> list[Prediction]:
    """Every line of a predictions file, each checked on its own (not
    against a corpus: `checked_predictions` does that)."""
    return [p for _, p in _rows(path)]


#: What a split's predictions are checked against: its sentences by id and its labels.
Gold = tuple[Mapping[str, Sentence], Collection[str]]


def checked_predictions(files: list[Path], gold: Mapping[tuple[str, str], Gold],
                        sources: dict[str, Path] | None = None
                        ) -> dict[tuple[str, str], dict[str, dict[str, Prediction]]]:
    """(dataset, split) → system → sentence id → prediction, for the rows of
    the splits in `gold`: the one reader every command that scores stored
    predictions uses. A row that cannot be scored is an error naming the
    file and line: a sentence the split lacks, a span past the sentence's
    end, a label the dataset does not have, a sentence answered twice, or
    one system in two files. Rows of other splits are not read further.
    `sources`, when given, is filled with the file each system came from."""
    out: dict[tuple[str, str], dict[str, dict[str, Prediction]]] = {key: defaultdict(dict) for key in gold}
    seen: dict[tuple[str, str, str, str], str] = {}  # (dataset, split, system, sentence id) → where
    source: dict[str, Path] = {} if sources is None else sources  # system → the file it came from
    for path in files:
        for where, p in _rows(path):
            key = (p.dataset, p.split)
            if key not in gold:
                continue
            sentences, labels = gold[key]
            sentence = sentences.get(p.sentence_id)
            if sentence is None:
                raise NerbenchError(f"{where}: sentence_id {p.sentence_id!r} is not in {p.dataset}:{p.split}")
            if source.setdefault(p.system, path) != path:
                raise NerbenchError(f"{where}: system {p.system!r} is also in {source[p.system]}; "
                                    "give each system's predictions once")
            answered = (p.dataset, p.split, p.system, p.sentence_id)
            if answered in seen:
                raise NerbenchError(f"{where}: system {p.system!r} already answered sentence {p.sentence_id!r} "
                                    f"at {seen[answered]}")
            seen[answered] = where
            for span in p.spans:
                if span.end > len(sentence.text):
                    raise NerbenchError(f"{where}: span {span.start}-{span.end} is past the end of sentence "
                                        f"{p.sentence_id!r} ({len(sentence.text)} characters)")
                if labels and span.label not in labels:
                    raise NerbenchError(f"{where}: label {span.label!r} is not one of {p.dataset}'s "
                                        f"({', '.join(sorted(labels))})")
            out[key][p.system][p.sentence_id] = p
    return {key: dict(systems) for key, systems in out.items()}


def answers_by_system(
    files: list[Path], dataset: str, split: str, sentences: Mapping[str, Sentence], labels: Collection[str] = (),
    sources: dict[str, Path] | None = None,
) -> dict[str, dict[str, Prediction]]:
    """system → sentence id → prediction, for the rows of `dataset:split`,
    read by `checked_predictions` (which fills `sources`); no row for the
    split at all is an error too."""
    systems = checked_predictions(files, {(dataset, split): (sentences, labels)}, sources)[(dataset, split)]
    if not systems:
        raise NerbenchError(f"no predictions for {dataset}:{split} in {', '.join(map(str, files))}")
    return systems


def spans_by_system(systems: Mapping[str, Mapping[str, Prediction]]) -> dict[str, dict[str, tuple[Span, ...]]]:
    """system → sentence id → spans, of system → sentence id → prediction."""
    return {name: {sid: p.spans for sid, p in rows.items()} for name, rows in systems.items()}


def group_by_system(
    files: list[Path], dataset: str, split: str, sentences: Mapping[str, Sentence], labels: Collection[str] = ()
) -> dict[str, dict[str, tuple[Span, ...]]]:
    """system → sentence id → spans, for the rows of `dataset:split` (`answers_by_system`)."""
    return spans_by_system(answers_by_system(files, dataset, split, sentences, labels))


def write_predictions(path: Path, predictions: Iterable[Prediction]) -> None:
    with atomic_write(path) as out:
        for p in predictions:
            out.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
