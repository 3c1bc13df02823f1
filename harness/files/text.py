"""The one reader of text files and the one of JSON files: every command
reads through these, so the same bad byte or line gets the same one-line
error, naming the file (and the line) and what it was read as."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError


def utf8_lines(path: Path, what: str = "file") -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file read as `what` (e.g.
    "predictions"); an unreadable file or a line that is not UTF-8 is an
    error naming the file and the line."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    with handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NerbenchError(f"{path}:{lineno}: not UTF-8 (byte {exc.start + 1} of the line)") from None


def read_text(path: Path, what: str = "file") -> str:
    """A whole UTF-8 text file read as `what` (e.g. "template")."""
    return "".join(line for _, line in utf8_lines(path, what))


def json_value(text: str, where: str, whole_file: bool = False) -> Any:
    """One JSON value read at `where`: a JSONL line ("FILE:LINE"), or a
    whole file (its error then names the line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f"{where}:{exc.lineno}" if whole_file else where
        raise NerbenchError(f"{at}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise NerbenchError(f"{where}: invalid JSON: nested too deep") from None


def read_json(path: Path, what: str = "file") -> Any:
    """A whole JSON file read as `what` (e.g. "manifest")."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NerbenchError(f"{path}:{line}: not UTF-8 (byte {exc.start + 1} of the file)") from None
    return json_value(text, str(path), whole_file=True)


def json_array_items(path: Path, what: str = "file") -> Iterator[tuple[str, Any]]:
    """("FILE:LINE", item) for each item of a file holding one JSON array (an
    annotation tool's export): each item read on its own, so an error — a bad
    item, a file cut short — names the line where that item starts."""
    text = read_text(path, what)
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        raise NerbenchError(f"{path}:{text.count(chr(10), 0, pos) + 1}: not a JSON array (expected '[')")
    pos += 1
    first = True
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        line = text.count("\n", 0, pos) + 1
        if pos >= len(text):
            raise NerbenchError(f"{path}:{line}: the JSON array is not closed (the file is cut short)")
        if text[pos] == "]":
            break
        if not first:
            if text[pos] != ",":
                raise NerbenchError(f"{path}:{line}: invalid JSON: expected ',' or ']' between items")
            pos += 1
            while pos < len(text) and text[pos].isspace():
                pos += 1
            line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise NerbenchError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise NerbenchError(f"{path}:{line}: invalid JSON: nested too deep") from None
        first = False
        yield f"{path}:{line}", item
    rest = text[pos + 1:].strip()
    if rest:
        raise NerbenchError(f"{path}:{text.count(chr(10), 0, pos) + 1}: invalid JSON: extra data after the array")
