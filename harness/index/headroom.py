"""Headroom and complementarity of a split's systems, on the candidate index
(docs/scoring.md): how many gold entities any system finds exactly (the
oracle recall of their union: no voting combiner can find more), how many
only one system finds, and pairwise what one system finds that another
misses and how much their predictions agree. Overall and per type."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerbench.index.candidates import CandidateIndex


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _found(hits: np.ndarray, gold: int) -> dict[str, Any]:
    """`hits`: found gold entities × systems (bool)."""
    voters = hits.sum(axis=1)
    any_ = int((voters > 0).sum())
    return {
        "gold": gold,
        "found_by_any": any_,
        "found_by_all": int((voters == hits.shape[1]).sum()) if hits.shape[1] else 0,
        "oracle_recall": _share(any_, gold),
        "found": [int(x) for x in hits.sum(axis=0)],
        "unique": [int(x) for x in (hits & (voters == 1)[:, None]).sum(axis=0)],
    }


def headroom(index: CandidateIndex) -> dict[str, Any]:
    """What the systems of `index` find together and apart. Lists follow
    `systems`; `only[a][b]` is the number of gold entities system a finds and
    b misses; `agreement[a][b]` the Jaccard index of their predicted
    entities (1.0 on the diagonal, and for two systems that predict nothing)."""
    hits = index.votes[index.gold]
    labels_of = index.label[index.gold]
    g = hits.astype(np.int64)
    only = g.T @ (1 - g)
    v = index.votes.astype(np.int64)
    both = v.T @ v
    sizes = np.diag(both)
    either = sizes[:, None] + sizes[None, :] - both
    agreement = np.where(either > 0, both / np.maximum(either, 1), 1.0)
    return {
        "systems": list(index.systems),
        **_found(hits, index.n_gold),
        "only": only.tolist(),
        "agreement": [[float(x) for x in row] for row in agreement],
        "per_type": {
            label: _found(hits[labels_of == li], int(index.gold_per_label[li]))
            for li, label in sorted(enumerate(index.labels), key=lambda item: item[1])
            if index.gold_per_label[li]
        },
    }
