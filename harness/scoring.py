"""Entity-level scores with seqeval (strict mode, IOB2) on the dataset's tokens."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from .alignment import TokenIndex, spans_to_tags, tags_to_token_spans
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


def prf(tp: Any, predicted: Any, gold: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts (arrays or numbers), computed in
    seqeval's order of operations (P and R first, then 2PR/(P+R)) so the
    floats are bit-identical to its."""
    tp, predicted, gold = (np.asarray(x, dtype=np.float64) for x in (tp, predicted, gold))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(predicted > 0, tp / predicted, 0.0)
        r = np.where(gold > 0, tp / gold, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f


def per_sentence(sentences: Sequence[Sentence], predicted: Mapping[str, Iterable[Span]]) -> dict[str, list[int]]:
    """Entity counts per sentence — true positives, predicted, gold — on the
    same IOB2 tags seqeval scores, so their sums give seqeval's micro P/R/F1.
    Results carry them so reporters can bootstrap over sentences."""
    gold, pred = tag_sequences(sentences, predicted)
    out: dict[str, list[int]] = {"tp": [], "predicted": [], "gold": []}
    for gold_tags, pred_tags in zip(gold, pred):
        g, p = set(tags_to_token_spans(gold_tags)), set(tags_to_token_spans(pred_tags))
        out["tp"].append(len(g & p))
        out["predicted"].append(len(p))
        out["gold"].append(len(g))
    return out
