"""Which sentences: the one place that decides what a split's evaluated
sample is — the limit that applies, the race's seeded order, the prefix of
it a raced system answered, the dev sample an ensemble is chosen on, a seeded
draw — so that planning a run, scoring it, scoring it again (`rescore`),
combining, the leaderboard and annotation all take the same sentences."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from nerbench.bases import Dataset
from nerbench.errors import NerbenchError
from nerbench.records import Sentence


def sample_limit(dataset_limit: int | None, run_limit: int | None) -> int | None:
    """How many first sentences of an evaluated split a run takes: its
    `[[dataset]] limit`, else `[run] limit` (which `--limit` sets, clearing
    the datasets' own), else all."""
    return dataset_limit or run_limit


def dev_sample_size(dev_limit: int, run_limit: int | None) -> int:
    """The labelled dev sample an ensemble is chosen on: `[ensemble]
    dev_limit` sentences, capped by `[run] limit` (and so by `--limit`)."""
    return min(dev_limit, run_limit or dev_limit)


def first(dataset: Dataset, split: str, limit: int | None) -> list[Sentence]:
    """The first `limit` sentences of `split` (all of them without one)."""
    return list(islice(dataset.sentences(dataset.check_split(split)), limit))


def race_order(sentences: Sequence[Sentence], seed: int, dataset: str, split: str) -> list[Sentence]:
    """`sentences` in a seeded order (the same on every machine): every
    prefix of it is a random sample of them."""
    order = list(sentences)
    random.Random(f"race:{seed}:{dataset}:{split}").shuffle(order)
    return order


def evaluated(dataset: Dataset, split: str, limit: int | None, race_seed: int | None = None) -> list[Sentence]:
    """What a run evaluates of a split: its first `limit` sentences, in the
    race's order when the split is raced (`race_seed` not None)."""
    sentences = first(dataset, split, limit)
    return sentences if race_seed is None else race_order(sentences, race_seed, dataset.id, split)


def answered(sentences: Sequence[Sentence], n: int | None) -> list[Sentence]:
    """The sentences a system was scored on: all of them, or the first `n`
    of a raced split's order (those it answered before it stopped)."""
    return list(sentences) if n is None else list(sentences[:n])


def common(sentences: Sequence[Sentence], answers: Iterable[int | None]) -> list[Sentence]:
    """The sentences every one of several systems answered (`answers`: how
    many each did, None for all)."""
    counts = [len(sentences) if n is None else n for n in answers]
    return answered(sentences, min(counts, default=len(sentences)))


def shared_prefix(a: Mapping[str, Sequence[int]], b: Mapping[str, Sequence[int]]
                  ) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per-sentence counts of two entries on the sentences both were scored
    on: all of them, or on a raced split the shorter one's prefix."""
    n = min(len(a["tp"]), len(b["tp"]))
    return {k: list(v[:n]) for k, v in a.items()}, {k: list(v[:n]) for k, v in b.items()}


def draw(sentences: Sequence[Sentence], limit: int | None = None, sample: int | None = None,
         seed: int = 0, what: str = "--sample") -> list[Sentence]:
    """The first `limit` sentences, or `sample` of them drawn with `seed`
    (kept in the split's order; then the first `limit` of those): the same
    draw on every machine."""
    chosen = list(sentences)
    if sample is not None:
        if sample > len(chosen):
            raise NerbenchError(f"{what} {sample}: the split has only {len(chosen)} sentences")
        picked = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [s for i, s in enumerate(chosen) if i in picked]
    return chosen[:limit]


def recorded_sample(results: Mapping[str, Any], dataset_id: str, split: str) -> tuple[int | None, int | None]:
    """How a finished run chose `dataset_id:split`, from its results
    document: (the limit it took, the race seed or None). Documents since
    the limit was recorded say it (`samples`); a raced one before that says
    how many sentences the race was over; older ones are read as their
    config says (`run --limit` was not recorded then)."""
    ref = f"{dataset_id}:{split}"
    race = results.get("race") or {}
    seed = race["settings"]["seed"] if ref in race.get("splits", []) else None
    samples = results.get("samples") or {}
    if ref in samples:
        return samples[ref].get("limit"), seed
    recorded = race.get("sentences", {}).get(ref) if seed is not None else None
    if recorded is not None:
        return int(recorded), seed
    content = results.get("config", {}).get("content", {})
    limit = next((d.get("limit") for d in content.get("dataset", []) if d.get("id") == dataset_id), None)
    return sample_limit(limit, content.get("run", {}).get("limit")), seed
