"""Corpus readers: raw files → `Sentence`s with token offsets and gold spans.

Readers raise `DataFormatError` naming the file and line of bad input.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError
from nerbench.files.text import json_value, read_json, utf8_lines
from nerbench.parse.alignment import tags_to_token_spans
from nerbench.records import Sentence, Span, Token


IOB2_TAG = re.compile(r"[BI]-\S+")


class DataFormatError(NerbenchError):
    pass


def check_sentence(sentence: Sentence, where: str) -> None:
    """Offsets that hold: tokens are the text at their offsets, in order;
    gold spans are non-empty, inside the text and on token boundaries."""
    text = sentence.text
    end = 0
    for token in sentence.tokens:
        if not end <= token.start < token.end <= len(text) or text[token.start:token.end] != token.text:
            raise DataFormatError(f"{where}: token {token.text!r} at {token.start}-{token.end} is not the text there "
                                  f"(tokens must be in order, non-empty, inside the text)")
        end = token.end
    starts, ends = {t.start for t in sentence.tokens}, {t.end for t in sentence.tokens}
    for span in sentence.spans:
        if not (0 <= span.start < span.end <= len(text)):
            raise DataFormatError(f"{where}: span {span.start}-{span.end} is outside the text "
                                  f"({len(text)} characters) or empty")
        if span.start not in starts or span.end not in ends:
            raise DataFormatError(f"{where}: span {span.start}-{span.end} is not on token boundaries")


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


def read_conll(path: Path, options: dict[str, Any], split: str, repairs: Counter[str] | None = None
               ) -> Iterator[Sentence]:
    """CoNLL-style files: one token per line, blank line between sentences.

    options: `separator` ("whitespace" or "tab"), `token_column`,
    `tag_column` (Python indices, -1 = last); comment lines start with "#",
    and `# text = ...` / `# sent_id = ...` comments are used when present.
    An I- tag that continues no entity of its type starts one (as seqeval
    reads it); each is counted in `repairs` as "stray_inside_tag".
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

    for lineno, raw in utf8_lines(path, "dataset"):
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
        if tag != "O" and not IOB2_TAG.fullmatch(tag):
            raise DataFormatError(f"{path}:{lineno}: {tag!r} is not an IOB2 tag (O, B-X or I-X)")
        if repairs is not None and tag.startswith("I-") and (not tags or tags[-1][2:] != tag[2:]):
            repairs["stray_inside_tag"] += 1
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


def tokenise_text(text: str) -> tuple[Token, ...]:
    """Raw text as nerbench tokenises it where no corpus gave tokens: words
    (Unicode letters, digits, underscore) and single punctuation marks."""
    return tuple(Token(text[a:b], a, b) for a, b in _tokenise(text, set()))


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


def read_harem_json(path: Path, options: dict[str, Any], split: str, repairs: Counter[str] | None = None
                    ) -> Iterator[Sentence]:
    """HAREM as converted to JSON (documents with character-offset entities),
    split into sentences without ever cutting an entity."""
    docs = read_json(path, "dataset")
    if not isinstance(docs, list):
        raise DataFormatError(f"{path}: expected a JSON list of documents")
    for d, doc in enumerate(docs):
        try:
            doc_id, text, entities = doc["doc_id"], doc["doc_text"], doc["entities"]
            if not isinstance(text, str):
                raise TypeError("doc_text is not a string")
            offsets = [(int(e["start_offset"]), int(e["end_offset"]), str(e["label"])) for e in entities]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"{path}: document {d}: missing or bad field {exc}") from None
        for start, end, _ in offsets:
            if not (0 <= start < end <= len(text)):
                raise DataFormatError(f"{path}: document {doc_id}: entity offsets {start}-{end} out of range "
                                      f"(the text has {len(text)} characters)")
        gold = [(*_trim(text, start, end), label) for start, end, label in offsets]
        inside = [False] * (len(text) + 1)
        cuts: set[int] = set()
        for start, end, _ in gold:
            if start == end:
                raise DataFormatError(f"{path}: document {doc_id}: an entity holds only blanks")
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


def sentence_lines(path: Path, what: str = "dataset") -> Iterator[tuple[str, dict[str, Any], Sentence]]:
    """("FILE:LINE", the line's object, its sentence) for each line of a
    sentence JSONL file — nerbench's own format, and formats that add keys to
    it (silver) — with every offset checked."""
    for lineno, line in utf8_lines(path, what):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        obj = json_value(line, where)
        try:
            sentence = Sentence.from_json(obj)
            if not isinstance(sentence.text, str) or not all(isinstance(t.text, str) for t in sentence.tokens):
                raise TypeError("text and tokens must be strings")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataFormatError(f"{where}: not a sentence JSONL line ({type(exc).__name__}: {exc})") from None
        check_sentence(sentence, where)
        yield where, obj, sentence


def read_sentence_jsonl(path: Path, options: dict[str, Any], split: str, repairs: Counter[str] | None = None
                        ) -> Iterator[Sentence]:
    """The project's own sentence JSONL interchange format; offsets are checked."""
    for _, _, sentence in sentence_lines(path):
        yield sentence


READERS = {
    "conll": read_conll,
    "harem-json": read_harem_json,
    "sentence-jsonl": read_sentence_jsonl,
}
