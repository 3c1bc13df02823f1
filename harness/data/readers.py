"""Corpus readers: raw files → `Sentence`s with token offsets and gold spans.

Readers raise `DataFormatError` naming the file and line of bad input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nerbench.parse.alignment import tags_to_token_spans
from nerbench.errors import NerbenchError
from nerbench.types import Sentence, Span, Token


class DataFormatError(NerbenchError):
    pass


def tokens_from_text(text: str, words: list[str]) -> tuple[Token, ...] | None:
    """Offsets of `words` found left to right in `text` with only whitespace
    between them; None when the text does not hold them that way."""
    tokens = []
    pos = 0
    for word in words:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith(word, pos):
            return None
        tokens.append(Token(word, pos, pos + len(word)))
        pos += len(word)
    return tuple(tokens)


def tokens_joined(words: list[str]) -> tuple[str, tuple[Token, ...]]:
    """Rebuild a text from tokens (one space between each), with offsets."""
    tokens = []
    pos = 0
    for word in words:
        tokens.append(Token(word, pos, pos + len(word)))
        pos += len(word) + 1
    return " ".join(words), tuple(tokens)


def _tag_spans(tokens: tuple[Token, ...], tags: list[str]) -> tuple[Span, ...]:
    return tuple(
        Span(tokens[first].start, tokens[last - 1].end, label)
        for first, last, label in tags_to_token_spans(tags)
    )


def read_conll(path: Path, options: dict[str, Any], split: str) -> Iterator[Sentence]:
    """CoNLL-style files: one token per line, blank line between sentences.

    options: `separator` ("whitespace" or "tab"), `token_column`,
    `tag_column` (Python indices, -1 = last); comment lines start with "#",
    and `# text = ...` / `# sent_id = ...` comments are used when present.
    """
    sep = "\t" if options.get("separator") == "tab" else None
    token_col = int(options.get("token_column", 0))
    tag_col = int(options.get("tag_column", -1))
    min_cols = max(token_col, tag_col) + 1 if tag_col >= 0 else max(token_col + 1, 2)
    words: list[str] = []
    tags: list[str] = []
    text: str | None = None
    sent_id: str | None = None
    count = 0

    def flush() -> Sentence:
        nonlocal count
        tokens = tokens_from_text(text, words) if text is not None else None
        if text is None or tokens is None:
            joined, tokens = tokens_joined(words)
        else:
            joined = text
        sid = sent_id or f"{split}-{count:05d}"
        count += 1
        return Sentence(sid, joined, tokens, _tag_spans(tokens, tags))

    with open(path, encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, 1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                if words:
                    yield flush()
                words, tags, text, sent_id = [], [], None, None
                continue
            if line.startswith("#") and not words:
                key, _, value = line[1:].partition("=")
                if key.strip() == "text":
                    text = value.strip()
                elif key.strip() == "sent_id":
                    sent_id = value.strip()
                continue
            cols = line.split(sep) if sep else line.split()
            if len(cols) < min_cols:
                raise DataFormatError(
                    f"{path}:{lineno}: expected at least {min_cols} columns, got {len(cols)}: {line[:60]!r}"
                )
            tag = cols[tag_col].strip()
            if tag != "O" and not re.fullmatch(r"[BI]-\S+", tag):
                raise DataFormatError(f"{path}:{lineno}: {tag!r} is not an IOB2 tag (O, B-X or I-X)")
            words.append(cols[token_col].strip())
            tags.append(tag)
    if words:
        yield flush()


_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_ABBREVIATIONS = frozenset(
    "sr sra srs dr dra drs prof profa eng arq gen cel cap ten sto sta av r pág pag p pp n nº art cf ex etc vol cap fig"
    .split()
)


def _tokenise(text: str, cuts: set[int]) -> list[tuple[int, int]]:
    """Word/punctuation tokens, also cut at every gold entity boundary so each
    gold span is a whole number of tokens."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        start = m.start()
        for cut in sorted(c for c in cuts if m.start() < c < m.end()):
            out.append((start, cut))
            start = cut
        out.append((start, m.end()))
    return out


def _sentence_breaks(text: str, tokens: list[tuple[int, int]], inside: list[bool]) -> list[int]:
    """Indices of tokens that start a new sentence: after a line break or after
    . ! ? (not an abbreviation or an initial) before a non-lowercase token —
    never inside a gold entity."""
    breaks = []
    for k in range(1, len(tokens)):
        start = tokens[k][0]
        if inside[start]:
            continue
        prev_start, prev_end = tokens[k - 1]
        gap = text[prev_end:start]
        if "\n" in gap:
            breaks.append(k)
            continue
        if text[prev_start:prev_end] not in {".", "!", "?"} or not gap:
            continue
        if text[start].islower():
            continue
        if k >= 2:
            word = text[tokens[k - 2][0] : tokens[k - 2][1]]
            if (len(word) == 1 and word.isalpha()) or word.lower() in _ABBREVIATIONS:
                continue
        breaks.append(k)
    return breaks


def _blank(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A few HAREM entities carry trailing spaces or zero-width characters;
    no token can end there, so the span is trimmed to its visible text."""
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return start, end


def read_harem_json(path: Path, options: dict[str, Any], split: str) -> Iterator[Sentence]:
    """HAREM as converted to JSON (documents with character-offset entities),
    split into sentences without ever cutting an entity."""
    try:
        with open(path, encoding="utf-8") as handle:
            docs = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    for d, doc in enumerate(docs):
        try:
            doc_id, text, entities = doc["doc_id"], doc["doc_text"], doc["entities"]
            gold = [(*_trim(text, int(e["start_offset"]), int(e["end_offset"])), e["label"]) for e in entities]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"{path}: document {d}: missing or bad field {exc}") from None
        inside = [False] * (len(text) + 1)
        cuts: set[int] = set()
        for start, end, _ in gold:
            if not (0 <= start < end <= len(text)):
                raise DataFormatError(f"{path}: document {doc_id}: entity offsets {start}-{end} out of range")
            cuts.update((start, end))
            for c in range(start + 1, end):
                inside[c] = True
        tokens = _tokenise(text, cuts)
        if not tokens:
            continue
        bounds = [0, *_sentence_breaks(text, tokens, inside), len(tokens)]
        gold.sort()
        g = 0
        for n, (a, b) in enumerate(zip(bounds, bounds[1:])):
            base, stop = tokens[a][0], tokens[b - 1][1]
            spans = []
            while g < len(gold) and gold[g][0] < stop:
                start, end, label = gold[g]
                spans.append(Span(start - base, end - base, label))
                g += 1
            yield Sentence(
                f"{doc_id}:{n}",
                text[base:stop],
                tuple(Token(text[s:e], s - base, e - base) for s, e in tokens[a:b]),
                tuple(spans),
            )


def read_sentence_jsonl(path: Path, options: dict[str, Any], split: str) -> Iterator[Sentence]:
    """The project's own sentence JSONL interchange format."""
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield Sentence.from_json(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(f"{path}:{lineno}: not a sentence JSONL line ({exc})") from None


READERS = {
    "conll": read_conll,
    "harem-json": read_harem_json,
    "sentence-jsonl": read_sentence_jsonl,
}
