"""Secrets never stored or printed: every message nerbench writes to a file
or a terminal that may carry a server's words goes through `redact`.

A backend registers each secret it sends (an API key) with
`register_secret`; a server that echoes it back (an error body quoting the
Authorization header) then has it replaced. Bearer and Basic credentials are
masked even when nobody registered them.
"""

from __future__ import annotations

import re
import sys

REDACTED = "[redacted]"
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Redact `value` from everything nerbench writes from now on (values
    shorter than 4 characters would mask ordinary text and are refused)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every registered secret and credential masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def one_line(text: str) -> str:
    """`text` redacted, on one line: control characters (newlines included)
    shown as escapes, so a name or a server's message cannot break a table
    or forge a line of output."""
    text = redact(str(text))
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def notice(message: str) -> None:
    """One line on stderr for the user, redacted."""
    print(f"nerbench: {one_line(message)}", file=sys.stderr)
