"""Partial-match schemes through nervaluate (SemEval-2013 task 9.1): strict,
exact, partial and ent_type, each with correct / incorrect / partial /
missed / spurious counts and P/R/F1, overall and per type.

nervaluate matches each prediction to at most one gold entity, greedily in
the order given (we give text order). Its strict counts equal seqeval's
whenever a sentence's predictions do not overlap; with overlapping
predictions (a mention hedged under two labels, nested spans) they differ by
definition: the first overlapping prediction takes the gold entity as
incorrect and an exact match after it is counted spurious, where seqeval (and
our strict scores) count the exact match. docs/scoring.md has the example.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nervaluate import Evaluator

from nerbench.score.strict import TokenRange

SCHEMES = ("strict", "exact", "partial", "ent_type")
COUNTS = ("correct", "incorrect", "partial", "missed", "spurious")


def _docs(ranges: Sequence[Sequence[TokenRange]]) -> list[list[dict[str, Any]]]:
    # nervaluate's spans end on their last token (inclusive)
    return [[{"label": label, "start": first, "end": last - 1} for first, last, label in sent] for sent in ranges]


def _row(result: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: int(getattr(result, name)) for name in COUNTS}
    row.update(precision=float(result.precision), recall=float(result.recall), f1=float(result.f1))
    return row


def _empty() -> dict[str, Any]:
    return {**{name: 0 for name in COUNTS}, "precision": 0.0, "recall": 0.0, "f1": 0.0}


def partial_scores(gold: Sequence[Sequence[TokenRange]], predicted: Sequence[Sequence[TokenRange]]) -> dict[str, Any]:
    """nervaluate's four schemes for entities per sentence (token ranges, as
    `nerbench.score.strict.entities` gives them): `overall` and `per_type`
    (label → scheme → counts and P/R/F1)."""
    labels = sorted({label for sent in (*gold, *predicted) for _, _, label in sent})
    if not labels:
        return {"overall": {scheme: _empty() for scheme in SCHEMES}, "per_type": {}}
    result = Evaluator(_docs(gold), _docs(predicted), tags=labels, loader="dict").evaluate()
    return {
        "overall": {scheme: _row(result["overall"][scheme]) for scheme in SCHEMES},
        "per_type": {label: {scheme: _row(result["entities"][label][scheme]) for scheme in SCHEMES}
                     for label in labels},
    }
