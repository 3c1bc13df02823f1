"""Precision, recall and F1 from entity counts, bit-identical to seqeval's."""

from __future__ import annotations

from typing import Any

import numpy as np


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
