"""A raced split (`[run] race`): its systems answer it in rounds over the
seeded order the plan gave its sentences; after each round every system
still in the race is compared with the leader on the sentences all of them
answered, and a system worse with confidence stops being asked. The
statistics, valid under repeated looks, are `nerbench.score.racing`'s;
docs/racing.md says which method and why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nerbench.config.settings import RaceSettings
from nerbench.records import Prediction, Sentence
from nerbench.score.racing import ALONE, Race
from nerbench.score.strict import per_sentence

#: run(job indexes, sentences): ask those jobs about those sentences; returns when all are answered.
RunChunk = Callable[[list[int], Sequence[Sentence]], Awaitable[None]]


async def race_split(sentences: Sequence[Sentence], jobs: list[int], systems: dict[int, str],
                     predictions: Callable[[int], list[Prediction]], settings: RaceSettings, rule: str,
                     run: RunChunk) -> dict[int, dict[str, Any]]:
    """Race `jobs` (indexes, with their system names) over `sentences`;
    return, per job, where it stopped and why (JSON-ready)."""
    race = Race([systems[j] for j in jobs], len(sentences), rounds=settings.rounds, alpha=settings.alpha,
                delta=settings.delta, method=settings.method, seed=settings.seed)
    if len(jobs) < 2:  # a race of one would end at round 1, scoring it on a fifth of its split
        await run(list(jobs), sentences)
        return {j: {"status": "finished", "round": settings.rounds, "sentences": len(sentences), "why": ALONE}
                for j in jobs}
    alive = list(jobs)
    stopped: dict[int, dict[str, Any]] = {}
    done = 0
    for k in range(1, settings.rounds + 1):
        end = race.round_end(k)
        await run(alive, sentences[done:end])
        done = end
        counts = {systems[j]: per_sentence(sentences[:end], {p.sentence_id: p.spans for p in predictions(j)}, rule)
                  for j in alive}
        look = race.look(counts)
        for j in list(alive):
            reason = look.dropped.get(systems[j])
            if reason is not None:
                stopped[j] = {"status": "dropped", "round": k, "sentences": end, **reason}
                alive.remove(j)
        if look.finished or done >= len(sentences):
            for j in alive:
                stopped[j] = {"status": "finished", "round": k, "sentences": end, "why": look.why}
            break
    return stopped
