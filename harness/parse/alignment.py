"""Grounding model output in the sentence: normalised matching with an offset
map back to the original text, and snapping spans to token boundaries."""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from nerbench.records import Span, Token


@dataclass(frozen=True)
class NormalisedText:
    """`text` normalised (NFC, case-folded, whitespace runs as one space), with
    `starts[i]`/`ends[i]` giving the original characters behind `text[i]`."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    original: str = ""


def haystack_original(haystack: NormalisedText, occurrence: tuple[int, int]) -> str:
    return haystack.original[occurrence[0] : occurrence[1]]


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


_IRREGULAR_SPACE = re.compile(r"[^\S ]|  ")


def normalise(text: str) -> NormalisedText:
    """`text` NFC-normalised, case-folded, whitespace runs as one space, with
    the original (start, end) of every character of the result."""
    folded = text.casefold()
    # Most sentences change nowhere but in case, one character for one: the
    # offset map is then the identity (what the general path would build).
    if (len(folded) == len(text) and not _IRREGULAR_SPACE.search(text)
            and not any(map(unicodedata.combining, text)) and unicodedata.is_normalized("NFC", text)):
        return NormalisedText(folded, tuple(range(len(text))), tuple(range(1, len(text) + 1)), text)
    return normalise_clusters(text)


def normalise_clusters(text: str) -> NormalisedText:
    """The general path of `normalise`: one base character and its combining
    marks at a time."""
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
    return NormalisedText("".join(out), tuple(starts), tuple(ends), text)


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


OCCURRENCE_POLICIES = ("all", "first", "index")


def ground(
    mention: str,
    label: str,
    haystack: NormalisedText,
    index: TokenIndex,
    policy: str = "all",
    nth: int = 0,
) -> list[Span]:
    """Spans for the occurrences of `mention` chosen by `policy`, on token boundaries.

    Occurrences that already fall on token boundaries win; only when there is
    none are partial-token matches widened to whole tokens, so "Lisboa" does
    not also tag the inside of "Lisboaense" when "Lisboa" stands alone too.
    `policy`: "all" occurrences, the "first", or by "index": the `nth`
    (0-based) — for the nth time a model repeats the same mention.
    """
    occurrences = find_occurrences(haystack, mention)
    # Case-insensitive matching forgives a model's casing, but where the exact
    # surface occurs, "Hotel" should not also tag a lower-case "hotel".
    exact = unicodedata.normalize("NFC", mention.strip())
    same_case = [occ for occ in occurrences if unicodedata.normalize("NFC", haystack_original(haystack, occ)) == exact]
    occurrences = same_case or occurrences
    aligned = [occ for occ in occurrences if index.is_aligned(*occ)]
    chosen = aligned or [s for s in (index.snap(*occ) for occ in occurrences) if s is not None]
    chosen = sorted(set(chosen))
    if policy == "first":
        chosen = chosen[:1]
    elif policy == "index":
        chosen = chosen[nth : nth + 1]
    return [Span(s, e, label) for s, e in chosen]


def align_rewrite(
    original: NormalisedText,
    rewritten: str,
    spans: Sequence[tuple[int, int]],
    min_matched: float = 0.5,
) -> tuple[list[tuple[int, int] | None], bool]:
    """Map character ranges of a model's rewrite of the sentence back to the
    original text, tolerating small edits (dropped accents, changed spaces).

    Returns one original-text (start, end) per range (None when too little of
    it matches the original) and whether the rewrite differed from the text.
    """
    mine = normalise(rewritten)
    if not spans:  # nothing to map: no diff (quadratic in the worst case) for an answer with no marks
        return [], mine.text != original.text
    raw_to_norm = [0] * (len(rewritten) + 1)
    k = 0
    for r in range(len(rewritten) + 1):
        while k < len(mine.text) and mine.ends[k] <= r:
            k += 1
        raw_to_norm[r] = k
    if mine.text == original.text:
        mapping: list[int | None] = list(range(len(mine.text)))
        changed = False
    else:
        mapping = [None] * len(mine.text)
        matcher = difflib.SequenceMatcher(None, original.text, mine.text, autojunk=False)
        for a, b, size in matcher.get_matching_blocks():
            for i in range(size):
                mapping[b + i] = a + i
        changed = True
    out: list[tuple[int, int] | None] = []
    for start, end in spans:
        lo, hi = raw_to_norm[start], raw_to_norm[end]
        while lo < hi and mine.text[lo] == " ":
            lo += 1
        while hi > lo and mine.text[hi - 1] == " ":
            hi -= 1
        matched = [m for i in range(lo, hi) if (m := mapping[i]) is not None]
        if hi <= lo or len(matched) < min_matched * (hi - lo):
            out.append(None)
            continue
        out.append((original.starts[matched[0]], original.ends[matched[-1]]))
    return out, changed


def spans_to_tags(spans: Sequence[Span], index: TokenIndex) -> list[str]:
    """IOB2 tags over the sentence tokens.

    IOB2 cannot express overlap: spans are placed longest first (then
    leftmost, then by label) and a span overlapping one already placed is
    dropped. Scoring counts every distinct predicted span instead (the
    span-set rule, `nerbench.score.strict`); this is its `longest-first`
    option.
    """
    tags = ["O"] * len(index.tokens)
    taken = [False] * len(index.tokens)
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.label)):
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
        if tag == "O":  # most tags: skip splitting them (a tenth of reading a corpus)
            if current:
                out.append(tuple(current))
                current = []
            continue
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
