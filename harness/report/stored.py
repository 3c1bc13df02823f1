"""`nerbench score`: stored predictions files scored against a split's gold,
without any backend; with `--results`, a results document of them that
`nerbench leaderboard` renders beside any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nerbench.combine.offline import split_answers
from nerbench.errors import NerbenchError
from nerbench.files.predictions import spans_by_system
from nerbench.files.results import read_results, write_document
from nerbench.plugin_system.manager import Registry
from nerbench.report.results import stored_results
from nerbench.score.coverage import covered
from nerbench.score.strict import score


def score_files(registry: Registry, gold: str, files: list[Path], limit: int | None, rule: str,
                everything: bool = False, results: Path | None = None) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each system's scores in `files` against `gold` ("ID:SPLIT"), on the
    sentences of its first `limit` that the files answer (all of them with
    `everything`; where a system lacks a sentence another answered, it
    predicts nothing there); and notes for the user. With `results`, the
    results document of those systems (`stored_results`) is written there
    and the scores are its entries' metrics."""
    if results is not None:
        check_replaceable(results)
    sources: dict[str, Path] = {}
    dataset, split, sentences, systems = split_answers(registry, gold, files, "--gold", sources)
    notes = []
    if limit is not None and limit < len(sentences):
        scored_ids = {s.id for s in sentences[:limit]}
        later = sum(sid not in scored_ids for preds in systems.values() for sid in preds)
        if later:
            notes.append(f"--limit {limit}: {later} prediction lines about later sentences of {gold} are not scored")
    coverage = covered(sentences[:limit], systems, everything)
    notes += [note for note in [coverage.note(gold, everything)] if note]
    if results is None:
        return {name: score(coverage.sentences, preds, rule)
                for name, preds in sorted(spans_by_system(systems).items())}, notes
    doc = stored_results(registry, dataset, split, coverage.sentences, systems, sources, rule)
    write_document(results, doc)
    return {entry["system"]: entry["metrics"] for entry in doc["systems"]}, notes


def check_replaceable(path: Path) -> None:
    """`path` is free for `score --results`: missing, or a results file of
    stored predictions (one that `score --results` writes). A run's results,
    a predictions file or any other file is another job's, never replaced."""
    if not path.exists():
        return
    try:
        systems = read_results(path)["systems"]
    except NerbenchError:
        systems = []
    if not systems or not all("predictions" in s and "backend" not in s for s in systems):
        raise NerbenchError(f"{path}: --results would replace a file that is not a results file of stored "
                            "predictions (`nerbench score --results` writes those); give another path")
