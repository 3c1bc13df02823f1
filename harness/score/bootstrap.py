"""Bootstrap over sentences: confidence intervals for F1 and paired tests
between two systems scored on the same sentences. Seeded, so re-rendering a
leaderboard gives the same numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nerbench.score.prf import prf

#: Resamples used by the reporters; enough for a stable 95% interval.
RESAMPLES = 2000
SEED = 0

Counts = Mapping[str, Sequence[int]]  # {"tp": [...], "predicted": [...], "gold": [...]} per sentence


def resamples(n_sentences: int, n: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """`n` resamples of sentence indices with replacement (n × sentences)."""
    return np.random.default_rng(seed).integers(0, n_sentences, size=(n, n_sentences))


def resampled_f1(counts: Counts, draws: np.ndarray) -> np.ndarray:
    """Micro F1 of each resample in `draws`."""
    arrays = [np.asarray(counts[k], dtype=np.int64) for k in ("tp", "predicted", "gold")]
    return prf(*(a[draws].sum(axis=1) for a in arrays))[2]


def f1_interval(counts: Counts, level: float = 0.95, n: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of micro F1."""
    size = len(counts["tp"])
    if size == 0:
        return 0.0, 0.0
    f1 = resampled_f1(counts, resamples(size, n, seed))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(f1, [tail, 100 - tail])
    return float(low), float(high)


def paired_p_value(a: Counts, b: Counts, n: int = RESAMPLES, seed: int = SEED) -> float:
    """One-sided paired bootstrap: the share of resamples (the same sentences
    for both) in which `a` does not beat `b` on F1. Small: `a` is better."""
    size = len(a["tp"])
    if size != len(b["tp"]):
        raise ValueError("paired bootstrap needs both systems scored on the same sentences")
    if size == 0:
        return 1.0
    draws = resamples(size, n, seed)
    return float(np.mean(resampled_f1(a, draws) <= resampled_f1(b, draws)))
