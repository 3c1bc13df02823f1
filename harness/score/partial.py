"""Partial-match schemes as nervaluate 1.2 defines them (SemEval-2013 task
9.1): strict, exact, partial and ent_type, each with correct / incorrect /
partial / missed / spurious counts and P/R/F1, overall and per type.

nervaluate matches each prediction to at most one gold entity, greedily in
the order given (we give text order). Its strict counts equal seqeval's
whenever a sentence's predictions do not overlap; with overlapping
predictions (a mention hedged under two labels, nested spans) they differ by
definition: the first overlapping prediction takes the gold entity as
incorrect and an exact match after it is counted spurious, where seqeval (and
our strict scores) count the exact match. docs/scoring.md has the example.

The matching is nervaluate's own, rule for rule, written here because its
Evaluator (every scheme × every type × every sentence, metrics recomputed at
each step) was the largest cost of scoring a run: 71-80 µs per sentence of
the 1,389 LeNER-Br test sentences, against a few here. tests/test_analysis.py
holds the two equal on real corpora with hedged and overlapping predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nerbench.score.strict import TokenRange

SCHEMES = ("strict", "exact", "partial", "ent_type")
COUNTS = ("correct", "incorrect", "partial", "missed", "spurious")
#: the schemes whose P/R count a partial match half
HALF_PARTIAL = ("partial", "ent_type")
#: nervaluate's default minimum overlap, in % of the gold entity's tokens
MIN_OVERLAP = 1.0

#: (first token, last token inclusive, label), as nervaluate's entities
Entity = tuple[int, int, str]
Matcher = Callable[[Sequence[Entity], Sequence[Entity]], list[int]]


def _overlaps(pred: Entity, true: Entity) -> bool:
    if pred[0] > true[1] or pred[1] < true[0]:
        return False
    # nervaluate's arithmetic: a percentage of the gold entity's tokens
    return (min(pred[1], true[1]) - max(pred[0], true[0]) + 1) / (true[1] - true[0] + 1) * 100.0 >= MIN_OVERLAP


def _first_match(same: Callable[[Entity, Entity], bool], miss: int) -> Matcher:
    """strict, exact and partial: the first unmatched gold entity `same`
    accepts is correct; else the first overlapping one is taken, counted at
    `miss` (incorrect; partial for the partial scheme)."""

    def match(true: Sequence[Entity], preds: Sequence[Entity]) -> list[int]:
        counts = [0, 0, 0, 0, 0]
        matched: set[int] = set()
        for pred in preds:
            found = None
            for i, gold in enumerate(true):
                if i in matched:
                    continue
                if same(pred, gold):
                    counts[0] += 1
                    matched.add(i)
                    break
                if found is None and _overlaps(pred, gold):
                    found = i
            else:
                if found is None:
                    counts[4] += 1
                else:
                    counts[miss] += 1
                    matched.add(found)
        counts[3] = len(true) - len(matched)
        return counts

    return match


def _ent_type(true: Sequence[Entity], preds: Sequence[Entity]) -> list[int]:
    """An overlap with the right type is correct (the closest boundaries
    win, the first on a tie); else the first overlap with another type is
    incorrect."""
    counts = [0, 0, 0, 0, 0]
    matched: set[int] = set()
    for pred in preds:
        best, distance, wrong = None, None, None
        for i, gold in enumerate(true):
            if i in matched or not _overlaps(pred, gold):
                continue
            if pred[2] == gold[2]:
                d = abs(pred[0] - gold[0]) + abs(pred[1] - gold[1])
                if distance is None or d < distance:
                    best, distance = i, d
            elif wrong is None:
                wrong = i
        if best is not None:
            counts[0] += 1
            matched.add(best)
        elif wrong is not None:
            counts[1] += 1
            matched.add(wrong)
        else:
            counts[4] += 1
    counts[3] = len(true) - len(matched)
    return counts


MATCHERS: dict[str, Matcher] = {
    "strict": _first_match(lambda p, t: p == t, 1),
    "exact": _first_match(lambda p, t: p[:2] == t[:2], 1),
    # nervaluate asks for an overlap before equal boundaries, which always overlap
    "partial": _first_match(lambda p, t: p[:2] == t[:2], 2),
    "ent_type": _ent_type,
}


def _row(counts: Sequence[int], half_partial: bool) -> dict[str, Any]:
    correct, incorrect, partial, missed, spurious = counts
    actual = correct + incorrect + partial + spurious
    possible = correct + incorrect + partial + missed
    hit = correct + 0.5 * partial if half_partial else correct
    # nervaluate's formulas, operation for operation, so the floats are its own
    precision = hit / actual if actual > 0 else 0
    recall = hit / possible if possible > 0 else 0
    f1 = 2 * (precision * recall) / (precision + recall) if (precision + recall) > 0 else 0
    return {**dict(zip(COUNTS, counts)), "precision": float(precision), "recall": float(recall), "f1": float(f1)}


def _entities(sent: Sequence[TokenRange]) -> list[Entity]:
    # nervaluate's spans end on their last token (inclusive)
    return [(first, last - 1, label) for first, last, label in sent]


def _add(total: list[int], counts: list[int]) -> None:
    for i, n in enumerate(counts):
        total[i] += n


def partial_scores(gold: Sequence[Sequence[TokenRange]], predicted: Sequence[Sequence[TokenRange]]) -> dict[str, Any]:
    """nervaluate's four schemes for entities per sentence (token ranges, as
    `nerbench.score.strict.entities` gives them): `overall` and `per_type`
    (label → scheme → counts and P/R/F1)."""
    overall = {scheme: [0, 0, 0, 0, 0] for scheme in SCHEMES}
    per_type: dict[str, dict[str, list[int]]] = {}
    for true_ranges, pred_ranges in zip(gold, predicted):
        if not true_ranges and not pred_ranges:
            continue  # counts nothing under any scheme
        true, pred = _entities(true_ranges), _entities(pred_ranges)
        for scheme in SCHEMES:
            _add(overall[scheme], MATCHERS[scheme](true, pred))
        for label in {e[2] for e in true} | {e[2] for e in pred}:
            of_type = per_type.setdefault(label, {scheme: [0, 0, 0, 0, 0] for scheme in SCHEMES})
            true_of, pred_of = [e for e in true if e[2] == label], [e for e in pred if e[2] == label]
            for scheme in SCHEMES:
                _add(of_type[scheme], MATCHERS[scheme](true_of, pred_of))
    return {
        "overall": {scheme: _row(overall[scheme], scheme in HALF_PARTIAL) for scheme in SCHEMES},
        "per_type": {label: {scheme: _row(per_type[label][scheme], scheme in HALF_PARTIAL) for scheme in SCHEMES}
                     for label in sorted(per_type)},
    }
