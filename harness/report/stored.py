"""`nerbench score`: stored predictions files scored against a split's gold,
without any backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nerbench.combine.offline import split_answers
from nerbench.plugin_system.manager import Registry
from nerbench.score.coverage import covered
from nerbench.score.strict import score


def score_files(registry: Registry, gold: str, files: list[Path], limit: int | None, rule: str,
                everything: bool = False) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each system's scores in `files` against `gold` ("ID:SPLIT"), on the
    sentences of its first `limit` that the files answer (all of them with
    `everything`; where a system lacks a sentence another answered, it
    predicts nothing there); and notes for the user."""
    _, _, sentences, systems = split_answers(registry, gold, files, "--gold")
    notes = []
    if limit is not None and limit < len(sentences):
        scored_ids = {s.id for s in sentences[:limit]}
        later = sum(sid not in scored_ids for preds in systems.values() for sid in preds)
        if later:
            notes.append(f"--limit {limit}: {later} prediction lines about later sentences of {gold} are not scored")
    coverage = covered(sentences[:limit], systems, everything)
    notes += [note for note in [coverage.note(gold, everything)] if note]
    return {name: score(coverage.sentences, preds, rule) for name, preds in sorted(systems.items())}, notes
