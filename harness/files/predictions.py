"""The predictions JSONL interchange format: one system's answer for one
sentence per line (docs/formats.md)."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from nerbench.errors import NerbenchError
from nerbench.types import STATUSES, Prediction, Span

REQUIRED = ("system", "dataset", "split", "sentence_id", "spans", "status")


def read_predictions(path: Path) -> list[Prediction]:
    out = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot read predictions: {exc.strerror}") from None
    with handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NerbenchError(f"{where}: invalid JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise NerbenchError(f"{where}: expected a JSON object")
            missing = [k for k in REQUIRED if k not in obj]
            if missing:
                raise NerbenchError(f"{where}: field {missing[0]!r} is missing")
            if obj["status"] not in STATUSES:
                raise NerbenchError(f"{where}: field 'status': {obj['status']!r} is not one of {', '.join(STATUSES)}")
            try:
                spans = tuple(Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in obj["spans"])
            except (KeyError, TypeError, ValueError):
                raise NerbenchError(f"{where}: field 'spans': each span needs integer start, end and a label") from None
            out.append(
                Prediction(
                    str(obj["system"]), str(obj["dataset"]), str(obj["split"]), str(obj["sentence_id"]),
                    spans, obj["status"], obj.get("issues") or {}, obj.get("error"),
                )
            )
    return out


def group_by_system(
    files: list[Path], dataset: str, split: str, sentence_ids: set[str]
) -> dict[str, dict[str, tuple[Span, ...]]]:
    """system → sentence id → spans, for the rows of `dataset:split`."""
    systems: dict[str, dict[str, tuple[Span, ...]]] = defaultdict(dict)
    for path in files:
        for p in read_predictions(path):
            if (p.dataset, p.split) != (dataset, split):
                continue
            if p.sentence_id not in sentence_ids:
                raise NerbenchError(f"{path}: sentence_id {p.sentence_id!r} is not in {dataset}:{split}")
            systems[p.system][p.sentence_id] = p.spans
    if not systems:
        raise NerbenchError(f"no predictions for {dataset}:{split} in {', '.join(map(str, files))}")
    return dict(systems)


def write_predictions(path: Path, predictions: Iterable[Prediction]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for p in predictions:
            out.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
    os.replace(tmp, path)
