"""Entity-level scores with seqeval (strict mode, IOB2) on the dataset's tokens."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from seqeval.metrics.v1 import precision_recall_fscore_support
from seqeval.scheme import IOB2, Entities, Entity

from nerbench.parse.alignment import TokenIndex, spans_to_tags, tags_to_token_spans
from nerbench.types import Sentence, Span


def tag_sequences(
    sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]
) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted IOB2 tags per sentence; a sentence with no prediction
    counts as predicting nothing."""
    gold, pred = [], []
    for sentence in sentences:
        index = TokenIndex(sentence.tokens)
        gold.append(spans_to_tags(sentence.spans, index))
        pred.append(spans_to_tags(list(predicted.get(sentence.id, ())), index))
    return gold, pred


def strict_entities(sequences: list[list[str]]) -> Entities:
    """seqeval's strict IOB2 `Entities` of well-formed sequences — ours always
    are, being written from spans — built straight from their token ranges.
    seqeval's own extraction validates every token, and cost more than the
    rest of scoring together; tests hold both equal on every corpus."""
    entities = Entities.__new__(Entities)
    entities.entities = [[Entity(i, first, last, label) for first, last, label in tags_to_token_spans(tags)]
                         for i, tags in enumerate(sequences)]
    return entities


def _entities(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]) -> tuple[Any, ...]:
    """The tag sequences and seqeval's entities of both sides, built once."""
    gold, pred = tag_sequences(sentences, predicted)
    return gold, pred, strict_entities(gold), strict_entities(pred)


def _metrics(gold: list[list[str]], pred: list[list[str]], true_entities: Entities,
             pred_entities: Entities) -> dict[str, Any]:
    # The entities are handed to each of seqeval's averages, as its own
    # classification_report does, so they are extracted only once.
    kwargs: dict[str, Any] = {"scheme": IOB2, "zero_division": 0, "entities_true": true_entities,
                              "entities_pred": pred_entities}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on labels absent from gold or predictions
        p, r, f, support = precision_recall_fscore_support(gold, pred, average=None, **kwargs)
        micro = precision_recall_fscore_support(gold, pred, average="micro", **kwargs)
        macro = precision_recall_fscore_support(gold, pred, average="macro", **kwargs)
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


def score(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]) -> dict[str, Any]:
    """Micro P/R/F1, macro F1 and per-type P/R/F1/support: seqeval, strict
    mode, IOB2."""
    return _metrics(*_entities(sentences, predicted))


def per_sentence(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]) -> dict[str, list[int]]:
    """Entity counts per sentence — true positives, predicted, gold — from
    seqeval's own entities, so their sums give its micro P/R/F1. Results
    carry them so reporters can bootstrap over sentences."""
    return _counts(*_entities(sentences, predicted)[2:])


def score_with_counts(
    sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """`score` and `per_sentence` together, tagging and extracting once."""
    gold, pred, true_entities, pred_entities = _entities(sentences, predicted)
    return _metrics(gold, pred, true_entities, pred_entities), _counts(true_entities, pred_entities)
