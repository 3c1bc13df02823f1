"""What both students share: spans as token ranges and back, and the dev F1
that early stopping and setting choice go by."""

from __future__ import annotations

from collections.abc import Sequence

from nerbench import api

#: (first token, last token + 1, label)
TokenRange = tuple[int, int, str]


def token_ranges(sentence: api.Sentence) -> tuple[list[TokenRange], int]:
    """`sentence.spans` as token ranges, and how many were left out: a tag
    per token cannot hold two overlapping spans, so the earliest (then the
    longest) of overlapping ones is kept — counted, never dropped in silence."""
    first = {t.start: i for i, t in enumerate(sentence.tokens)}
    last = {t.end: i for i, t in enumerate(sentence.tokens)}
    ranges: list[TokenRange] = []
    for span in sorted(sentence.spans, key=lambda s: (s.start, -s.end, s.label)):
        if span.start not in first or span.end not in last:
            raise api.NerbenchError(f"sentence {sentence.id}: span {span.start}-{span.end} is not on its tokens")
        ranges.append((first[span.start], last[span.end] + 1, span.label))
    kept: list[TokenRange] = []
    for rng in ranges:
        if not kept or rng[0] >= kept[-1][1]:
            kept.append(rng)
    return kept, len(ranges) - len(kept)


def to_span(sentence: api.Sentence, first: int, last: int, label: str) -> api.Span:
    """The span over tokens [first, last)."""
    return api.Span(sentence.tokens[first].start, sentence.tokens[last - 1].end, label)


def strict_f1(predicted: Sequence[Sequence[api.Span]], gold: Sequence[api.Sentence]) -> float:
    """Micro entity F1 with exact spans and labels, as nerbench's scorer
    matches them (spans on tokens are token ranges one to one)."""
    tp = n_predicted = n_gold = 0
    for spans, sentence in zip(predicted, gold):
        ours, theirs = set(spans), set(sentence.spans)
        tp += len(ours & theirs)
        n_predicted += len(ours)
        n_gold += len(theirs)
    return round(float(api.prf(tp, n_predicted, n_gold)[2]), 6)
