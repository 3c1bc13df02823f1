"""Racing: stop paying for systems that cannot win, with an error rate that
holds under repeated looks.

A split is answered in rounds over a fixed, seeded order of its sentences, so
every prefix is a random sample. After each round every surviving system is
compared with the current leader (the best F1 on the sentences all of them
answered) by a paired test over those sentences; a system worse than the
leader with confidence is dropped. The race ends when one system is left,
when every survivor is within `delta` F1 of the leader with confidence
(equivalence), or when the split is exhausted.

Looking after every round is optional stopping: a test at level α repeated
at every look drops an equal system far more often than α (the "naive"
method; `benchmarks/racing.py` measures it). The methods:

- `bonferroni` (the baseline): at each of the R planned looks, each of the
  m = S − 1 challengers at level α / (R · (S − 1)). Valid by the union bound
  over looks and challengers, whatever their dependence (Maron & Moore, "The
  racing algorithm", 1997, use the same bound across Hoeffding tests).
- `holm` (nerbench's default): α split evenly over the R looks, and within a
  look Holm's step-down procedure over the challengers (Holm, "A simple
  sequentially rejective multiple test procedure", Scand. J. Statist. 6,
  1979): the smallest p against α / (R · m), the next against α / (R · (m − 1)),
  and so on. Holm controls the family-wise error within a look under any
  dependence, the union bound across looks: the chance that some system not
  worse than the leader is ever dropped stays ≤ α. It rejects whatever
  Bonferroni rejects, and more.
- `naive`: every challenger at level α at every look — not valid, kept to
  show what the correction buys.

The p-value: a paired bootstrap over the shared sentences (the sentences are
resampled together for both systems), one-sided, of "the challenger is not
worse than the leader". The per-look levels are small (0.05 / (10 · 7) ≈ 0.0007
for 8 systems and 10 looks), below what 2,000 resamples can resolve by counting
(1 / 2,000), so the p-value is read from the bootstrap distribution of the F1
difference through its normal approximation, Φ(−d / sd), d the observed
difference and sd the bootstrap standard deviation (the bootstrap z-test,
Efron & Tibshirani 1993, ch. 16). The equivalence stop uses the same
distribution: every survivor's difference from the leader below `delta` at
the look's level (two one-sided tests against ±delta, Schuirmann 1987).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nerbench.score.bootstrap import Counts, resampled_f1, resamples
from nerbench.score.prf import prf

METHODS = ("holm", "bonferroni", "naive")
DEFAULT_METHOD = "holm"
#: Bootstrap resamples per look (the p-values come from their spread, not their count).
RESAMPLES = 1000


def f1(counts: Counts) -> float:
    return float(prf(*(np.sum(counts[k]) for k in ("tp", "predicted", "gold")))[2])


def _normal_tail(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def paired_differences(leader: Counts, challenger: Counts, draws: np.ndarray) -> tuple[float, np.ndarray]:
    """The observed F1 difference leader − challenger and its bootstrap replicates (same resamples)."""
    observed = f1(leader) - f1(challenger)
    return observed, resampled_f1(leader, draws) - resampled_f1(challenger, draws)


def worse_p(observed: float, replicates: np.ndarray) -> float:
    """One-sided p of "the challenger is not worse than the leader"."""
    sd = float(np.std(replicates))
    if sd == 0.0:
        return 0.0 if observed > 0 else 1.0
    return _normal_tail(observed / sd)


def within_p(observed: float, replicates: np.ndarray, delta: float) -> float:
    """p of "the challenger is at least `delta` F1 worse than the leader"
    (the equivalence null; small: the two are within delta)."""
    sd = float(np.std(replicates))
    if sd == 0.0:
        return 0.0 if abs(observed) < delta else 1.0
    return max(_normal_tail((delta - observed) / sd), _normal_tail((delta + observed) / sd))


@dataclass
class Look:
    """What one look decided: the systems dropped (with against whom, p and
    the level they were tested at), the leader, and whether the race ended."""

    round: int
    sentences: int
    leader: str
    dropped: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False
    why: str = ""


class Race:
    """One split's race among `systems` over `n_sentences` sentences in
    `rounds` equal rounds (the last takes the remainder)."""

    def __init__(self, systems: Sequence[str], n_sentences: int, rounds: int = 10, alpha: float = 0.05,
                 delta: float = 0.0, method: str = "default", seed: int = 0, resamples: int = RESAMPLES) -> None:
        method = DEFAULT_METHOD if method == "default" else method
        if method not in METHODS:
            raise ValueError(f"race method {method!r} is not one of {', '.join(METHODS)}")
        self.systems = list(systems)
        self.n = n_sentences
        self.rounds = max(1, min(rounds, n_sentences or 1))
        self.alpha, self.delta, self.method, self.seed, self.resamples = alpha, delta, method, seed, resamples
        self.alive = list(systems)
        self.history: list[dict[str, Any]] = []
        self.looks = 0

    def round_end(self, k: int) -> int:
        """Sentences answered by the end of round `k` (1-based)."""
        return self.n if k >= self.rounds else round(self.n * k / self.rounds)

    def _levels(self, m: int) -> list[float]:
        """The level of the i-th smallest of m p-values at one look."""
        if self.method == "naive":
            return [self.alpha] * m
        per_look = self.alpha / self.rounds
        if self.method == "bonferroni":
            return [per_look / m] * m
        return [per_look / (m - i) for i in range(m)]

    def look(self, counts: Mapping[str, Counts]) -> Look:
        """Decide after a round. `counts`: each surviving system's
        per-sentence counts (tp, predicted, gold) on the sentences answered so
        far — the same sentences, in the same order, for all of them."""
        self.looks += 1
        alive = [s for s in self.alive if s in counts]
        n = len(counts[alive[0]]["tp"]) if alive else 0
        scores = {s: f1(counts[s]) for s in alive}
        leader = min(alive, key=lambda s: (-scores[s], s))
        result = Look(self.looks, n, leader)
        if len(alive) <= 1:
            result.finished, result.why = True, "one system left"
            return self._record(result)
        draws = resamples(n, self.resamples, self.seed + self.looks)
        challengers = [s for s in alive if s != leader]
        diffs = {s: paired_differences(counts[leader], counts[s], draws) for s in challengers}
        ps = {s: worse_p(*diffs[s]) for s in challengers}
        levels = self._levels(len(challengers))
        for i, s in enumerate(sorted(challengers, key=lambda s: (ps[s], s))):
            if ps[s] >= levels[i]:
                break  # step-down: the rest stay (for bonferroni and naive every level is the same)
            result.dropped[s] = {"against": leader, "p": ps[s], "level": levels[i],
                                 "f1": scores[s], "leader_f1": scores[leader]}
        self.alive = [s for s in alive if s not in result.dropped]
        survivors = [s for s in self.alive if s != leader]
        if len(self.alive) == 1:
            result.finished, result.why = True, "one system left"
        elif self.delta > 0 and all(within_p(*diffs[s], self.delta) < self._levels(len(survivors))[-1]
                                    for s in survivors):
            result.finished, result.why = True, f"every survivor within {self.delta:g} F1 of the leader"
        elif n >= self.n:
            result.finished, result.why = True, "split exhausted"
        return self._record(result)

    def _record(self, look: Look) -> Look:
        self.history.append({"round": look.round, "sentences": look.sentences, "leader": look.leader,
                             "dropped": {s: dict(r) for s, r in look.dropped.items()}, "finished": look.finished,
                             "why": look.why})
        return look


@dataclass
class Replay:
    """A race replayed on stored per-sentence counts: what each system was
    asked (sentences), who won, who was dropped."""

    asked: dict[str, int]
    winner: str
    dropped: dict[str, dict[str, Any]]
    rounds: int


def replay(counts: Mapping[str, Counts], order: np.ndarray, rounds: int = 10, alpha: float = 0.05,
           delta: float = 0.0, method: str = "default", seed: int = 0, resamples: int = RESAMPLES) -> Replay:
    """Race `counts` (per-sentence, the split's order) over the sentence
    order `order`, without asking anything: what racing would have cost."""
    systems = sorted(counts)
    arranged = {s: {k: np.asarray(counts[s][k])[order] for k in ("tp", "predicted", "gold")} for s in systems}
    race = Race(systems, len(order), rounds, alpha, delta, method, seed, resamples)
    asked = {s: 0 for s in systems}
    dropped: dict[str, dict[str, Any]] = {}
    look = None
    for k in range(1, race.rounds + 1):
        end = race.round_end(k)
        for s in race.alive:
            asked[s] = end
        look = race.look({s: {key: v[:end] for key, v in arranged[s].items()} for s in race.alive})
        dropped.update(look.dropped)
        if look.finished:
            break
    assert look is not None
    winner = look.leader if look.leader in race.alive else min(
        race.alive, key=lambda s: (-f1({k: v[:asked[s]] for k, v in arranged[s].items()}), s))
    return Replay(asked, winner, dropped, look.round)
