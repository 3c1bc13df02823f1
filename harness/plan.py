"""Expand a config into jobs: backend×model × dataset:split × prompt format."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from .bases import Dataset, PromptFormat
from .config import RunConfig
from .errors import NerbenchError
from .prompting import DEMO_OPTIONS, DemoPool, load_templates
from .registry import Registry
from .types import Prompt, Sentence


@dataclass(frozen=True)
class Job:
    backend: str
    kind: str
    model: str  # the name systems carry
    model_id: str  # what the backend is asked for
    dataset: str
    split: str
    format: str

    @property
    def system(self) -> str:
        return f"{self.backend}/{self.model}/{self.format}"


@dataclass
class FormatSpec:
    """A configured prompt format: the instance, the options recorded in
    results and cache keys, and how demonstrations are chosen."""

    name: str
    instance: PromptFormat
    options: dict[str, Any]
    shots: int = 0
    demos: str = "random"
    demo_split: str = "train"
    demo_seed: int = 0


@dataclass
class Plan:
    jobs: list[Job]
    sentences: dict[tuple[str, str], list[Sentence]]
    datasets: dict[str, Dataset]
    formats: dict[str, FormatSpec]
    demo_pools: dict[tuple[str, str], DemoPool] = field(default_factory=dict)

    def prompts(self, job: Job, sentence: Sentence) -> list[Prompt]:
        spec = self.formats[job.format]
        dataset = self.datasets[job.dataset]
        demos = []
        if spec.shots:
            pool = self.demo_pools[(job.dataset, spec.demo_split)]
            demos = pool.select(sentence, spec.shots, spec.demos, spec.demo_seed)
        return spec.instance.render(sentence, dataset.labels, dataset.language, demos)

    def requests_per_job(self, job: Job) -> int:
        return sum(len(self.prompts(job, s)) for s in self.sentences[(job.dataset, job.split)])


def load_sentences(dataset: Dataset, split: str, limit: int | None) -> list[Sentence]:
    if split not in dataset.splits:
        raise NerbenchError(f"dataset {dataset.id!r} has no split {split!r}; splits: {', '.join(dataset.splits)}")
    return list(islice(dataset.sentences(split), limit))


def make_format(registry: Registry, entry: dict[str, Any], base: Path) -> FormatSpec:
    name = entry["name"]
    cls = registry.get("prompt_formats", name)
    options = load_templates({k: v for k, v in entry.items() if k not in ("name", "alias")}, base)
    core = {k: options.pop(k) for k in DEMO_OPTIONS if k in options}
    try:
        instance = cls(**options)
    except TypeError as exc:
        raise NerbenchError(f"format {name!r}: {exc}") from None
    return FormatSpec(name, instance, {**core, **options}, **core)


def make_plan(config: RunConfig, registry: Registry, limit: int | None = None) -> Plan:
    """Resolve every name (with did-you-mean errors) and load the sentences."""
    for backend in config.backends:
        registry.get("backends", backend["kind"])
    formats: dict[str, FormatSpec] = {}
    for i, entry in enumerate(config.formats):
        alias = entry.get("alias", entry["name"])
        if alias in formats:
            raise NerbenchError(f"{config.path}: format[{i}]: {alias!r} is configured twice; "
                                "give one an alias = \"...\" (the name its systems carry)")
        formats[alias] = make_format(registry, entry, config.path.parent)
    datasets: dict[str, Dataset] = {}
    sentences: dict[tuple[str, str], list[Sentence]] = {}
    pools: dict[tuple[str, str], DemoPool] = {}
    for entry in config.datasets:
        dataset = registry.get("datasets", entry["id"])
        datasets[dataset.id] = dataset
        n = limit or entry.get("limit") or config.run.get("limit")
        for split in entry["splits"]:
            sentences[(dataset.id, split)] = load_sentences(dataset, split, n)
        if config.ensemble is not None:
            # Ensembles are chosen on a small labelled dev sample of each dataset.
            dev_split = config.ensemble.get("dev_split", "dev")
            if dev_split in entry["splits"]:
                raise NerbenchError(f"dataset {dataset.id!r}: {dev_split!r} is the ensemble dev split; do not evaluate on it")
            sentences[(dataset.id, dev_split)] = load_sentences(dataset, dev_split, config.ensemble.get("dev_limit", 100))
        for spec in formats.values():
            if not spec.shots:
                continue
            if spec.demo_split in entry["splits"]:
                raise NerbenchError(
                    f"format {spec.name!r}: demonstrations come from split {spec.demo_split!r}, "
                    f"which {dataset.id!r} is evaluated on; set demo_split to another split"
                )
            if (dataset.id, spec.demo_split) not in pools:
                pools[(dataset.id, spec.demo_split)] = DemoPool(load_sentences(dataset, spec.demo_split, None))
    jobs = [
        Job(b["name"], b["kind"], ref.name, ref.id, dataset_id, split, alias)
        for b in config.backends
        for ref in config.models[b["name"]]
        for dataset_id, split in sentences
        for alias in formats
    ]
    return Plan(jobs, sentences, datasets, formats, pools)
