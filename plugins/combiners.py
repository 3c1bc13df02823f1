"""Built-in combiners: voting (majority, vote, union, intersection), weighted
voting and per-type selection, all vectorised over system subsets."""

from __future__ import annotations

from collections import Counter
from typing import Any


import numpy as np

import nerbench
from nerbench.ensemble import CandidateIndex, count, resolve
from nerbench.scoring import prf


def _votes(index: CandidateIndex, subsets: np.ndarray) -> np.ndarray:
    return index.votes.astype(np.int32) @ subsets.T.astype(np.int32)


class VoteCombiner(nerbench.Combiner):
    """Keep an entity (start, end, label) predicted by at least `k` of the
    combined systems. Without `k`, subset search tries every k from 1 to n.
    Overlapping survivors: more votes, then the longer span, win."""

    def __init__(self, k: int | None = None) -> None:
        self.k = k

    def threshold(self, size: int) -> list[int]:
        return [min(self.k, size)] if self.k else list(range((size // 2) + 1, 0, -1)) + list(
            range(size // 2 + 2, size + 1)
        )

    def settings(self, size):
        return [{"k": k} for k in self.threshold(size)]

    def select(self, index, subsets, params):
        votes = _votes(index, subsets)
        return votes >= params["k"], votes.astype(float)


class MajorityCombiner(VoteCombiner):
    """Keep an entity predicted by strictly more than half of the systems."""

    def __init__(self) -> None:
        super().__init__()

    def threshold(self, size):
        return [size // 2 + 1]


class UnionCombiner(VoteCombiner):
    def __init__(self) -> None:
        super().__init__()

    def threshold(self, size):
        return [1]


class IntersectionCombiner(VoteCombiner):
    def __init__(self) -> None:
        super().__init__()

    def threshold(self, size):
        return [size]


def system_scores(dev: CandidateIndex) -> tuple[np.ndarray, np.ndarray]:
    """Each system alone on dev: micro F1 (systems) and F1 per label (systems × labels)."""
    eye = np.eye(len(dev.systems), dtype=bool)
    kept = resolve(dev, _votes(dev, eye) > 0, _votes(dev, eye).astype(float))
    c = count(dev, kept)
    return c.f1, prf(c.tp_label, c.predicted_label, c.gold_label[:, None])[2].T


class _Fitted(nerbench.Combiner):
    needs_dev = True

    def __init__(self) -> None:
        self.systems: list[str] | None = None
        self.labels: list[str] | None = None
        self.micro: np.ndarray | None = None
        self.per_label: np.ndarray | None = None

    def fit(self, dev):
        self.systems, self.labels = dev.systems, dev.labels
        self.micro, self.per_label = system_scores(dev)

    def _table(self, index: CandidateIndex, per_type: bool) -> np.ndarray:
        """Dev scores laid out for `index`: systems × index labels."""
        if self.systems is None:
            raise nerbench.NerbenchError(f"{type(self).__name__} must be fitted on dev predictions (--dev)")
        if self.systems != index.systems:
            raise nerbench.NerbenchError("dev and evaluation predictions must come from the same systems")
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

    def __init__(self, per_type: bool = False, threshold: float | None = None) -> None:
        super().__init__()
        self.per_type = per_type
        self.threshold = threshold

    def settings(self, size):
        return [{"threshold": t} for t in ([self.threshold] if self.threshold is not None else self.GRID)]

    def select(self, index, subsets, params):
        weights = self._table(index, self.per_type)  # systems × labels
        per_cand = weights[:, index.label].T  # candidates × systems
        score = (index.votes * per_cand) @ subsets.T
        total = per_cand @ subsets.T
        keep = (score > 0) & (score >= params["threshold"] * total - 1e-12)
        return keep, score


class PerTypeCombiner(_Fitted):
    """For each entity type, the entities of the system best on that type in dev."""

    def select(self, index, subsets, params):
        table = self._table(index, True)  # systems × labels
        masked = np.where(subsets[:, :, None], table[None, :, :], -1.0)  # subsets × systems × labels
        best = masked.argmax(axis=1)  # subsets × labels
        chosen = best[:, index.label].T  # candidates × subsets
        keep = np.take_along_axis(index.votes, chosen, axis=1)
        return keep, _votes(index, subsets).astype(float)


class LlmJudgeCombiner(nerbench.Combiner):
    """The published three-step pipeline. (1) Pool every entity the combined
    systems extracted; (2) each judge model answers yes/no about each (mention,
    type) with the `verify` format, and a strict majority of yes keeps it;
    (3) survivors that overlap are grouped and the judges pick one option or
    none, by plurality (ties: none). Options: `judges`, a list of
    "BACKEND/MODEL" (may differ from the extractors). Step 3 is asked once per
    overlap group of the whole pool, so subset search reuses the answers."""

    def __init__(self, judges: list[str]) -> None:
        if not judges:
            raise nerbench.NerbenchError("llm-judge needs judges = [\"BACKEND/MODEL\", ...]")
        self.judges = list(judges)
        self.decided: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    async def judge(self, index: CandidateIndex, dataset: nerbench.Dataset, judges: Any) -> None:
        """Ask the judges about `index`'s candidates (once per index)."""
        if id(index) in self.decided:
            return
        from nerbench.registry import get_registry

        fmt = get_registry().get("prompt_formats", "verify")()
        n = len(index.sent)

        def ask(questions: list[tuple[str, nerbench.Prompt]]):
            return judges.ask_all("verify", fmt.version, questions)

        spans = [index.span(k) for k in range(n)]
        questions = [(k, judge) for k in range(n) for judge in self.judges]
        answers = await ask([
            (judge, fmt.question(index.sentences[spans[k][0]], spans[k][1], dataset.labels, dataset.language))
            for k, judge in questions
        ])
        yes = np.zeros(n)
        for (k, _), answer in zip(questions, answers):
            if not isinstance(answer, str) and fmt.decision(answer):
                yes[k] += 1
        keep = yes > len(self.judges) / 2
        groups = [c for group in index.groups for c in _components(index, [int(k) for k in group if keep[k]])
                  if len(c) > 1]
        choices = await ask([
            (judge, fmt.choice_question(index.sentences[spans[g[0]][0]], [spans[k][1] for k in g],
                                        dataset.labels, dataset.language))
            for g in groups for judge in self.judges
        ])
        for gi, members in enumerate(groups):
            picks = [fmt.choice(a, len(members)) if not isinstance(a, str) else None
                     for a in choices[gi * len(self.judges) : (gi + 1) * len(self.judges)]]
            tally = Counter(p for p in picks if p is not None)
            ranked = tally.most_common()
            winner = ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else 0
            for i, k in enumerate(members, 1):
                keep[k] = i == winner
        self.decided[id(index)] = (keep, yes)

    def decisions(self, index: CandidateIndex) -> tuple[np.ndarray, np.ndarray]:
        if id(index) not in self.decided:
            raise nerbench.NerbenchError(f"{type(self).__name__} runs inside `nerbench run` (it asks models)")
        return self.decided[id(index)]

    def select(self, index, subsets, params):
        keep, yes = self.decisions(index)
        pooled = _votes(index, subsets) > 0
        return pooled & keep[:, None], np.repeat(yes[:, None], len(subsets), axis=1)


class El4nerCombiner(LlmJudgeCombiner):
    """The EL4NER variant: (1) the union of the systems' spans, whatever the
    type they gave; (2) each judge types each span (a type or none) and a
    strict majority decides; (3) the judges verify the typed span (yes/no,
    strict majority). Options: `judges`, as for llm-judge."""

    needs_all_labels = True

    async def judge(self, index: CandidateIndex, dataset: nerbench.Dataset, judges: Any) -> None:
        if id(index) in self.decided:
            return
        from nerbench.registry import get_registry

        fmt = get_registry().get("prompt_formats", "verify")()
        starts = index.range_starts()
        ends = np.append(starts[1:], len(index.sent))

        def ask(questions: list[tuple[str, nerbench.Prompt]]):
            return judges.ask_all("verify", fmt.version, questions)

        def spot(k: int):
            si, span = index.span(k)
            return index.sentences[si], span

        typings = await ask([
            (judge, fmt.type_question(*spot(int(a)), dataset.labels, dataset.language))
            for a in starts for judge in self.judges
        ])
        typed: list[int | None] = []  # the candidate of the majority type, per range
        for r, (a, b) in enumerate(zip(starts, ends)):
            answers = typings[r * len(self.judges) : (r + 1) * len(self.judges)]
            tally = Counter(fmt.typed(x, dataset.labels) for x in answers if not isinstance(x, str))
            label, votes = tally.most_common(1)[0] if tally else (None, 0)
            hit = [k for k in range(a, b) if index.labels[index.label[k]] == label]
            typed.append(hit[0] if label and votes > len(self.judges) / 2 and hit else None)
        chosen = [k for k in typed if k is not None]
        checks = await ask([
            (judge, fmt.question(*spot(k), dataset.labels, dataset.language)) for k in chosen for judge in self.judges
        ])
        keep = np.zeros(len(index.sent), dtype=bool)
        yes = np.zeros(len(index.sent))
        for i, k in enumerate(chosen):
            yes[k] = sum(1 for x in checks[i * len(self.judges) : (i + 1) * len(self.judges)]
                         if not isinstance(x, str) and fmt.decision(x))
            keep[k] = yes[k] > len(self.judges) / 2
        self.decided[id(index)] = (keep, yes)

    def select(self, index, subsets, params):
        keep, yes = self.decisions(index)
        # A span is pooled when any combined system predicted it, with any type.
        starts = index.range_starts()
        pooled = np.maximum.reduceat(_votes(index, subsets), starts, axis=0) > 0
        ranges = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(index.sent))))
        return pooled[ranges] & keep[:, None], np.repeat(yes[:, None], len(subsets), axis=1)


def _components(index: CandidateIndex, members: list[int]) -> list[list[int]]:
    """Runs of `members` (sorted by position) that overlap one another."""
    out: list[list[int]] = []
    reach = -1
    for k in members:
        if out and index.first[k] < reach:
            out[-1].append(k)
            reach = max(reach, int(index.last[k]))
        else:
            out.append([k])
            reach = int(index.last[k])
    return out


@nerbench.hookimpl
def register_combiners(register):
    register("majority", MajorityCombiner)
    register("vote", VoteCombiner)
    register("union", UnionCombiner)
    register("intersection", IntersectionCombiner)
    register("weighted", WeightedCombiner)
    register("per-type", PerTypeCombiner)
    register("llm-judge", LlmJudgeCombiner)
    register("el4ner", El4nerCombiner)
