"""JSON Schema validation with one-line errors naming file and field."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from nerbench.errors import NerbenchError


@cache
def load_schema(package: str, name: str) -> dict[str, Any]:
    return json.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


def field_path(path: Any, prefix: str = "") -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate(instance: Any, schema: dict[str, Any], source: str, prefix: str = "") -> None:
    """Raise a `NerbenchError` for the first (deepest-first) schema violation,
    naming `source` and the field (under `prefix`, when the instance is part
    of a larger document)."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (-len(e.absolute_path), str(e.absolute_path)))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        message = err.message if len(err.message) <= 200 else err.message[:200] + "…"
        raise NerbenchError(f"{source}: field {field_path(err.absolute_path, prefix)}: {message}")
