"""Entity-level scores with seqeval (strict mode, IOB2) on the dataset's tokens."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from seqeval.metrics.v1 import precision_recall_fscore_support
from seqeval.scheme import IOB2, Entities

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
    """Micro P/R/F1, macro F1 and per-type P/R/F1/support: seqeval, strict
    mode, IOB2. The entities are extracted once and handed to each of
    seqeval's averages (as its own classification_report does)."""
    gold, pred = tag_sequences(sentences, predicted)
    true_entities, pred_entities = Entities(gold, IOB2), Entities(pred, IOB2)
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
