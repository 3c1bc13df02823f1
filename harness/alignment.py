"""Grounding model output in the sentence: normalised matching with an offset
map back to the original text, and snapping spans to token boundaries."""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .types import Span, Token


@dataclass(frozen=True)
class NormalisedText:
    """`text` normalised (NFC, case-folded, whitespace runs as one space), with
    `starts[i]`/`ends[i]` giving the original characters behind `text[i]`."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _clusters(text: str) -> list[tuple[int, int]]:
    """Base character + following combining marks, so NFC sees whole letters
    (Yorùbá text arrives decomposed: "o" + U+0300)."""
    bounds: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        bounds.append((i, j))
        i = j
    return bounds


def normalise(text: str) -> NormalisedText:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, j in _clusters(text):
        chunk = text[i:j]
        if chunk.isspace():
            if out and out[-1] == " ":
                ends[-1] = j
                continue
            piece = " "
        else:
            piece = unicodedata.normalize("NFC", chunk).casefold()
        for ch in piece:
            out.append(ch)
            starts.append(i)
            ends.append(j)
    return NormalisedText("".join(out), tuple(starts), tuple(ends))


def normalise_mention(mention: str) -> str:
    return normalise(mention.strip()).text


def find_occurrences(haystack: NormalisedText, mention: str) -> list[tuple[int, int]]:
    """Every occurrence of `mention` as original-text (start, end) offsets."""
    needle = normalise_mention(mention)
    if not needle:
        return []
    found: list[tuple[int, int]] = []
    pos = haystack.text.find(needle)
    while pos != -1:
        last = pos + len(needle) - 1
        found.append((haystack.starts[pos], haystack.ends[last]))
        pos = haystack.text.find(needle, pos + 1)
    return found


class TokenIndex:
    """Token boundaries of a sentence, for snapping character spans."""

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tuple(tokens)
        self._starts = [t.start for t in self.tokens]
        self._ends = [t.end for t in self.tokens]
        self.start_set = frozenset(self._starts)
        self.end_set = frozenset(self._ends)

    def is_aligned(self, start: int, end: int) -> bool:
        return start in self.start_set and end in self.end_set

    def token_range(self, start: int, end: int) -> tuple[int, int] | None:
        """Indices [first, last+1) of the tokens overlapping [start, end)."""
        first = bisect.bisect_right(self._ends, start)
        last = bisect.bisect_left(self._starts, end)
        return (first, last) if first < last else None

    def snap(self, start: int, end: int) -> tuple[int, int] | None:
        """Widen [start, end) to whole tokens; None when it covers no token."""
        rng = self.token_range(start, end)
        if rng is None:
            return None
        return self.tokens[rng[0]].start, self.tokens[rng[1] - 1].end


def ground(
    mention: str,
    label: str,
    haystack: NormalisedText,
    index: TokenIndex,
) -> list[Span]:
    """Spans for every occurrence of `mention`, on token boundaries.

    Occurrences that already fall on token boundaries win; only when there is
    none are partial-token matches widened to whole tokens, so "Lisboa" does
    not also tag the inside of "Lisboaense" when "Lisboa" stands alone too.
    """
    occurrences = find_occurrences(haystack, mention)
    aligned = [occ for occ in occurrences if index.is_aligned(*occ)]
    chosen = aligned or [s for s in (index.snap(*occ) for occ in occurrences) if s is not None]
    return sorted({Span(s, e, label) for s, e in chosen})


def spans_to_tags(spans: Sequence[Span], index: TokenIndex) -> list[str]:
    """IOB2 tags over the sentence tokens.

    IOB2 cannot express overlap: spans are placed longest-first among those
    starting earliest, and a span overlapping one already placed is dropped.
    """
    tags = ["O"] * len(index.tokens)
    taken = [False] * len(index.tokens)
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start), s.label)):
        rng = index.token_range(span.start, span.end)
        if rng is None or any(taken[rng[0] : rng[1]]):
            continue
        tags[rng[0]] = f"B-{span.label}"
        for k in range(rng[0] + 1, rng[1]):
            tags[k] = f"I-{span.label}"
        for k in range(*rng):
            taken[k] = True
    return tags


def tags_to_token_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first, last+1, label) token ranges; a stray I- starts an entity, as seqeval does."""
    out: list[tuple[int, int, str]] = []
    current: list = []
    for i, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        if prefix == "B" or (prefix == "I" and (not current or current[2] != label)):
            if current:
                out.append(tuple(current))
            current = [i, i + 1, label]
        elif prefix == "I":
            current[1] = i + 1
        else:
            if current:
                out.append(tuple(current))
            current = []
    if current:
        out.append(tuple(current))
    return out
