"""Plugin options, checked when a config loads: each kind declares them
(`nerbench.bases.Configurable`), nerbench refuses unknown and ill-typed ones
with one line naming the file and the field."""

from __future__ import annotations

import difflib
from typing import Any

from nerbench.bases import Configurable
from nerbench.config.settings import DEFAULT_CIRCUIT_BREAKER, DEFAULT_RETRIES
from nerbench.files.schema import validate
from nerbench.errors import NerbenchError

#: Options nerbench itself reads from every `[[backend]]`, whatever its kind.
BACKEND_OPTIONS: dict[str, Any] = {
    "concurrency": {"oneOf": [{"type": "integer", "minimum": 1}, {"const": "adaptive"}],
                    "description": "requests in flight on this endpoint, or \"adaptive\" (found while running)"},
    "max_concurrency": {"type": "integer", "minimum": 1,
                        "description": "the most requests in flight adaptive concurrency may reach (default 256)"},
    "retries": {"type": "integer", "minimum": 1,
                "description": f"attempts per request (transient failures; default {DEFAULT_RETRIES})"},
    "circuit_breaker": {"type": "integer", "minimum": 1,
                        "description": "requests in a row that get no answer (any cause) before its work stops "
                                       f"(default {DEFAULT_CIRCUIT_BREAKER})"},
}


def check_options(cls: type[Configurable], options: dict[str, Any], source: str, field: str, what: str,
                  core: dict[str, Any] | None = None) -> None:
    """Check `options` (an entry's, at `field` of the file `source`) against
    what `cls` declares plus the `core` options nerbench reads itself."""
    declared = cls.OPTIONS
    properties = {**(core or {}), **(declared or {})}
    if declared is not None:
        unknown = sorted(set(options) - set(properties))
        if unknown:
            close = difflib.get_close_matches(unknown[0], properties, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise NerbenchError(f"{source}: field {field}: unknown option {unknown[0]!r} for {what}.{hint} "
                                f"Options: {', '.join(sorted(properties)) or 'none'}")
    missing = [name for name in cls.REQUIRED_OPTIONS if name not in options]
    if missing:
        raise NerbenchError(f"{source}: field {field}: {what} needs option {missing[0]!r}")
    schema = {"type": "object", "properties": properties}
    validate(options, schema, source, prefix=field)
    try:
        cls.check_options(options)
    except NerbenchError as exc:
        raise NerbenchError(f"{source}: field {field}: {exc}") from None
