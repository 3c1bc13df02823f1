"""The results JSON interchange format: every number of a run with its
provenance; leaderboards render from it alone (docs/formats.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nerbench.config.validation import load_schema, validate
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write


def read_results(path: Path) -> dict[str, Any]:
    """A results document, checked against the results schema (what the
    reporters read), or a one-line error naming the file and the field."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot read results: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise NerbenchError(f"{path}: not a results file: byte {exc.start} is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise NerbenchError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise NerbenchError(f"{path}: not a results file: JSON nested too deep") from None
    if not isinstance(data, dict):
        raise NerbenchError(f"{path}: not a results file: expected a JSON object, got {type(data).__name__}")
    validate(data, load_schema("nerbench.files", "results.schema.json"), str(path))
    return data


def write_results(path: Path, data: Any) -> None:
    with atomic_write(path) as out:
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
