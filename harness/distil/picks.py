"""Which silver sentences a person reviews next: the one place that picks
them, for `nerbench train --budget`, the active loop and `review export`.

- `random`: k of them at random (seeded).
- `disagreement`: the k where the teacher's members disagree most (1 − mean
  pairwise span F1), ties broken at random with the seed: there the silver
  is noisiest, so its gold replaces the most wrong labels.
- `doubt`: the k the student is least sure of (`Student.doubt`): there it
  learns the most from a label (uncertainty sampling).
- `hybrid`: the k best by the mean of the two ranks (doubt's and
  disagreement's), ties at random. Reviewing a sentence buys two things at
  once when the student trains on silver for the rest: a label where the
  student is unsure and the removal of silver that is probably wrong. The
  teachers are noisiest where the student doubts, so a sentence high on both
  is worth most; a mean of ranks needs no scale shared by the two scores.

Sentences in `exclude` (reviewed already) are never picked again."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from nerbench.bases import Student
from nerbench.distil.silver import SilverSentence
from nerbench.errors import NerbenchError

STRATEGIES = ("random", "disagreement", "doubt", "hybrid")
#: the strategies that ask a trained student
NEEDS_STUDENT = ("doubt", "hybrid")


def pick(strategy: str, silver_sentences: Sequence[SilverSentence], k: int, seed: int,
         student: Student | None = None, exclude: Collection[str] = ()) -> list[str]:
    """The ids of the `k` silver sentences to review next, sorted, none of
    them in `exclude`; `student` (loaded) for `doubt` and `hybrid`."""
    if strategy not in STRATEGIES:
        raise NerbenchError(f"--pick {strategy!r} is not one of {', '.join(STRATEGIES)}")
    left = [s for s in silver_sentences if s.sentence.id not in exclude]
    if not 0 < k <= len(left):
        raise NerbenchError(f"--budget {k}: between 1 and the {len(left)} silver sentences not reviewed yet")
    rng = random.Random(seed)
    if strategy == "random":
        return sorted(s.sentence.id for s in rng.sample(left, k))
    # One draw per sentence, before any model is asked: the same seed breaks ties the same way.
    tiebreak = [rng.random() for _ in left]
    score = [_ranks([-_disagreement(s) for s in left])] if strategy != "doubt" else []
    if strategy in NEEDS_STUDENT:
        score.append(_ranks([-d for d in _doubts(student, left, strategy)]))
    order = sorted(range(len(left)), key=lambda i: (sum(r[i] for r in score), tiebreak[i]))
    return sorted(left[i].sentence.id for i in order[:k])


def _disagreement(silver: SilverSentence) -> float:
    if silver.disagreement is None:
        raise NerbenchError("--pick disagreement needs a silver annotated by an ensemble (its members' "
                            "disagreement per sentence); this one has one member")
    return silver.disagreement


def _doubts(student: Student | None, left: Sequence[SilverSentence], strategy: str) -> list[float]:
    if student is None:
        raise NerbenchError(f"--pick {strategy} needs a trained student to say its doubt")
    if not type(student).doubts:
        raise NerbenchError(f"--pick {strategy}: student {type(student).__name__} does not say its doubt; "
                            "pick random or disagreement")
    return student.doubt([s.sentence for s in left])


def _ranks(values: Sequence[float]) -> list[float]:
    """Rank of each value, smallest first, ties sharing their mean rank (so
    a tie in one score is left to the other score, then to the seed)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for j in range(start, end + 1):
            ranks[order[j]] = (start + end) / 2
        start = end + 1
    return ranks
