"""Combiners that ask LLMs: the published three-step pipeline (`llm-judge`)
and the EL4NER variant (`el4ner`). Judges are asked through the run's cache;
what they decide about an index's candidates is kept per index, so subset
search reuses the answers."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar

import numpy as np

from nerbench import api
from nerbench.api import CandidateIndex, Failure, Generation

from .questions import Examples, Questions
from .voting import votes_of


def _state(index: CandidateIndex) -> tuple[str, int]:
    return index.key, len(index.sentences)


def _majority(answers: Sequence[bool | None], voters: int) -> bool:
    """Kept on a strict majority of *yes* answers among all voters (a voter
    that failed or answered neither counts against)."""
    return sum(1 for a in answers if a is True) > voters / 2


def _plurality(picks: Sequence[int | None]) -> int:
    """The most picked option; a tie or no usable pick is 0 (none)."""
    ranked = Counter(p for p in picks if p is not None).most_common()
    return ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else 0


def disjoint_readings(intervals: Sequence[tuple[int, int, int]], k: int) -> list[tuple[int, ...]]:
    """The `k` sets of pairwise-disjoint members covering the most characters.

    `intervals` are (first token, last token + 1, characters) per member;
    a reading is a tuple of member indexes. Every non-empty set of
    non-overlapping members is a reading ("Montes Claros - MG", "Montes
    Claros" + "MG", "Montes Claros"); ties go to fewer members, then earlier
    ones. k-best dynamic programming over members sorted by end, so it stays
    small for long overlap chains."""
    order = sorted(range(len(intervals)), key=lambda i: (intervals[i][1], intervals[i][0], i))

    def rank(reading: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]]:
        return (-sum(intervals[i][2] for i in reading), len(reading), tuple(sorted(reading)))

    best_upto: list[list[tuple[int, ...]]] = []  # top-k readings among the first j+1 members (end order)
    for j, i in enumerate(order):
        first = intervals[i][0]
        before = max((p for p in range(j) if intervals[order[p]][1] <= first), default=-1)
        ending_here = [(i,)] + [tuple(sorted((*r, i))) for r in (best_upto[before] if before >= 0 else [])]
        pool = ending_here + (best_upto[j - 1] if j else [])
        best_upto.append(heapq.nsmallest(k, set(pool), key=rank))
    return best_upto[-1] if best_upto else []


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


class _Judged(api.JudgedCombiner):
    """Options shared by the judged combiners: `judges` ("BACKEND/MODEL"
    names, who does every step unless a step names its own), `examples`
    (yes/no few-shot examples per type in every verification question, from
    `example_split`; 0 = none)."""

    OPTIONS: ClassVar[dict[str, Any]] = {
        "judges": {"type": "array", "items": {"type": "string", "pattern": "^[^/]+/.+$"}, "minItems": 1,
                   "default": []},
        "examples": {"type": "integer", "minimum": 0, "default": 0},
        "example_split": {"type": "string", "minLength": 1, "default": "train"},
        "batch": {"type": "boolean", "default": False,
                  "description": "one yes/no question per sentence listing all its candidates "
                                 "(no few-shot examples) instead of one per candidate"},
    }
    judges: list[str]
    examples: int
    example_split: str
    batch: bool

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        #: (index key, its sentences) → (keep, priority) per candidate; a raced split's ensembles are
        #: evaluated on its first sentences, an index of its own under the same key
        self.decided: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def _who(self, step: str, names: list[str] | None) -> list[str]:
        who = list(names or self.judges)
        if not who:
            raise api.NerbenchError(f"{self._name}: no {step}: give judges = [\"BACKEND/MODEL\", ...] "
                                    f"(or {step} = [...])")
        return who

    _name = "judged combiner"

    def questions(self, index: CandidateIndex, dataset: api.Dataset) -> Questions:
        examples = None
        if self.examples:
            evaluated = index.key.rpartition(":")[2]
            if self.example_split == evaluated:
                raise api.NerbenchError(f"{self._name}: example_split {self.example_split!r} is the split being "
                                        "evaluated; take examples from another split")
            try:
                dataset.check_split(self.example_split)
            except api.NerbenchError as exc:
                raise api.NerbenchError(f"{self._name}: example_split: {exc}") from None
            examples = Examples(dataset.sentences(self.example_split), self.examples)
        return Questions(dataset.language, dataset.labels, examples, index.key)

    def asks(self) -> list[str]:
        return list(self.judges)

    async def verified(self, kit: Questions, index: CandidateIndex, candidates: Sequence[int], voters: list[str],
                       judges: api.Judges) -> list[list[bool | None]]:
        """Each voter's yes/no on each candidate: one question per candidate,
        or (`batch`) one per sentence and voter listing its candidates."""
        ask = Questions.name, Questions.version
        if not self.batch:
            questions = [(voter, kit.verify(*self._spot(index, k))) for k in candidates for voter in voters]
            said = _answers(await judges.ask_all(*ask, questions), kit.decision)
            return [said[i * len(voters):(i + 1) * len(voters)] for i in range(len(candidates))]
        by_sentence: dict[int, list[int]] = {}
        for i, k in enumerate(candidates):
            by_sentence.setdefault(int(index.sent[k]), []).append(i)
        groups = list(by_sentence.items())
        questions = [(voter, kit.verify_all(index.sentences[si], [index.span(candidates[i])[1] for i in members]))
                     for si, members in groups for voter in voters]
        answers = await judges.ask_all(*ask, questions)
        out: list[list[bool | None]] = [[None] * len(voters) for _ in candidates]
        for g, (_, members) in enumerate(groups):
            for v in range(len(voters)):
                answer = answers[g * len(voters) + v]
                said = [None] * len(members) if isinstance(answer, Failure) else kit.decisions(answer, len(members))
                for i, decision in zip(members, said):
                    out[i][v] = decision
        return out

    @staticmethod
    def _spot(index: CandidateIndex, k: int) -> tuple[api.Sentence, api.Span]:
        si, span = index.span(k)
        return index.sentences[si], span

    def decisions(self, index: CandidateIndex) -> tuple[np.ndarray, np.ndarray]:
        if _state(index) not in self.decided:
            raise api.NerbenchError(f"{self._name} runs inside `nerbench run` (it asks models)")
        return self.decided[_state(index)]


def _answers(answers: list[Generation | Failure], read: Any) -> list[Any]:
    return [None if isinstance(a, Failure) else read(a) for a in answers]


class LlmJudgeCombiner(_Judged):
    """The published three-step pipeline. (1) Pool every entity the combined
    systems extracted; (2) each voter answers yes/no about each (mention,
    type), and a strict majority of *yes* keeps it; (3) each group of
    overlapping survivors is put to the disambiguators as its `choices`
    readings covering the most characters — sets of disjoint mentions, e.g.
    "Montes Claros - MG" / "Montes Claros" + "MG" / "Montes Claros" — plus
    "none"; the plurality's reading is kept (ties: none). Options: `voters`,
    `disambiguators` (default: `judges`), `choices` (default 4), and those of
    every judged combiner. Steps 2 and 3 are asked once per index for the
    whole pool, so subset search reuses the answers."""

    _name = "llm-judge"
    OPTIONS: ClassVar[dict[str, Any]] = {
        **_Judged.OPTIONS,
        "voters": _Judged.OPTIONS["judges"],
        "disambiguators": _Judged.OPTIONS["judges"],
        "choices": {"type": "integer", "minimum": 1, "default": 4},
    }
    choices: int

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.voters: list[str] = self._who("voters", options.get("voters"))
        self.disambiguators: list[str] = self._who("disambiguators", options.get("disambiguators"))

    def asks(self) -> list[str]:
        return list(dict.fromkeys([*self.voters, *self.disambiguators]))

    async def judge(self, index: CandidateIndex, dataset: api.Dataset, judges: api.Judges) -> None:
        if _state(index) in self.decided:
            return
        ask = Questions.name, Questions.version
        kit = self.questions(index, dataset)
        n = len(index.sent)
        spans = [index.span(k) for k in range(n)]
        said = await self.verified(kit, index, range(n), self.voters, judges)
        yes = np.zeros(n)
        keep = np.zeros(n, dtype=bool)
        for k in range(n):
            yes[k] = sum(1 for v in said[k] if v is True)
            keep[k] = _majority(said[k], len(self.voters))
        groups = [c for group in index.groups for c in _components(index, [int(k) for k in group if keep[k]])
                  if len(c) > 1]
        readings = [[tuple(g[i] for i in r) for r in disjoint_readings(
            [(int(index.first[k]), int(index.last[k]), int(index.length[k])) for k in g], self.choices)]
            for g in groups]
        chosen_by = await judges.ask_all(*ask, [
            (judge, kit.choose(index.sentences[spans[g[0]][0]], [[spans[k][1] for k in r] for r in options]))
            for g, options in zip(groups, readings) for judge in self.disambiguators
        ])
        n_d = len(self.disambiguators)
        for gi, (members, options) in enumerate(zip(groups, readings)):
            picks = _answers(chosen_by[gi * n_d : (gi + 1) * n_d], partial(kit.choice, n=len(options)))
            winner = _plurality(picks)
            chosen = set(options[winner - 1]) if winner else set()
            for k in members:
                keep[k] = k in chosen
        self.decided[_state(index)] = (keep, yes)

    def select(
        self, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        keep, yes = self.decisions(index)
        pooled = votes_of(index, subsets) > 0
        return pooled & keep[:, None], np.repeat(yes[:, None], len(subsets), axis=1)


class El4nerCombiner(_Judged):
    """The EL4NER variant: (1) the union of the systems' spans, whatever the
    type they gave; (2) each judge types each span (a type or none) and a
    strict majority decides; (3) the judges verify the typed span (yes/no,
    strict majority of yes). Options: those of every judged combiner."""

    _name = "el4ner"
    retypes = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._who("judges", None)

    async def judge(self, index: CandidateIndex, dataset: api.Dataset, judges: api.Judges) -> None:
        if _state(index) in self.decided:
            return
        ask = Questions.name, Questions.version
        kit = self.questions(index, dataset)
        starts = index.range_starts()
        ends = np.append(starts[1:], len(index.sent))
        n_judges = len(self.judges)

        typings = _answers(await judges.ask_all(*ask, [
            (judge, kit.type_of(*self._spot(index, int(a)))) for a in starts for judge in self.judges]), kit.typed)
        chosen: list[int] = []  # the candidate of the majority type, per range
        for r, (a, b) in enumerate(zip(starts, ends)):
            tally = Counter(t for t in typings[r * n_judges : (r + 1) * n_judges] if t is not None)
            label, votes = tally.most_common(1)[0] if tally else (None, 0)
            hit = [k for k in range(a, b) if index.labels[index.label[k]] == label]
            if label and votes > n_judges / 2 and hit:
                chosen.append(hit[0])
        checks = await self.verified(kit, index, chosen, self.judges, judges)
        keep = np.zeros(len(index.sent), dtype=bool)
        yes = np.zeros(len(index.sent))
        for i, k in enumerate(chosen):
            yes[k] = sum(1 for v in checks[i] if v is True)
            keep[k] = _majority(checks[i], n_judges)
        self.decided[_state(index)] = (keep, yes)

    def select(
        self, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        keep, yes = self.decisions(index)
        # A span is pooled when any combined system predicted it, with any type.
        starts = index.range_starts()
        pooled = np.maximum.reduceat(votes_of(index, subsets), starts, axis=0) > 0
        ranges = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(index.sent))))
        return pooled[ranges] & keep[:, None], np.repeat(yes[:, None], len(subsets), axis=1)
