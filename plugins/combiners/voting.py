"""Voting combiners (majority, vote, union, intersection), weighted voting
and per-type selection, all vectorised over system subsets."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nerbench import api
from nerbench.api import CandidateIndex, count, prf


def votes_of(index: CandidateIndex, subsets: np.ndarray) -> np.ndarray:
    return index.votes.astype(np.int32) @ subsets.T.astype(np.int32)


class VoteCombiner(api.Combiner):
    """Keep an entity (start, end, label) predicted by at least `k` of the
    combined systems. Without `k`, subset search tries every k from 1 to n.
    Overlapping survivors: more votes, then the longer span, win."""

    OPTIONS: ClassVar[dict[str, Any]] = {"k": {"type": "integer", "minimum": 1,
                                               "description": "votes an entity needs (default: chosen on dev)"}}
    k: int | None = None  # (the kinds below declare no k: theirs is fixed by `threshold`)

    def note(self, systems: int) -> str | None:
        if self.k is not None and self.k > systems:
            return (f"k = {self.k} but only {systems} systems are combined: k is capped at {systems} "
                    "(an entity needs every system's vote)")
        return None

    def threshold(self, size: int) -> list[int]:
        return [min(self.k, size)] if self.k else list(range((size // 2) + 1, 0, -1)) + list(
            range(size // 2 + 2, size + 1)
        )

    def settings(self, size: int) -> list[dict[str, Any]]:
        return [{"k": k} for k in self.threshold(size)]

    def select(
        self, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        votes = votes_of(index, subsets)
        return votes >= params["k"], votes.astype(float)


class MajorityCombiner(VoteCombiner):
    """Keep an entity predicted by strictly more than half of the systems."""

    OPTIONS: ClassVar[dict[str, Any]] = {}

    def threshold(self, size: int) -> list[int]:
        return [size // 2 + 1]


class UnionCombiner(VoteCombiner):
    OPTIONS: ClassVar[dict[str, Any]] = {}

    def threshold(self, size: int) -> list[int]:
        return [1]


class IntersectionCombiner(VoteCombiner):
    OPTIONS: ClassVar[dict[str, Any]] = {}

    def threshold(self, size: int) -> list[int]:
        return [size]


def system_scores(dev: CandidateIndex) -> tuple[np.ndarray, np.ndarray]:
    """Each system alone on dev, scored as the system is (every distinct span
    it predicted): micro F1 (systems) and F1 per label (systems × labels)."""
    c = count(dev, dev.votes)
    return c.f1, prf(c.tp_label, c.predicted_label, c.gold_label[:, None])[2].T


class _Fitted(api.Combiner):
    needs_dev = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.systems: list[str] | None = None
        self.labels: list[str] | None = None
        self.micro: np.ndarray | None = None
        self.per_label: np.ndarray | None = None

    def fit(self, dev: CandidateIndex) -> None:
        self.systems, self.labels = dev.systems, dev.labels
        self.micro, self.per_label = system_scores(dev)

    def _table(self, index: CandidateIndex, per_type: bool) -> np.ndarray:
        """Dev scores laid out for `index`: systems × index labels."""
        if self.systems is None or self.labels is None or self.per_label is None:
            raise api.NerbenchError(f"{type(self).__name__} must be fitted on dev predictions (--dev)")
        if self.systems != index.systems:
            raise api.NerbenchError("dev and evaluation predictions must come from the same systems")
        table = np.zeros((len(index.systems), len(index.labels)))
        for li, name in enumerate(index.labels):
            if per_type and name in self.labels:
                table[:, li] = self.per_label[:, self.labels.index(name)]
            else:
                table[:, li] = self.micro
        return table


class WeightedCombiner(_Fitted):
    """Weighted vote: each system's weight is its dev F1 (`per_type = true`:
    its dev F1 on the entity's type); keep an entity when its voters' weight
    reaches `threshold` × the subset's total weight (fitted on dev unless given)."""

    GRID = (0.5, 0.3, 0.4, 0.6, 0.7, 0.2, 0.8, 0.1, 0.9)
    OPTIONS: ClassVar[dict[str, Any]] = {"per_type": {"type": "boolean", "default": False},
                                         "threshold": {"type": "number", "minimum": 0, "maximum": 1}}
    per_type: bool
    threshold: float | None

    def settings(self, size: int) -> list[dict[str, Any]]:
        return [{"threshold": t} for t in ([self.threshold] if self.threshold is not None else self.GRID)]

    def select(
        self, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        weights = self._table(index, self.per_type)  # systems × labels
        per_cand = weights[:, index.label].T  # candidates × systems
        score = (index.votes * per_cand) @ subsets.T
        total = per_cand @ subsets.T
        keep = (score > 0) & (score >= params["threshold"] * total - 1e-12)
        return keep, score


class PerTypeCombiner(_Fitted):
    """For each entity type, the entities of the system best on that type in dev."""

    OPTIONS: ClassVar[dict[str, Any]] = {}

    def select(
        self, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        table = self._table(index, True)  # systems × labels
        masked = np.where(subsets[:, :, None], table[None, :, :], -1.0)  # subsets × systems × labels
        best = masked.argmax(axis=1)  # subsets × labels
        chosen = best[:, index.label].T  # candidates × subsets
        keep = np.take_along_axis(index.votes, chosen, axis=1)
        return keep, votes_of(index, subsets).astype(float)
