"""Built-in combiners: voting, weighted voting, per-type selection, and the
LLM-judged pipelines (llm-judge, el4ner) with their question kit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerbench import api

from .judged import El4nerCombiner, LlmJudgeCombiner
from .voting import (
    IntersectionCombiner,
    MajorityCombiner,
    PerTypeCombiner,
    UnionCombiner,
    VoteCombiner,
    WeightedCombiner,
)


@api.hookimpl
def register_combiners(register: Callable[[str, Any], None]) -> None:
    register("majority", MajorityCombiner)
    register("vote", VoteCombiner)
    register("union", UnionCombiner)
    register("intersection", IntersectionCombiner)
    register("weighted", WeightedCombiner)
    register("per-type", PerTypeCombiner)
    register("llm-judge", LlmJudgeCombiner)
    register("el4ner", El4nerCombiner)
