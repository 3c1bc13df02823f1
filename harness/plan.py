"""Expand a config into jobs: backend×model × dataset:split × prompt format."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from .bases import Dataset, PromptFormat
from .config import RunConfig
from .errors import NerbenchError
from .registry import Registry
from .types import Sentence


@dataclass(frozen=True)
class Job:
    backend: str
    kind: str
    model: str
    dataset: str
    split: str
    format: str

    @property
    def system(self) -> str:
        return f"{self.backend}/{self.model}/{self.format}"


@dataclass
class Plan:
    jobs: list[Job]
    sentences: dict[tuple[str, str], list[Sentence]]
    datasets: dict[str, Dataset]
    formats: dict[str, PromptFormat]
    format_options: dict[str, dict[str, Any]]

    def requests_per_job(self, job: Job) -> int:
        fmt = self.formats[job.format]
        dataset = self.datasets[job.dataset]
        return sum(
            len(fmt.render(s, dataset.labels, dataset.language))
            for s in self.sentences[(job.dataset, job.split)]
        )


def load_sentences(dataset: Dataset, split: str, limit: int | None) -> list[Sentence]:
    if split not in dataset.splits:
        raise NerbenchError(f"dataset {dataset.id!r} has no split {split!r}; splits: {', '.join(dataset.splits)}")
    return list(islice(dataset.sentences(split), limit))


def make_plan(config: RunConfig, registry: Registry, limit: int | None = None) -> Plan:
    """Resolve every name (with did-you-mean errors) and load the sentences."""
    for backend in config.backends:
        registry.get("backends", backend["kind"])
    datasets: dict[str, Dataset] = {}
    sentences: dict[tuple[str, str], list[Sentence]] = {}
    for entry in config.datasets:
        dataset = registry.get("datasets", entry["id"])
        datasets[dataset.id] = dataset
        n = limit or entry.get("limit") or config.run.get("limit")
        for split in entry["splits"]:
            sentences[(dataset.id, split)] = load_sentences(dataset, split, n)
    formats = {}
    options = {}
    for entry in config.formats:
        cls = registry.get("prompt_formats", entry["name"])
        options[entry["name"]] = {k: v for k, v in entry.items() if k != "name"}
        formats[entry["name"]] = cls(**options[entry["name"]])
    jobs = [
        Job(b["name"], b["kind"], model, d["id"], split, f["name"])
        for b in config.backends
        for model in b["models"]
        for d in config.datasets
        for split in d["splits"]
        for f in config.formats
    ]
    return Plan(jobs, sentences, datasets, formats, options)
