"""Racing: a split is answered in rounds over a fixed, seeded order of its
sentences, so the sentences seen after any round are a random sample of the
split; after each round every system still in the race is compared with the
current leader, and one that is worse with confidence stops being asked.

Looking again after every round is what makes a naive test wrong: a paired
bootstrap at level α repeated over ten rounds drops one of two equal systems
far more often than α (the `naive` method, kept to show it). The error must
hold over all the looks and all the systems together. nerbench's method,
`holm-gs` (the default), does that with three standard pieces, none of which
needs a model of how the systems' scores are correlated with each other:

- **The test** at each look is the issue's: the paired bootstrap over
  sentences (`nerbench.score.bootstrap`), p = the share of resamples in
  which the leader does not beat the challenger (Efron & Tibshirani 1993,
  §16.4; Koehn 2004 for its use on NLP metrics).
- **Across looks**, a Lan–DeMets alpha-spending function of Pocock type,
  α·ln(1 + (e − 1)·t) with t the share of the tested sentences seen
  (Lan & DeMets 1983, Biometrika 70:659), turned into one nominal level per
  look under the canonical joint distribution of a statistic recomputed on
  growing samples — corr(Z_j, Z_k) = √(n_j / n_k) — by the recursive
  numerical integration of Armitage, McPherson & Rowe (1969); Jennison &
  Turnbull (2000), *Group Sequential Methods*, ch. 7 and 19. That is valid
  for an estimator that is asymptotically a sum over sentences, as a
  difference of two F1s is (Scharfstein, Tsiatis & Robins 1997, JASA
  92:1342). It spends the same α as Bonferroni over the looks but does not
  pay for looks that see mostly the same sentences: with 10 rounds of 100
  sentences (7 tested looks) the nominal level per look is 1.6–3.2 times
  Bonferroni's α/7. Sentences are
  drawn without replacement from a finite split, which makes the real
  statistics less variable than that model, so ignoring the
  finite-population correction is conservative (we measured that using it
  would not be: see docs/racing.md).
- **Across systems**, Holm's (1979) step-down, as the shortcut of a closed
  test (Marcus, Peritz & Gabriel 1976) of the hypotheses "system i is one of
  the best on the whole split", carried across looks as in Maurer & Bretz
  (2013, Stat. Biopharm. Res. 5:311): at each look the smallest p is held to
  the level for α/u, with u the systems still in the race *counting the
  leader*, the next to α/(u − 1), and so on; a dropped system's share is
  recycled to the others at this and later looks. Counting the leader is
  what makes two exactly tied systems safe: whichever leads, the two
  directions share α. As in Hsu's (1984) multiple comparisons with the best,
  a best system can only be dropped if some system beats it by chance, so
  the error is the chance that a best system is ever dropped.

What is not covered: with three or more systems *exactly* tied at the top
the union bound over their pairwise comparisons grows to (t − 1)·α; and the
bootstrap's tail at small samples is only approximately right, so the
method does not test before `MIN_SENTENCES` sentences (on the leaderboards'
sparse counts the percentile bootstrap rejected up to twice its nominal
level at 20 sentences, about at it from 30 on). It does not test at the
last round either: dropping a system there saves no request.

The equivalence stop (δ > 0) ends the race when every survivor is within δ
F1 of the leader by two one-sided bootstrap tests (Schuirmann 1987) at the
same per-look levels, with its own α: the winner is then, with confidence
1 − α, within δ of the best. A leader whose F1 no resample moves (no true
positive yet) is no evidence of equivalence, so it never ends a race.

With `resamples` bootstrap resamples a p below 1/`resamples` reads "no
resample reversed the order"; the levels here reach 1e-4, so for α = 0.01
the default 2,000 resamples, like the baseline's, decide by that.

Everything here is a pure function of the counts, the order and the seed:
no I/O, no clock, so a race replays bit for bit (`replay`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import numpy as np

from nerbench.score.bootstrap import RESAMPLES, Counts, resampled_f1, resamples
from nerbench.score.prf import prf

#: nerbench's valid method, what `method = "default"` means
DEFAULT_METHOD = "holm-gs"
#: the issue's baseline: a paired bootstrap per challenger at α/(rounds × (systems − 1))
BASELINE = "baseline-bonferroni"
#: a plain α-level test at every look, uncorrected: kept to show why it is wrong
NAIVE = "naive"
METHODS = (DEFAULT_METHOD, BASELINE, NAIVE)
_ALIASES = {"default": DEFAULT_METHOD, "bonferroni": BASELINE}
#: why a race ended (the third: every survivor within delta F1 of the leader)
ONE_LEFT = "one system left"
EXHAUSTED = "split exhausted"
#: a raced split with a single system: nothing to compare it with, so it answers the whole split
ALONE = "one system: nothing to race"
#: holm-gs tests no look with fewer sentences (the bootstrap's tail is too rough there)
MIN_SENTENCES = 30

_NORMAL = NormalDist()
_KEYS = ("tp", "predicted", "gold")


def _norm_sf(x: np.ndarray) -> np.ndarray:
    # erfc with relative error < 1.2e-7 everywhere (Numerical Recipes' erfcc):
    # the boundary search needs the normal tail at 1e-5 accurately, in numpy.
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    half = 0.5 * t * np.exp(poly)
    return np.where(x >= 0, half, 1.0 - half)


def spending(alpha: float, t: float) -> float:
    """Lan–DeMets' Pocock-type spending: it spends more of α early than an
    even split would, which is where dropping a system saves the most."""
    return alpha * math.log(1.0 + (math.e - 1.0) * min(max(t, 0.0), 1.0))


def _crossing(mass: np.ndarray, grid: np.ndarray, bound: float, sd: float) -> float:
    """Probability that the next score is above `bound`, from the sub-density
    `mass` (per cell of `grid`) of the paths that have not crossed yet."""
    return float(np.sum(mass * _norm_sf((bound - grid) / sd)))


@lru_cache(maxsize=4096)
def nominal_levels(alpha: float, information: tuple[int, ...], step: float = 0.02) -> tuple[float, ...]:
    """One-sided nominal level of each look such that a statistic recomputed
    on growing samples (`information`: sentences seen at each tested look)
    crosses some look's boundary with probability `alpha` in all: the first
    crossing at look k has probability spending(t_k) − spending(t_{k−1}).
    Cached: a race asks for the same few levels at every look."""
    if not information:
        return ()
    info = [float(i) for i in information]
    if any(b <= a for a, b in zip(info, info[1:])) or info[0] <= 0:
        raise ValueError("information must be positive and increasing")
    spent = [spending(alpha, i / info[-1]) for i in info]
    # The score S_1 = Z_1·√I_1 on a grid below the first boundary, as probability mass per cell.
    bound = _NORMAL.inv_cdf(1.0 - spent[0])
    levels = [spent[0]]
    root = math.sqrt(info[0])
    grid = np.arange(-8.0, bound, step) * root
    mass = np.exp(-(grid**2) / (2 * info[0])) / math.sqrt(2 * math.pi) * step
    for k in range(1, len(info)):
        share = spent[k] - spent[k - 1]
        root, sd = math.sqrt(info[k]), math.sqrt(info[k] - info[k - 1])
        low, high = 0.0, 12.0
        if _crossing(mass, grid, high * root, sd) <= share:
            for _ in range(60):
                middle = (low + high) / 2
                if _crossing(mass, grid, middle * root, sd) > share:
                    low = middle
                else:
                    high = middle
        levels.append(float(_norm_sf(np.array(high))))
        new_grid = np.arange(-8.0, high, step) * root
        density = np.exp(-((new_grid[:, None] - grid[None, :]) ** 2) / (2 * sd * sd)) / (math.sqrt(2 * math.pi) * sd)
        mass = (density @ mass) * step * root
        grid = new_grid
    return tuple(levels)


def _arrays(counts: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.asarray(counts[k], dtype=np.int64) for k in _KEYS)  # type: ignore[return-value]


def _f1(counts: Counts) -> float:
    tp, predicted, gold = (int(a.sum()) for a in _arrays(counts))
    return float(prf(tp, predicted, gold)[2])


def _look_seed(seed: int, round_: int) -> int:
    return int(np.random.SeedSequence([seed, round_]).generate_state(1)[0])


@dataclass(frozen=True)
class Look:
    """What one round's comparison decided. `dropped`: system → why, JSON-ready
    (against, p, level, why), the shape the runner stores per job."""

    round: int
    sentences: int
    leader: str
    dropped: Mapping[str, dict[str, Any]]
    finished: bool
    why: str | None
    f1: Mapping[str, float]


def settings_problem(rounds: int, alpha: float, delta: float, method: str) -> tuple[str, str] | None:
    """(setting, why) of the first race setting a race cannot run with, or
    None: the config checks these when it loads, before any request."""
    if rounds < 1:
        return "rounds", f"{rounds} rounds; a race needs at least 1"
    if not 0.0 < alpha < 1.0:
        return "alpha", f"must be in (0, 1), not {alpha}"
    if not 0.0 <= delta < 1.0:
        return "delta", f"an F1 difference in [0, 1), not {delta}"
    if _ALIASES.get(method, method) not in METHODS:
        return "method", f"unknown race method {method!r}: one of default, {', '.join(METHODS)}"
    return None


class Race:
    """One raced split. The runner asks `round_end(k)` sentences of every
    system in `alive`, then calls `look` with their counts on all the
    sentences seen so far, round after round, until `look(...).finished`."""

    def __init__(self, systems: Sequence[str], n_sentences: int, rounds: int = 10, alpha: float = 0.05,
                 delta: float = 0.0, method: str = "default", seed: int = 0, resamples: int = RESAMPLES,
                 min_sentences: int = MIN_SENTENCES) -> None:
        names = list(systems)
        if not names or len(set(names)) != len(names):
            raise ValueError("a race needs distinct system names")
        if n_sentences < 0:
            raise ValueError("a race needs n_sentences >= 0")
        problem = settings_problem(rounds, alpha, delta, method)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        method = _ALIASES.get(method, method)
        if resamples < 1:
            raise ValueError("resamples must be >= 1")
        self.systems = tuple(names)
        self.n_sentences = n_sentences
        self.rounds = rounds
        self.alpha = alpha
        self.delta = delta
        self.method = method
        self.seed = seed
        self.resamples = resamples
        self.min_sentences = min_sentences if method == DEFAULT_METHOD else 0
        self._alive = list(names)
        self._history: list[dict[str, Any]] = []
        self._round = 0
        self._finished = False
        ends = [self.round_end(k) for k in range(0, rounds + 1)]
        # A look is tested when it saw new sentences, enough of them, and is not the last (nothing left to save).
        self._tested = [k for k in range(1, rounds + 1)
                        if ends[k] > ends[k - 1] and ends[k] < n_sentences and ends[k] >= self.min_sentences]
        self._information = tuple(ends[k] for k in self._tested)
        #: (system, sentences, look seed) → resampled F1; `replay` shares it between methods
        self._cache: MutableMapping[tuple[str, int, int], np.ndarray] | None = None

    @property
    def alive(self) -> tuple[str, ...]:
        return tuple(self._alive)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every drop and the end, JSON-ready: round, sentences, dropped,
        against, p, level, why (and the leader)."""
        return [dict(h) for h in self._history]

    @property
    def finished(self) -> bool:
        return self._finished

    def round_end(self, k: int) -> int:
        """Sentences in the first `k` rounds: equal rounds, the last one
        ending at the split's end."""
        k = min(max(k, 0), self.rounds)
        return (k * self.n_sentences) // self.rounds

    def tested(self, k: int) -> bool:
        """Whether round `k`'s look can drop a system."""
        return k in self._tested

    def level(self, k: int, share: int) -> float:
        """The nominal p a comparison must reach at round `k` when its share
        of α is α/`share` (holm-gs; the other methods ignore the share)."""
        if k not in self._tested:
            return 0.0
        if self.method == NAIVE:
            return self.alpha
        if self.method == BASELINE:
            return self.alpha / (self.rounds * max(len(self.systems) - 1, 1))
        return nominal_levels(self.alpha / max(share, 1), self._information)[self._tested.index(k)]

    def look(self, counts: Mapping[str, Counts]) -> Look:
        """Decide after the next round. `counts`: each system in `alive`, its
        per-sentence counts on the sentences seen so far, in race order."""
        if self._finished:
            raise ValueError("the race is finished")
        self._round += 1
        k = self._round
        n = self.round_end(k)
        if set(counts) != set(self._alive):
            raise ValueError(f"look needs the counts of exactly the systems in the race: {sorted(self._alive)}")
        for name in self._alive:
            if any(len(counts[name][key]) != n for key in _KEYS):
                raise ValueError(f"{name}: round {k} needs counts on the first {n} sentences")
        f1 = {name: _f1(counts[name]) for name in self._alive}
        leader = max(self._alive, key=lambda s: f1[s])  # max keeps the first of equals: the systems' order
        dropped: dict[str, dict[str, Any]] = {}
        resampled: dict[str, np.ndarray] = {}
        if self.tested(k) and len(self._alive) > 1:
            seed = _look_seed(self.seed, k)
            draws: list[np.ndarray] = []

            def f1s(name: str) -> np.ndarray:
                key = (name, n, seed)
                if self._cache is not None and key in self._cache:
                    return self._cache[key]
                if not draws:
                    draws.append(resamples(n, self.resamples, seed))
                value = resampled_f1(counts[name], draws[0])
                if self._cache is not None:
                    self._cache[key] = value
                return value

            resampled = {name: f1s(name) for name in self._alive}
            p = {c: float(np.mean(resampled[leader] <= resampled[c])) for c in self._alive if c != leader}
            dropped = self._drops(k, leader, p)
        for name, why in dropped.items():
            self._alive.remove(name)
            self._history.append({"round": k, "sentences": n, "dropped": name, "leader": leader, **why})
        why_end: str | None = None
        if len(self._alive) == 1:
            why_end = ONE_LEFT
        elif n >= self.n_sentences or k >= self.rounds:
            why_end = EXHAUSTED
        elif self.delta > 0 and resampled and len(self._alive) > 1:
            p_equivalent = self._equivalence(k, leader, resampled)
            if p_equivalent is not None:
                why_end = f"every survivor within {self.delta:g} F1 of the leader"
                self._history.append({"round": k, "sentences": n, "dropped": None, "leader": leader,
                                      "against": leader, "p": p_equivalent,
                                      "level": self.level(k, len(self._alive) - 1), "why": why_end})
        if why_end is not None:
            self._finished = True
            if why_end in (ONE_LEFT, EXHAUSTED):
                self._history.append({"round": k, "sentences": n, "dropped": None, "leader": leader,
                                      "against": None, "p": None, "level": None, "why": why_end})
        return Look(k, n, leader, dropped, self._finished, why_end, f1)

    def _drops(self, k: int, leader: str, p: Mapping[str, float]) -> dict[str, dict[str, Any]]:
        order = sorted(p, key=lambda c: (p[c], self.systems.index(c)))
        dropped: dict[str, dict[str, Any]] = {}
        if self.method == DEFAULT_METHOD:
            share = len(self._alive)  # Holm over "i is a best", the leader counted
            for c in order:
                level = self.level(k, share)
                if p[c] > level:
                    break
                dropped[c] = {"against": leader, "p": p[c], "level": level, "why": "worse than the leader"}
                share -= 1
        else:
            level = self.level(k, 1)
            for c in order:
                if p[c] <= level:
                    dropped[c] = {"against": leader, "p": p[c], "level": level, "why": "worse than the leader"}
        return dropped

    def _equivalence(self, k: int, leader: str, resampled: Mapping[str, np.ndarray]) -> float | None:
        """The largest two-one-sided-tests p over the survivors if all are
        within δ of the leader at this look's level, else None."""
        # A leader whose F1 no resample moves (no true positive yet, say) tells nothing about the
        # split: every survivor would look identical to it with certainty.
        if float(np.ptp(resampled[leader])) == 0.0:
            return None
        others = [c for c in self._alive if c != leader]
        level = self.level(k, len(others))
        worst = 0.0
        for c in others:
            d = resampled[leader] - resampled[c]
            p = max(float(np.mean(d >= self.delta)), float(np.mean(d <= -self.delta)))
            if p > level:
                return None
            worst = max(worst, p)
        return worst


