"""Expand a config into jobs: backend×model × dataset:split × prompt format."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from nerbench.bases import Dataset, PromptFormat
from nerbench.config.load import RunConfig
from nerbench.errors import NerbenchError
from nerbench.config.options import check_options
from nerbench.plan.checks import check_config, lookup
from nerbench.plan.prompting import DEMO_OPTIONS, DemoPool, load_templates
from nerbench.plugins.manager import Registry
from nerbench.types import Prompt, Sentence


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


def make_format(registry: Registry, entry: dict[str, Any], base: Path, source: str = "config",
                field: str = "format") -> FormatSpec:
    """A configured format: its options checked against what it declares,
    template files read, demonstration options taken out for nerbench."""
    name = entry["name"]
    try:
        cls = registry.get("prompt_formats", name)
        options = load_templates({k: v for k, v in entry.items() if k not in ("name", "alias")}, base)
    except NerbenchError as exc:
        raise NerbenchError(f"{source}: field {field}: {exc}") from None
    core = {k: options.pop(k) for k in DEMO_OPTIONS if k in options}
    check_options(cls, options, source, field, f"prompt format {name!r}")
    try:
        instance = cls(**options)
    except (TypeError, NerbenchError) as exc:
        raise NerbenchError(f"{source}: field {field}: format {name!r}: {exc}") from None
    return FormatSpec(name, instance, {**core, **options}, **core)


def make_plan(config: RunConfig, registry: Registry, limit: int | None = None) -> Plan:
    """Check everything a config names (with did-you-mean errors naming the
    field), then load the sentences and expand the jobs."""
    check_config(config, registry)
    source = str(config.path)
    formats: dict[str, FormatSpec] = {}
    for i, entry in enumerate(config.formats):
        alias = entry.get("alias", entry["name"])
        if alias in formats:
            raise NerbenchError(f"{source}: field format[{i}]: {alias!r} is configured twice; "
                                "give one an alias = \"...\" (the name its systems carry)")
        formats[alias] = make_format(registry, entry, config.path.parent, source, f"format[{i}]")
    datasets: dict[str, Dataset] = {}
    sentences: dict[tuple[str, str], list[Sentence]] = {}
    pools: dict[tuple[str, str], DemoPool] = {}
    for i, entry in enumerate(config.datasets):
        field = f"dataset[{i}]"
        dataset = lookup(config, registry, "datasets", entry["id"], f"{field}.id")
        if dataset.id in datasets:
            raise NerbenchError(f"{source}: field {field}: dataset {dataset.id!r} is configured twice; "
                                "list its splits in one [[dataset]]")
        datasets[dataset.id] = dataset
        for j, split in enumerate(entry["splits"]):
            if split not in dataset.splits:
                raise NerbenchError(f"{source}: field {field}.splits[{j}]: dataset {dataset.id!r} has no split "
                                    f"{split!r}; splits: {', '.join(dataset.splits)}")
        if config.ensemble is not None:
            # Ensembles are chosen on a small labelled dev sample of each dataset.
            dev_split = config.ensemble.get("dev_split", "dev")
            if dev_split in entry["splits"]:
                raise NerbenchError(f"{source}: field {field}.splits: {dev_split!r} is the ensemble dev split "
                                    f"of {dataset.id!r}; do not evaluate on it")
            if dev_split not in dataset.splits:
                raise NerbenchError(f"{source}: field ensemble.dev_split: dataset {dataset.id!r} has no split "
                                    f"{dev_split!r}; splits: {', '.join(dataset.splits)}")
        evaluated = set(entry["splits"]) | ({config.ensemble.get("dev_split", "dev")} if config.ensemble else set())
        for spec_i, spec in enumerate(formats.values()):
            if not spec.shots:
                continue
            if spec.demo_split in evaluated:
                raise NerbenchError(
                    f"{source}: field format[{spec_i}].demo_split: demonstrations come from split "
                    f"{spec.demo_split!r}, which {dataset.id!r} is evaluated on; set demo_split to another split"
                )
            if spec.demo_split not in dataset.splits:
                raise NerbenchError(f"{source}: field format[{spec_i}].demo_split: dataset {dataset.id!r} has no "
                                    f"split {spec.demo_split!r}; splits: {', '.join(dataset.splits)}")
    for entry in config.datasets:
        dataset = datasets[entry["id"]]
        n = limit or entry.get("limit") or config.run.get("limit")
        for split in entry["splits"]:
            sentences[(dataset.id, split)] = load_sentences(dataset, split, n)
        if config.ensemble is not None:
            dev_split = config.ensemble.get("dev_split", "dev")
            dev_limit = config.ensemble.get("dev_limit", 100)
            sentences[(dataset.id, dev_split)] = load_sentences(dataset, dev_split, dev_limit)
        for spec in formats.values():
            if spec.shots and (dataset.id, spec.demo_split) not in pools:
                pools[(dataset.id, spec.demo_split)] = DemoPool(load_sentences(dataset, spec.demo_split, None))
    jobs = [
        Job(b["name"], b["kind"], ref.name, ref.id, dataset_id, split, alias)
        for b in config.backends
        for ref in config.models[b["name"]]
        for dataset_id, split in sentences
        for alias in formats
    ]
    return Plan(jobs, sentences, datasets, formats, pools)
