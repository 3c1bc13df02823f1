"""The results JSON interchange format: every number of a run with its
provenance; leaderboards render from it alone (docs/formats.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError


def read_results(path: Path) -> dict[str, Any]:
    """A results document, or a one-line error naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NerbenchError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


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


def write_results(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, path)
