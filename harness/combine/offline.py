"""What an ensemble needs, by name and from files: combiners from the
registry and their options, candidate indexes from predictions files."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

from nerbench.bases import Combiner
from nerbench.combine.candidates import CandidateIndex, build_index
from nerbench.errors import NerbenchError
from nerbench.files.predictions import group_by_system
from nerbench.plugins.manager import Registry


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


def make_combiner(registry: Registry, name: str, options: dict[str, Any]) -> Combiner:
    cls = registry.get("combiners", name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise NerbenchError(f"combiner {name!r}: {exc}") from None


def load_index(
    registry: Registry, dataset_id: str, split: str, files: list[Path], limit: int | None
) -> CandidateIndex:
    dataset = registry.get("datasets", dataset_id)
    if split not in dataset.splits:
        raise NerbenchError(f"dataset {dataset_id!r} has no split {split!r}; splits: {', '.join(dataset.splits)}")
    sentences = list(dataset.sentences(split))
    systems = group_by_system(files, dataset_id, split, {s.id: s for s in sentences},
                              {label.name for label in dataset.labels})
    return build_index(list(islice(sentences, limit)), systems, key=f"{dataset_id}:{split}")


def combiner_specs(ensemble: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Each configured combiner as (plugin name, label, options). The label
    names its ensembles: `alias` when given, so one combiner can run twice
    with different options (e.g. other judges)."""
    specs: list[tuple[str, str, dict[str, Any]]] = []
    for entry in ensemble.get("combiners", ["majority"]):
        if isinstance(entry, str):
            specs.append((entry, entry, {}))
        else:
            options = {k: v for k, v in entry.items() if k not in ("name", "alias")}
            specs.append((entry["name"], entry.get("alias", entry["name"]), options))
    return specs
