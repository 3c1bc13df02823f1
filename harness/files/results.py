"""The results JSON interchange format: every number of a run with its
provenance; leaderboards render from it alone (docs/formats.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nerbench.files.schema import load_schema, validate
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.files.text import read_json


def read_results(path: Path) -> dict[str, Any]:
    """A results document, checked against the results schema (what the
    reporters read), or a one-line error naming the file and the field."""
    data = read_json(path, "results")
    if not isinstance(data, dict):
        raise NerbenchError(f"{path}: not a results file: expected a JSON object, got {type(data).__name__}")
    validate(data, load_schema("nerbench.files", "results.schema.json"), str(path))
    return data


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _flat(value: Any) -> bool:
    """A value written on one line: a scalar, an object of scalars, or an
    array of scalars or of arrays of scalars (per-sentence counts, spans)."""
    if isinstance(value, dict):
        return all(map(_scalar, value.values()))
    if isinstance(value, list):
        return all(_scalar(v) or (isinstance(v, list) and all(map(_scalar, v))) for v in value)
    return True


def dumps(data: Any, indent: str = "") -> str:
    """JSON indented by two spaces down to the values `_flat` keeps on one
    line: per-sentence arrays of a 300-sentence split stay one line each."""
    if _flat(data):
        return json.dumps(data, ensure_ascii=False)
    inner = indent + "  "
    if isinstance(data, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, inner)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + dumps(v, inner) for v in data) + "\n" + indent + "]"


def write_document(path: Path, data: Any) -> None:
    """Any of nerbench's JSON documents — results.json, and annotation.json,
    train.json, student.json beside what they describe — written whole, in
    the layout `dumps` gives."""
    with atomic_write(path) as out:
        out.write(dumps(data) + "\n")


def read_results_files(paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Several results files for one leaderboard, each read by `read_results`.
    A system or ensemble on a dataset split is ranked once: given twice in
    one file it is an error; given by two files, identical copies are kept
    once (a note says so) and different ones are an error naming both."""
    docs: list[dict[str, Any]] = []
    notes: list[str] = []
    owner: dict[tuple[str, str, str, str], tuple[Path, dict[str, Any]]] = {}
    distinct: dict[Path, Path] = {}
    for path in paths:
        if Path(path).resolve() in distinct:
            notes.append(f"{path}: given twice; read once")
        distinct.setdefault(Path(path).resolve(), path)
    for path in distinct.values():
        doc = read_results(path)
        kept: dict[str, list[dict[str, Any]]] = {}
        for kind in ("systems", "ensembles"):
            if kind not in doc:
                continue
            kept[kind] = []
            for i, entry in enumerate(doc[kind]):
                key = (kind, entry["system"], entry["dataset"], entry["split"])
                where = f"{path}: field {kind}[{i}]"
                if key in owner:
                    first, copy = owner[key]
                    if first == path:
                        raise NerbenchError(f"{where}: {entry['system']!r} on {entry['dataset']}:{entry['split']} "
                                            "is given twice in this file")
                    if copy != entry:
                        raise NerbenchError(f"{where}: {entry['system']!r} on {entry['dataset']}:{entry['split']} "
                                            f"is also in {first}, with other numbers; give it once")
                    notes.append(f"{entry['system']} on {entry['dataset']}:{entry['split']}: identical in {first} "
                                 f"and {path}; ranked once")
                    continue
                owner[key] = (path, entry)
                kept[kind].append(entry)
        docs.append({**doc, **kept})
    return docs, notes
