"""When the active loop stops paying the LLM: after each round the student
is compared with its teacher on the same labelled dev sentences.

- **Not worse than the teacher by more than δ**: a non-inferiority test by
  the paired bootstrap over the dev sentences (`nerbench.score.bootstrap`):
  H0 is "the teacher's F1 exceeds the student's by δ or more", p = the share
  of resamples in which it does. Looking after every round would spend α
  again each time, so α is spent over the planned rounds by the racing
  machinery's Lan–DeMets Pocock-type function (`nerbench.score.racing.spending`)
  and round k is tested at the increment spending(k/R) − spending((k−1)/R).
  The looks here are not a statistic on a growing sample (the dev sentences
  are the same each round, the student changes), so racing's boundaries
  under the √(n_j/n_k) correlation do not apply; the increments add up to α
  by the union bound whatever the correlation: the chance that the loop
  ever says "not worse" while the student is worse by δ or more is ≤ α.
- **No gain**: the student's dev F1 has not risen above the upper end of
  the best earlier round's 95% interval for `patience` rounds: more review
  of this kind is not buying measurable progress (a heuristic, no error
  rate claimed). The loop ends, but the student is not declared a match
  for its teacher: the verdict says to keep the teacher. Only the first
  stop says the LLM can go — with a strong teacher and a 50-sentence dev
  sample, "no gain" fired in every replayed run while the student was far
  below (leaderboards/pt-loop, the stress case).
- Else "go on".

`Decision.outcome` says which: "student" (stop paying the LLM), "teacher"
(stop reviewing, keep the teacher) or "go on"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nerbench.score.bootstrap import RESAMPLES, Counts, f1_interval, resampled_f1, resamples
from nerbench.score.prf import prf
from nerbench.score.racing import spending

GO_ON = "go on"
NOT_WORSE = "stop: the student is not worse than the teacher by more than {delta:g} F1 (p = {p:.4f})"
NO_GAIN = ("stop reviewing: no gain beyond its interval for {patience} rounds, and the student is not shown within "
           "{delta:g} F1 of its teacher (p = {p:.4f}): keep the teacher")
#: Decision.outcome: the student replaces the teacher, the teacher stays, or the loop goes on
STUDENT, TEACHER = "student", "teacher"


@dataclass(frozen=True)
class Rule:
    """The stopping rule's settings: margin `delta` (F1, 0–1), the error
    `alpha` spent over `rounds` planned rounds, `patience` rounds without a
    gain, bootstrap `resamples` and `seed`."""

    delta: float = 0.05
    alpha: float = 0.05
    rounds: int = 8
    patience: int = 3
    resamples: int = RESAMPLES
    seed: int = 0

    def level(self, round_: int) -> float:
        """The α round `round_` (1-based) may spend; 0 past the planned rounds."""
        if not 1 <= round_ <= self.rounds:
            return 0.0
        return spending(self.alpha, round_ / self.rounds) - spending(self.alpha, (round_ - 1) / self.rounds)


@dataclass(frozen=True)
class Decision:
    """What the rule said after one round, JSON-ready via `to_json`."""

    round: int
    verdict: str
    stop: bool
    p: float
    level: float
    student_f1: float
    teacher_f1: float
    student_interval: tuple[float, float]
    outcome: str = GO_ON

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _f1(counts: Counts) -> float:
    return float(prf(*(int(np.sum(counts[k])) for k in ("tp", "predicted", "gold")))[2])


def non_inferiority_p(student: Counts, teacher: Counts, delta: float, n: int = RESAMPLES, seed: int = 0) -> float:
    """Paired bootstrap p of "the teacher beats the student by `delta` F1 or
    more": small means the student is not worse than that."""
    size = len(student["tp"])
    if size != len(teacher["tp"]):
        raise ValueError("the student and the teacher must be scored on the same sentences")
    if size == 0:
        return 1.0
    draws = resamples(size, n, seed)
    return float(np.mean(resampled_f1(teacher, draws) - resampled_f1(student, draws) >= delta))


def decide(rule: Rule, round_: int, student: Counts, teacher: Counts, earlier: Sequence[Decision] = ()) -> Decision:
    """The rule after round `round_` (1-based): `student` and `teacher` are
    per-sentence counts on the same dev sentences; `earlier` the decisions
    of rounds 1 … round_ − 1, in order."""
    p = non_inferiority_p(student, teacher, rule.delta, rule.resamples, rule.seed)
    level = rule.level(round_)
    f1 = _f1(student)
    interval = f1_interval(student, n=rule.resamples, seed=rule.seed)
    if p <= level:
        outcome, verdict = STUDENT, NOT_WORSE.format(delta=rule.delta, p=p)
    elif _no_gain([*(d.student_f1 for d in earlier), f1], [*(d.student_interval for d in earlier), interval],
                  rule.patience):
        outcome, verdict = TEACHER, NO_GAIN.format(patience=rule.patience, delta=rule.delta, p=p)
    else:
        outcome, verdict = GO_ON, GO_ON
    return Decision(round_, verdict, outcome != GO_ON, p, level, f1, _f1(teacher), interval, outcome)


def _no_gain(f1s: Sequence[float], intervals: Sequence[tuple[float, float]], patience: int) -> bool:
    """Whether none of the last `patience` rounds rose above the upper end of
    the best earlier round's interval."""
    if patience < 1 or len(f1s) <= patience:
        return False
    before = max(range(len(f1s) - patience), key=lambda i: f1s[i])
    return max(f1s[-patience:]) <= intervals[before][1]
