"""Error taxonomy: every prediction and every gold entity in one class, so
the classes of the predictions sum to the predictions and those of the gold
entities to the gold (docs/scoring.md).

A prediction is `exact` (a gold entity with its range and type), else `type`
(a gold entity with its range, another type), else `boundary` (an
overlapping gold entity of its type), else `boundary_type` (an overlapping
gold entity of another type), else `spurious`. A gold entity is classed the
same way against the predictions, `missed` when nothing overlaps it. These
are the scenarios of nervaluate's documentation (I, IV, V, VI, II, III).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: (start, end exclusive, label): token ranges or character spans alike
Item = tuple[int, int, str]

PREDICTED = ("exact", "type", "boundary", "boundary_type", "spurious")
GOLD = ("exact", "type", "boundary", "boundary_type", "missed")


def _classify(item: Item, others: Sequence[Item], none: str) -> str:
    start, end, label = item
    same_range = [o for o in others if o[0] == start and o[1] == end]
    if any(o[2] == label for o in same_range):
        return "exact"
    if same_range:
        return "type"
    overlapping = [o for o in others if o[0] < end and start < o[1]]
    if any(o[2] == label for o in overlapping):
        return "boundary"
    return "boundary_type" if overlapping else none


def classify(gold: Sequence[Item], predicted: Sequence[Item]) -> tuple[list[str], list[str]]:
    """The class of each prediction and of each gold entity of one sentence."""
    return ([_classify(p, gold, "spurious") for p in predicted],
            [_classify(g, predicted, "missed") for g in gold])


def error_counts(gold: Sequence[Sequence[Item]], predicted: Sequence[Sequence[Item]]) -> dict[str, Any]:
    """Class counts over sentences: `predicted` and `gold`, and the same
    `per_type` (predictions by their label, gold entities by theirs)."""
    out: dict[str, Any] = {"predicted": dict.fromkeys(PREDICTED, 0), "gold": dict.fromkeys(GOLD, 0), "per_type": {}}

    def tally(side: str, label: str, name: str) -> None:
        out[side][name] += 1
        per = out["per_type"].setdefault(label, {"predicted": dict.fromkeys(PREDICTED, 0),
                                                 "gold": dict.fromkeys(GOLD, 0)})
        per[side][name] += 1

    for g, p in zip(gold, predicted):
        pred_classes, gold_classes = classify(g, p)
        for item, name in zip(p, pred_classes):
            tally("predicted", item[2], name)
        for item, name in zip(g, gold_classes):
            tally("gold", item[2], name)
    out["per_type"] = dict(sorted(out["per_type"].items()))
    return out
