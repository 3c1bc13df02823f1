"""Synthetic systems made from gold by documented, seeded perturbations —
for testing and benchmarking ensembles without running models."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .types import Sentence, Span


def perturbed_system(
    sentences: Sequence[Sentence],
    labels: Sequence[str],
    seed: int,
    drop: float = 0.3,
    relabel: float = 0.1,
    shift: float = 0.1,
    spurious: float = 0.2,
) -> dict[str, list[Span]]:
    """Each gold entity is dropped with probability `drop`, else relabelled
    (`relabel`) or widened/narrowed by one token (`shift`); each sentence gets
    a spurious one-to-three-token entity with probability `spurious` (it may
    overlap gold). Same arguments, same output."""
    rng = random.Random(seed)
    out: dict[str, list[Span]] = {}
    for sentence in sentences:
        tokens = sentence.tokens
        starts = {t.start: i for i, t in enumerate(tokens)}
        ends = {t.end: i for i, t in enumerate(tokens)}
        spans = []
        for span in sentence.spans:
            if rng.random() < drop:
                continue
            label = rng.choice(labels) if rng.random() < relabel else span.label
            first, last = starts[span.start], ends[span.end]
            if rng.random() < shift:
                if rng.random() < 0.5 and last + 1 < len(tokens):
                    last += 1
                elif last > first:
                    last -= 1
            spans.append(Span(tokens[first].start, tokens[last].end, label))
        if tokens and rng.random() < spurious:
            first = rng.randrange(len(tokens))
            last = min(len(tokens) - 1, first + rng.randrange(3))
            spans.append(Span(tokens[first].start, tokens[last].end, rng.choice(labels)))
        out[sentence.id] = spans
    return out


def perturbed_systems(
    sentences: Sequence[Sentence], labels: Sequence[str], n: int, seed: int = 0,
    drop: tuple[float, float] = (0.15, 0.6),
) -> dict[str, dict]:
    """`n` systems whose drop rates spread evenly over `drop` (low, high)."""
    systems = {}
    for i in range(n):
        rate = drop[0] + (drop[1] - drop[0]) * i / max(1, n - 1)
        systems[f"perturbed-{i:02d}"] = perturbed_system(sentences, labels, seed * 1000 + i, drop=rate)
    return systems
