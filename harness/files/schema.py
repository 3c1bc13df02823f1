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
        message = err.message
        if err.validator in ("oneOf", "anyOf"):
            # jsonschema says "is not valid under any of the given schemas": say what is.
            choices = [describe(sub) for sub in err.validator_value]
            message = f"{err.instance!r} is not valid; expected {' or '.join(choices)}"
        message = message if len(message) <= 200 else message[:200] + "…"
        raise NerbenchError(f"{source}: field {field_path(err.absolute_path, prefix)}: {message}")


def describe(schema: dict[str, Any]) -> str:
    """What a (sub)schema accepts, in words: its allowed values where it lists them."""
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "a value")
    if kind == "array" and "items" in schema:
        return f"a list of ({describe(schema['items'])})"
    bounds = [f"≥ {schema['minimum']}" for _ in [0] if "minimum" in schema] + \
             [f"≤ {schema['maximum']}" for _ in [0] if "maximum" in schema]
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}" + (f" {' and '.join(bounds)}" if bounds else "")
