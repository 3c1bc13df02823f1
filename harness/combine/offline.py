"""Ensembles over stored files: combiner options from the command line,
candidate indexes from predictions files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nerbench.index.candidates import CandidateIndex, build_index
from nerbench.errors import NerbenchError
from nerbench.files.predictions import group_by_system
from nerbench.plugin_system.manager import Registry
from nerbench.score.coverage import Coverage, covered


def parse_options(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise NerbenchError(f"--option {pair!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def load_index(
    registry: Registry, dataset_id: str, split: str, files: list[Path], limit: int | None, everything: bool = True
) -> tuple[CandidateIndex, Coverage]:
    """The candidate index of the predictions for `dataset_id:split`, over
    the sentences they answer (all of the first `limit` when `everything`)."""
    dataset = registry.get("datasets", dataset_id)
    if split not in dataset.splits:
        raise NerbenchError(f"dataset {dataset_id!r} has no split {split!r}; splits: {', '.join(dataset.splits)}")
    sentences = list(dataset.sentences(split))
    systems = group_by_system(files, dataset_id, split, {s.id: s for s in sentences},
                              {label.name for label in dataset.labels})
    coverage = covered(sentences[:limit], systems, everything)
    return build_index(coverage.sentences, systems, key=f"{dataset_id}:{split}"), coverage
