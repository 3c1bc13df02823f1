"""Entity-level scores with seqeval (strict mode, IOB2) on the dataset's tokens."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from .alignment import TokenIndex, spans_to_tags
from .types import Sentence, Span


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


def score(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]) -> dict[str, Any]:
    """Micro P/R/F1, macro F1 and per-type P/R/F1/support."""
    gold, pred = tag_sequences(sentences, predicted)
    kwargs: dict[str, Any] = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on labels absent from gold or predictions
        report = classification_report(gold, pred, output_dict=True, **kwargs)
        result = {
            "precision": float(precision_score(gold, pred, **kwargs)),
            "recall": float(recall_score(gold, pred, **kwargs)),
            "f1": float(f1_score(gold, pred, **kwargs)),
            "macro_f1": float(f1_score(gold, pred, average="macro", **kwargs)),
        }
    result["per_type"] = {
        label: {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        for label, row in sorted(report.items())
        if not label.endswith(" avg")
    }
    return result
