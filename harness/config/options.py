"""Plugin options as the config and the command line give them: those
nerbench itself reads from a config entry, beside what its plugin declares
(checked together by `nerbench.plugin_system.factory`), and `KEY=VALUE`
pairs of `--option`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nerbench.config.settings import DEFAULT_CIRCUIT_BREAKER, DEFAULT_RETRIES
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


def parse_options(pairs: Sequence[str], option: str = "--option") -> dict[str, Any]:
    """`KEY=VALUE` pairs from the command line, each value parsed as JSON
    when it can be (`k=2` is the number 2, `name=x` the string "x")."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise NerbenchError(f"{option} {pair!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
