"""What results carry about one system's (or ensemble's) predictions on one
split, besides its strict metrics: overlapping predictions, nervaluate's
partial-match schemes, the error taxonomy, and the scored spans themselves
(per sentence, for the explorer). One pass builds the entities for all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from nerbench.score.partial import partial_scores
from nerbench.score.strict import SPAN_SET, TokenRange, entities, overlapping
from nerbench.score.taxonomy import error_counts
from nerbench.records import Sentence, Span


def _chars(sentence: Sentence, ranges: Sequence[TokenRange]) -> list[list[Any]]:
    tokens = sentence.tokens
    return [[tokens[first].start, tokens[last - 1].end, label] for first, last, label in ranges]


def sentence_table(sentences: Sequence[Sentence]) -> list[dict[str, Any]]:
    """The split's sentences as results carry them: id, text, gold spans
    (characters, end exclusive)."""
    # Sorted as Span orders itself, by a key: its generated comparisons build two tuples per call.
    return [{"id": s.id, "text": s.text,
             "gold": [[x.start, x.end, x.label] for x in sorted(set(s.spans), key=attrgetter("start", "end", "label"))]}
            for s in sentences]


def details(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]],
            rule: str = SPAN_SET) -> dict[str, Any]:
    """`overlaps` (distinct predictions sharing a token with another of the
    same sentence, the sentences holding them, and how many of them `rule`
    dropped before scoring: none under span-set), `partial` (nervaluate),
    `errors` (the taxonomy), `spans` (what was scored, per sentence in the
    split's order: [start, end, label] in characters)."""
    gold, given = entities(sentences, predicted, SPAN_SET)
    pred = given if rule == SPAN_SET else entities(sentences, predicted, rule)[1]
    counts = [overlapping(p) for p in given]
    return {
        "overlaps": {"predictions": sum(counts), "sentences": sum(1 for n in counts if n),
                     "dropped": sum(map(len, given)) - sum(map(len, pred))},
        "partial": partial_scores(gold, pred),
        "errors": error_counts(gold, pred),
        "spans": [_chars(s, p) for s, p in zip(sentences, pred)],
    }
