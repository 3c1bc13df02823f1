"""Choosing an ensemble on a small labelled dev sample: greedy forward
selection or exhaustive search over system subsets, with the combiner's
parameters, all scored by the exact vectorised counts of `ensemble`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from nerbench.index.candidates import CandidateIndex, Counts, count, materialise, resolve
from nerbench.errors import NerbenchError
from nerbench.score.strict import SPAN_SET, per_sentence
from nerbench.records import Span

SEARCHES = ("none", "greedy", "exhaustive")
#: 2^16 - 1 subsets is already a lot for exhaustive search.
MAX_EXHAUSTIVE_SYSTEMS = 16


class Selecting(Protocol):
    """What search asks of a combiner (every `nerbench.bases.Combiner` is
    one); a protocol, so this library needs nothing above it."""

    @property
    def needs_dev(self) -> bool: ...

    def fit(self, dev: CandidateIndex) -> None: ...

    def settings(self, size: int) -> list[dict[str, Any]]: ...

    def select(self, index: CandidateIndex, subsets: np.ndarray,
               params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Choice:
    systems: tuple[str, ...]
    params: dict[str, Any]
    dev_f1: float | None


def combine_counts(combiner: Selecting, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]) -> Counts:
    keep, priority = combiner.select(index, subsets, params)
    return count(index, resolve(index, keep, priority))


def best_settings(combiner: Selecting, dev: CandidateIndex, subsets: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """Best dev F1 per subset (rows of `subsets`) over the combiner's settings."""
    best = np.full(len(subsets), -1.0)
    params: list[dict] = [{}] * len(subsets)
    sizes = subsets.sum(axis=1)
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        for setting in combiner.settings(int(size)):
            f1 = combine_counts(combiner, dev, subsets[rows], setting).f1
            better = f1 > best[rows] + 1e-12
            best[rows[better]] = f1[better]
            for r in rows[better]:
                params[r] = setting
    return best, params


def _names(index: CandidateIndex, row: np.ndarray) -> tuple[str, ...]:
    return tuple(name for name, on in zip(index.systems, row) if on)


def choose(combiner: Selecting, dev: CandidateIndex | None, systems: list[str], search: str) -> Choice:
    """Pick systems and parameters on dev (`search` = none: all systems)."""
    if search not in SEARCHES:
        raise NerbenchError(f"search {search!r} is not one of {', '.join(SEARCHES)}")
    if dev is None:
        if search != "none" or combiner.needs_dev:
            who = f"search {search}" if search != "none" else type(combiner).__name__
            raise NerbenchError(f"{who} needs dev predictions (--dev)")
        return Choice(tuple(systems), combiner.settings(len(systems))[0], None)
    combiner.fit(dev)
    n = len(dev.systems)
    if search == "none":
        f1, params = best_settings(combiner, dev, np.ones((1, n), dtype=bool))
        return Choice(tuple(dev.systems), params[0], float(f1[0]))
    if search == "exhaustive":
        if n > MAX_EXHAUSTIVE_SYSTEMS:
            raise NerbenchError(f"exhaustive search over {n} systems is too large; use greedy")
        subsets = np.array(list(itertools.product([False, True], repeat=n))[1:], dtype=bool)
        f1, params = best_settings(combiner, dev, subsets)
        # Ties go to the smaller ensemble, then the earlier one: cheaper to run.
        best = min(range(len(subsets)), key=lambda r: (-round(float(f1[r]), 12), subsets[r].sum(), r))
        return Choice(_names(dev, subsets[best]), params[best], float(f1[best]))
    # Greedy forward selection: start from the best single system, add the
    # system that helps most, stop when none helps.
    chosen = np.zeros(n, dtype=bool)
    best_f1, best_params = -1.0, {}
    while not chosen.all():
        rest = np.flatnonzero(~chosen)
        candidates = np.repeat(chosen[None, :], len(rest), axis=0)
        candidates[np.arange(len(rest)), rest] = True
        f1, params = best_settings(combiner, dev, candidates)
        r = int(np.argmax(f1))
        if f1[r] <= best_f1 + 1e-12:
            break
        chosen, best_f1, best_params = candidates[r], float(f1[r]), params[r]
    return Choice(_names(dev, chosen), best_params, best_f1)


def evaluate(combiner: Selecting, index: CandidateIndex, choice: Choice) -> tuple[dict, dict[str, list[Span]]]:
    """Metrics and combined predictions of `choice` on `index`."""
    missing = [s for s in choice.systems if s not in index.systems]
    if missing:
        raise NerbenchError(f"no predictions for {', '.join(missing)} in the evaluation data")
    subsets = index.subset_matrix([choice.systems])
    keep, priority = combiner.select(index, subsets, choice.params)
    kept = resolve(index, keep, priority)
    return count(index, kept).metrics(0, index.labels), materialise(index, kept[:, 0])


def ensemble_name(combiner_name: str, systems: tuple[str, ...]) -> str:
    return f"{combiner_name}[{'+'.join(systems)}]"


def best_single(index: CandidateIndex, rule: str = SPAN_SET) -> dict[str, Any]:
    """The best system alone on `index`: its name and metrics, scored as the
    systems are (span-set: every distinct span it predicted; longest-first:
    overlapping spans resolved longest first, as IOB2 tags would hold them)."""
    if rule == SPAN_SET:
        singles = count(index, index.votes)
    else:
        eye = np.eye(len(index.systems), dtype=np.int32)
        votes = index.votes.astype(np.int32) @ eye
        singles = count(index, resolve(index, votes > 0, votes.astype(float)))
    best = int(np.argmax(singles.f1))
    return {"system": index.systems[best], "metrics": singles.metrics(best, index.labels)}


def run_ensemble(
    combiner_name: str,
    combiner: Selecting,
    test: CandidateIndex,
    dev: CandidateIndex | None,
    search: str,
) -> tuple[dict[str, Any], dict[str, list[Span]]]:
    """Choose on dev (if any), evaluate on test; compare with the best single
    system on test. Returns the result document and the combined predictions."""
    choice = choose(combiner, dev, test.systems, search)
    metrics, combined = evaluate(combiner, test, choice)
    return {
        "system": ensemble_name(combiner_name, choice.systems),
        "combiner": combiner_name,
        "search": search,
        "systems": list(choice.systems),
        "params": choice.params,
        "dev_f1": choice.dev_f1,
        "dev_sentences": len(dev.sentences) if dev is not None else 0,
        "sentences": len(test.sentences),
        "metrics": metrics,
        "per_sentence": per_sentence(test.sentences, combined),
        "best_single": best_single(test),
    }, combined
