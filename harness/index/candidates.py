"""Ensembles over stored predictions: a candidate index (every distinct
predicted entity with a bitmask of the systems that predicted it) and exact,
vectorised scoring of many system subsets at once.

What an ensemble outputs: the candidates its combiner keeps, made
non-overlapping by `resolve` (higher priority first, then longer, then
leftmost, then label). That resolution is part of the combiner's output, as
the published pipeline's disambiguation is: an ensemble never outputs two
overlapping spans. `count` counts exactly what is kept, so the counts equal
the span-set scorer's on the materialised output (and seqeval's over IOB2
tags, the output having no overlap); tests check it. A single system's own
counts are `count(index, index.votes)`: every distinct span it predicted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from collections.abc import Iterable

import numpy as np

from nerbench.parse.alignment import TokenIndex
from nerbench.score.prf import prf
from nerbench.records import Sentence, Span


@dataclass
class CandidateIndex:
    """Every distinct (sentence, token range, label) any system predicted."""

    sentences: list[Sentence]
    systems: list[str]
    labels: list[str]
    sent: np.ndarray  # candidate → sentence index
    first: np.ndarray  # first token
    last: np.ndarray  # last token + 1
    label: np.ndarray  # index into labels
    votes: np.ndarray  # candidates × systems, bool: who predicted it
    gold: np.ndarray  # bool: is it a gold entity
    gold_per_label: np.ndarray  # gold entity count per label
    length: np.ndarray  # characters covered, for the overlap rule
    groups: list[np.ndarray] = field(default_factory=list)  # candidates that overlap, per group
    #: "dataset:split" of the sentences: combiners that learn per index key their state on it
    key: str = ""

    def range_starts(self) -> np.ndarray:
        """Index of the first candidate of each distinct (sentence, token range)."""
        new = np.ones(len(self.sent), dtype=bool)
        new[1:] = (self.sent[1:] != self.sent[:-1]) | (self.first[1:] != self.first[:-1]) | (
            self.last[1:] != self.last[:-1])
        return np.flatnonzero(new)

    @property
    def n_gold(self) -> int:
        return int(self.gold_per_label.sum())

    def subset_matrix(self, subsets: Iterable[Sequence[str]]) -> np.ndarray:
        """Boolean matrix subsets × systems."""
        pos = {s: i for i, s in enumerate(self.systems)}
        rows = []
        for subset in subsets:
            row = [False] * len(self.systems)
            for name in subset:
                row[pos[name]] = True
            rows.append(row)
        return np.array(rows, dtype=bool).reshape(-1, len(self.systems))

    def span(self, k: int) -> tuple[int, Span]:
        sentence = self.sentences[self.sent[k]]
        return int(self.sent[k]), Span(
            sentence.tokens[self.first[k]].start, sentence.tokens[self.last[k] - 1].end, self.labels[self.label[k]]
        )


def build_index(
    sentences: Sequence[Sentence],
    predictions: Mapping[str, Mapping[str, Iterable[Span]]],
    all_labels: Sequence[str] = (),
    key: str = "",
) -> CandidateIndex:
    """`predictions`: system → sentence id → spans (missing sentence = none).
    With `all_labels`, every predicted token range also gets a candidate (with
    no votes) for each of those labels, for combiners that retype spans."""
    systems = sorted(predictions)
    label_ids: dict[str, int] = {}
    gold_keys: set[tuple[int, int, int, int]] = set()
    keys: dict[tuple[int, int, int, int], int] = {}
    voters: list[set[int]] = []
    gold_counts: dict[int, int] = {}

    def lab(name: str) -> int:
        return label_ids.setdefault(name, len(label_ids))

    def add(candidate: tuple[int, int, int, int], system: int | None) -> None:
        k = keys.get(candidate)
        if k is None:
            k = keys[candidate] = len(voters)
            voters.append(set())
        if system is not None:
            voters[k].add(system)

    for si, sentence in enumerate(sentences):
        index = TokenIndex(sentence.tokens)
        for span in sentence.spans:
            rng = index.token_range(span.start, span.end)
            if rng is not None:
                gold_key = (si, rng[0], rng[1], lab(span.label))
                if gold_key not in gold_keys:
                    gold_keys.add(gold_key)
                    gold_counts[gold_key[3]] = gold_counts.get(gold_key[3], 0) + 1
        for s, system in enumerate(systems):
            for span in predictions[system].get(sentence.id, ()):
                rng = index.token_range(span.start, span.end)
                if rng is not None:
                    add((si, rng[0], rng[1], lab(span.label)), s)
                    for label in all_labels:
                        add((si, rng[0], rng[1], lab(label)), None)
    ordered = sorted(keys, key=lambda k: k[:3] + (k[3],))
    n = len(ordered)
    votes = np.zeros((n, len(systems)), dtype=bool)
    arr = np.array(ordered, dtype=np.int64).reshape(n, 4)
    for row, candidate in enumerate(ordered):
        for s in voters[keys[candidate]]:
            votes[row, s] = True
    labels = sorted(label_ids, key=label_ids.__getitem__)
    gold_per_label = np.zeros(len(labels), dtype=np.int64)
    for label_id, count in gold_counts.items():
        gold_per_label[label_id] = count
    length = np.array(
        [sentences[a].tokens[c - 1].end - sentences[a].tokens[b].start for a, b, c, _ in ordered], dtype=np.int64
    )
    idx = CandidateIndex(
        sentences=list(sentences),
        systems=systems,
        labels=labels,
        sent=arr[:, 0],
        first=arr[:, 1],
        last=arr[:, 2],
        label=arr[:, 3],
        votes=votes,
        gold=np.array([k in gold_keys for k in ordered], dtype=bool),
        gold_per_label=gold_per_label,
        length=length,
        key=key,
    )
    idx.groups = _overlap_groups(idx)
    return idx


def _overlap_groups(idx: CandidateIndex) -> list[np.ndarray]:
    """Connected runs of candidates sharing a token, within a sentence (they
    are sorted by sentence, then first token)."""
    groups = []
    start = 0
    reach = -1
    for k in range(len(idx.sent) + 1):
        new_run = k == len(idx.sent) or k == 0 or idx.sent[k] != idx.sent[k - 1] or idx.first[k] >= reach
        if new_run:
            if k - start > 1:
                groups.append(np.arange(start, k))
            if k == len(idx.sent):
                break
            start, reach = k, int(idx.last[k])
        else:
            reach = max(reach, int(idx.last[k]))
    return groups


def resolve(idx: CandidateIndex, keep: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Drop overlapping candidates from `keep` (candidates × subsets), greedily
    by priority, then length, then position, then label."""
    keep = keep.copy()
    for group in idx.groups:
        sub = keep[group]
        contested = np.flatnonzero(sub.sum(axis=0) > 1)
        if not len(contested):
            continue
        # Many subsets agree on who survives and how strongly: resolve each
        # distinct (keep, priority) pattern once.
        patterns = np.vstack([sub[:, contested], priority[group][:, contested]])
        unique, inverse = np.unique(patterns, axis=1, return_inverse=True)
        m = len(group)
        for u in range(unique.shape[1]):
            alive = unique[:m, u].astype(bool)
            prio = unique[m:, u]
            order = sorted(
                (i for i in range(m) if alive[i]),
                key=lambda i: (-prio[i], -idx.length[group[i]], idx.first[group[i]], idx.labels[idx.label[group[i]]]),
            )
            taken: list[tuple[int, int]] = []
            dropped = []
            for i in order:
                a, b = int(idx.first[group[i]]), int(idx.last[group[i]])
                if any(a < tb and ta < b for ta, tb in taken):
                    dropped.append(group[i])
                else:
                    taken.append((a, b))
            if dropped:
                columns = contested[np.asarray(inverse).reshape(-1) == u]
                keep[np.ix_(dropped, columns)] = False
    return keep


