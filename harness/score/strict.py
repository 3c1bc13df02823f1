"""Entity-level scores with seqeval (strict mode) on the dataset's tokens.

Two rules for what a system's entities are (docs/scoring.md):

- `span-set` (the default): every distinct predicted (start, end, label)
  counts, overlapping or not. A model that answers one mention under two
  labels gets one true positive at most and a false positive for the other.
  Identical to seqeval over IOB2 tags whenever the predictions of a sentence
  do not overlap (tests hold it on every corpus).
- `longest-first`: the predictions are first written as IOB2 tags, which
  cannot hold overlap: longest span first, an overlapping one dropped
  (`spans_to_tags`). Hedging is then never a false positive. Kept to compare
  with results scored before the span-set rule.

Either way the counting is seqeval's own (`precision_recall_fscore_support`
over its `Entities`): true positives are the intersection of the gold and
predicted entity sets, per type.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from seqeval.metrics.v1 import precision_recall_fscore_support
from seqeval.scheme import IOB2, Entities, Entity

from nerbench.errors import NerbenchError
from nerbench.parse.alignment import TokenIndex, spans_to_tags, tags_to_token_spans
from nerbench.records import Sentence, Span

SPAN_SET = "span-set"
LONGEST_FIRST = "longest-first"
RULES = (SPAN_SET, LONGEST_FIRST)

#: (first token, last token + 1, label)
TokenRange = tuple[int, int, str]


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise NerbenchError(f"scoring rule {rule!r} is not one of {', '.join(RULES)}")
    return rule


def span_set(spans: Iterable[Span], index: TokenIndex) -> list[TokenRange]:
    """The distinct token ranges of `spans`, in text order; spans off the
    token boundaries are left out (predictions are always snapped to them)."""
    out = set()
    for span in spans:
        rng = index.token_range(span.start, span.end)
        if rng is not None:
            out.add((rng[0], rng[1], span.label))
    return sorted(out)


def token_ranges(spans: Iterable[Span], index: TokenIndex, rule: str = SPAN_SET) -> list[TokenRange]:
    """A sentence's entities under `rule`."""
    if rule == SPAN_SET:
        return span_set(spans, index)
    return tags_to_token_spans(spans_to_tags(list(spans), index))


def overlapping(ranges: Sequence[TokenRange]) -> int:
    """How many of `ranges` (sorted) share a token with another one."""
    hit = [False] * len(ranges)
    for i, (_, b, _) in enumerate(ranges):
        for j in range(i + 1, len(ranges)):
            if ranges[j][0] >= b:
                break
            hit[i] = hit[j] = True
    return sum(hit)


def tag_sequences(
    sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]
) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted IOB2 tags per sentence (the longest-first rule); a
    sentence with no prediction counts as predicting nothing."""
    gold, pred = [], []
    for sentence in sentences:
        index = TokenIndex(sentence.tokens)
        gold.append(spans_to_tags(sentence.spans, index))
        pred.append(spans_to_tags(list(predicted.get(sentence.id, ())), index))
    return gold, pred


def _as_entities(ranges: list[list[TokenRange]]) -> Entities:
    """seqeval's `Entities` holding exactly these token ranges, built without
    its tag parser (which cannot hold overlap, and cost more than the rest of
    scoring together)."""
    entities = Entities.__new__(Entities)
    entities.entities = [[Entity(i, first, last, label) for first, last, label in sent]
                         for i, sent in enumerate(ranges)]
    return entities


def strict_entities(sequences: list[list[str]]) -> Entities:
    """seqeval's strict IOB2 `Entities` of well-formed tag sequences — ours
    always are, being written from spans — built straight from their token
    ranges; tests hold them equal to seqeval's own extraction on every corpus."""
    return _as_entities([tags_to_token_spans(tags) for tags in sequences])


def entities(
    sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]], rule: str = SPAN_SET
) -> tuple[list[list[TokenRange]], list[list[TokenRange]]]:
    """Gold and predicted entities (token ranges) per sentence under `rule`;
    gold is always its span set (no corpus has overlapping gold entities)."""
    check_rule(rule)
    gold, pred = [], []
    for sentence in sentences:
        index = TokenIndex(sentence.tokens)
        gold.append(span_set(sentence.spans, index))
        pred.append(token_ranges(predicted.get(sentence.id, ()), index, rule))
    return gold, pred


def _metrics(placeholder: list[list[str]], true_entities: Entities, pred_entities: Entities) -> dict[str, Any]:
    # Given the entities, seqeval only checks the tag sequences' lengths; the
    # entities are handed to each of its averages, as its own
    # classification_report does, so they are built only once.
    kwargs: dict[str, Any] = {"scheme": IOB2, "zero_division": 0, "entities_true": true_entities,
                              "entities_pred": pred_entities}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on labels absent from gold or predictions
        p, r, f, support = precision_recall_fscore_support(placeholder, placeholder, average=None, **kwargs)
        micro = precision_recall_fscore_support(placeholder, placeholder, average="micro", **kwargs)
        macro = precision_recall_fscore_support(placeholder, placeholder, average="macro", **kwargs)
    labels = sorted(true_entities.unique_tags | pred_entities.unique_tags)
    return {
        "precision": float(micro[0]),
        "recall": float(micro[1]),
        "f1": float(micro[2]),
        "macro_f1": float(macro[2]),
        "per_type": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
            for i, label in enumerate(labels)
        },
    }


def _counts(true_entities: Entities, pred_entities: Entities) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"tp": [], "predicted": [], "gold": []}
    for gold, pred in zip(true_entities.entities, pred_entities.entities):
        out["tp"].append(len(set(gold) & set(pred)))
        out["predicted"].append(len(pred))
        out["gold"].append(len(gold))
    return out


def _seqeval(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]],
             rule: str) -> tuple[list[list[str]], Entities, Entities]:
    gold, pred = entities(sentences, predicted, rule)
    return [["O"] * len(s.tokens) for s in sentences], _as_entities(gold), _as_entities(pred)


def score(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]],
          rule: str = SPAN_SET) -> dict[str, Any]:
    """Micro P/R/F1, macro F1 and per-type P/R/F1/support: seqeval, strict."""
    return _metrics(*_seqeval(sentences, predicted, rule))


def per_sentence(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]],
                 rule: str = SPAN_SET) -> dict[str, list[int]]:
    """Entity counts per sentence — true positives, predicted, gold — from
    the same entities as `score`, so their sums give its micro P/R/F1.
    Results carry them so reporters can bootstrap over sentences."""
    return _counts(*_seqeval(sentences, predicted, rule)[1:])


def score_with_counts(
    sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]], rule: str = SPAN_SET
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """`score` and `per_sentence` together, building the entities once."""
    placeholder, true_entities, pred_entities = _seqeval(sentences, predicted, rule)
    return _metrics(placeholder, true_entities, pred_entities), _counts(true_entities, pred_entities)
