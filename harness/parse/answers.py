"""Reading what models answer: JSON that may be cut off, followed by chatter,
or hostile."""

from __future__ import annotations

import json
from typing import Any

#: What the JSON parser raises on text it cannot read (RecursionError: nesting
#: deeper than it recurses, e.g. 100,000 "[").
_UNPARSEABLE = (json.JSONDecodeError, RecursionError)


def _closers(prefix: str) -> str | None:
    """Brackets that close `prefix`, or None when it ends inside a string."""
    stack = []
    in_string = escaped = False
    for ch in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return None if in_string else "".join(reversed(stack))


def loads_tolerant(text: str, tries: int = 64) -> Any:
    """JSON, or for an answer cut off (or followed by chatter), the longest
    prefix that parses once its open brackets are closed; None if nothing
    does. Never raises: a model's answer nested deeper than Python's JSON
    parser recurses is as unparseable as any other garbage."""
    start = min((i for i in (text.find("{"), text.find("[")) if i != -1), default=-1)
    if start == -1:
        return None
    body = text[start:]
    for decode in (json.loads, lambda b: json.JSONDecoder().raw_decode(b)[0]):
        try:
            return decode(body)
        except _UNPARSEABLE:
            pass
    cut = len(body)
    for _ in range(tries):
        cut = max(body.rfind('"', 0, cut), body.rfind("}", 0, cut), body.rfind("]", 0, cut))
        if cut <= 0:
            return None
        prefix = body[: cut + 1]
        closers = _closers(prefix)
        if closers is None:
            continue
        try:
            return json.loads(prefix + closers)
        except _UNPARSEABLE:
            continue
    return None