@dataclass
class Counts:
    """Entity-level counts per subset (columns) — micro and per label."""

    tp: np.ndarray  # subsets
    predicted: np.ndarray
    gold: int
    tp_label: np.ndarray  # labels × subsets
    predicted_label: np.ndarray
    gold_label: np.ndarray  # labels

    @property
    def f1(self) -> np.ndarray:
        return prf(self.tp, self.predicted, self.gold)[2]

    def metrics(self, j: int, labels: Sequence[str]) -> dict:
        """seqeval-shaped metrics for subset column `j`."""
        p, r, f = (float(x) for x in prf(self.tp[j], self.predicted[j], self.gold))
        per_type = {}
        for li, name in enumerate(labels):
            if self.gold_label[li] or self.predicted_label[li, j]:
                lp, lr, lf = (float(x) for x in
                              prf(self.tp_label[li, j], self.predicted_label[li, j], self.gold_label[li]))
                per_type[name] = {"precision": lp, "recall": lr, "f1": lf, "support": int(self.gold_label[li])}
        macro = float(np.mean([v["f1"] for v in per_type.values()])) if per_type else 0.0
        return {"precision": p, "recall": r, "f1": f, "macro_f1": macro, "per_type": dict(sorted(per_type.items()))}


def count(idx: CandidateIndex, kept: np.ndarray) -> Counts:
    """Counts from a resolved keep matrix (candidates × subsets)."""
    onehot = np.zeros((len(idx.labels), len(idx.label)), dtype=np.int64)
    onehot[idx.label, np.arange(len(idx.label))] = 1
    k = kept.astype(np.int64)
    g = idx.gold.astype(np.int64)[:, None] * k
    return Counts(
        tp=g.sum(axis=0),
        predicted=k.sum(axis=0),
        gold=idx.n_gold,
        tp_label=onehot @ g,
        predicted_label=onehot @ k,
        gold_label=idx.gold_per_label,
    )


def materialise(idx: CandidateIndex, kept_column: np.ndarray) -> dict[str, list[Span]]:
    """The combined predictions of one subset: sentence id → spans."""
    out: dict[str, list[Span]] = {s.id: [] for s in idx.sentences}
    for k in np.flatnonzero(kept_column):
        si, span = idx.span(int(k))
        out[idx.sentences[si].id].append(span)
    return out