@dataclass(frozen=True)
class ReplayResult:
    """A race replayed on published predictions. `answered`: sentences each
    system was asked before it stopped; `dropped`: system → round, sentences,
    against, p, level."""

    answered: dict[str, int]
    winner: str
    why: str
    dropped: dict[str, dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)

    def requests(self, cost: Mapping[str, float] | None = None) -> float:
        """Requests spent: sentences answered × each system's requests per
        sentence (1 unless `cost` says otherwise, e.g. a per-type format)."""
        return float(sum(n * (1.0 if cost is None else cost[s]) for s, n in self.answered.items()))


def replay(counts_full: Mapping[str, Counts], order: Sequence[int] | np.ndarray, rounds: int = 10,
           alpha: float = 0.05, delta: float = 0.0, method: str = "default", seed: int = 0,
           resamples: int = RESAMPLES, min_sentences: int = MIN_SENTENCES,
           cache: MutableMapping[tuple[str, int, int], np.ndarray] | None = None) -> ReplayResult:
    """Race `counts_full` (each system's counts on the whole split, in the
    split's order) as if its sentences were answered in `order`, without a
    model call. Replays of the same order and seed may share `cache` (the
    bootstrap of each prefix is the same whatever the method)."""
    index = np.asarray(order, dtype=np.int64)
    arrays = {name: _arrays(counts) for name, counts in counts_full.items()}
    for name, a in arrays.items():
        if len(a[0]) != len(index) or len(a[1]) != len(index) or len(a[2]) != len(index):
            raise ValueError(f"{name}: counts and order must cover the same sentences")
    if sorted(index.tolist()) != list(range(len(index))):
        raise ValueError("order must be a permutation of the split's sentences")
    race = Race(list(counts_full), len(index), rounds, alpha, delta, method, seed, resamples, min_sentences)
    race._cache = cache
    answered: dict[str, int] = {}
    dropped: dict[str, dict[str, Any]] = {}
    look: Look | None = None
    while not race.finished:
        n = race.round_end(race._round + 1)
        prefix = index[:n]
        look = race.look({name: {key: a[prefix] for key, a in zip(_KEYS, arrays[name])}  # type: ignore[misc]
                          for name in race.alive})
        for name, why in look.dropped.items():
            answered[name] = n
            dropped[name] = {"round": look.round, "sentences": n, **why}
    assert look is not None
    survivors = race.alive
    for name in survivors:
        answered[name] = look.sentences
    winner = max(survivors, key=lambda s: look.f1[s])
    return ReplayResult({s: answered[s] for s in counts_full}, winner, look.why or EXHAUSTED, dropped, race.history)
