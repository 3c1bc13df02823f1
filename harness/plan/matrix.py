"""Expand a config into jobs: backend×model × dataset:split × prompt format."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from nerbench.bases import Dataset, PromptFormat
from nerbench.config.options import check_options
from nerbench.config.settings import (DEFAULT_DEMO_SPLIT, DEFAULT_DEMOS, DEMO_OPTIONS, FormatEntry, RaceSettings,
                                      RunConfig)
from nerbench.errors import NerbenchError
from nerbench.plan.checks import check_config, lookup
from nerbench.plan.demos import DemoPool
from nerbench.templates import load_templates
from nerbench.plugin_system.manager import Registry
from nerbench.records import Prompt, Sentence


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
    demos: str = DEFAULT_DEMOS
    demo_split: str = DEFAULT_DEMO_SPLIT
    demo_seed: int = 0


@dataclass
class Plan:
    jobs: list[Job]
    sentences: dict[tuple[str, str], list[Sentence]]
    datasets: dict[str, Dataset]
    formats: dict[str, FormatSpec]
    demo_pools: dict[tuple[str, str], DemoPool] = field(default_factory=dict)
    #: how evaluated splits are raced (None: every system answers every sentence)
    race: RaceSettings | None = None
    #: the (dataset, split)s raced: their sentences are in the race's seeded order
    raced: tuple[tuple[str, str], ...] = ()

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


def make_format(registry: Registry, entry: FormatEntry, base: Path, source: str = "config") -> FormatSpec:
    """A configured format: its options checked against what it declares,
    template files read, demonstration options taken out for nerbench."""
    name, field = entry.name, entry.field
    try:
        cls = registry.get("prompt_formats", name)
        options = load_templates(dict(entry.options), base)
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
    for entry in config.formats:
        if entry.label in formats:
            raise NerbenchError(f"{source}: field {entry.field}: {entry.label!r} is configured twice; "
                                "give one an alias = \"...\" (the name its systems carry)")
        formats[entry.label] = make_format(registry, entry, config.path.parent, source)
    dev_split = config.ensemble.dev_split if config.ensemble is not None else None
    datasets: dict[str, Dataset] = {}
    sentences: dict[tuple[str, str], list[Sentence]] = {}
    pools: dict[tuple[str, str], DemoPool] = {}
    for d in config.datasets:
        field = d.field
        dataset = lookup(config, registry, "datasets", d.id, f"{field}.id")
        if dataset.id in datasets:
            raise NerbenchError(f"{source}: field {field}: dataset {dataset.id!r} is configured twice; "
                                "list its splits in one [[dataset]]")
        datasets[dataset.id] = dataset
        for j, split in enumerate(d.splits):
            if split not in dataset.splits:
                raise NerbenchError(f"{source}: field {field}.splits[{j}]: dataset {dataset.id!r} has no split "
                                    f"{split!r}; splits: {', '.join(dataset.splits)}")
        if dev_split is not None:
            # Ensembles are chosen on a small labelled dev sample of each dataset.
            if dev_split in d.splits:
                raise NerbenchError(f"{source}: field {field}.splits: {dev_split!r} is the ensemble dev split "
                                    f"of {dataset.id!r}; do not evaluate on it")
            if dev_split not in dataset.splits:
                raise NerbenchError(f"{source}: field ensemble.dev_split: dataset {dataset.id!r} has no split "
                                    f"{dev_split!r}; splits: {', '.join(dataset.splits)}")
        evaluated = set(d.splits) | ({dev_split} if dev_split is not None else set())
        for entry in config.formats:
            spec = formats[entry.label]
            if not spec.shots:
                continue
            if spec.demo_split in evaluated:
                raise NerbenchError(
                    f"{source}: field {entry.field}.demo_split: demonstrations come from split "
                    f"{spec.demo_split!r}, which {dataset.id!r} is evaluated on; set demo_split to another split"
                )
            if spec.demo_split not in dataset.splits:
                raise NerbenchError(f"{source}: field {entry.field}.demo_split: dataset {dataset.id!r} has no "
                                    f"split {spec.demo_split!r}; splits: {', '.join(dataset.splits)}")
    raced = []
    for d in config.datasets:
        dataset = datasets[d.id]
        n = limit or d.limit or config.run.limit
        for split in d.splits:
            sentences[(dataset.id, split)] = load_sentences(dataset, split, n)
            if config.run.race is not None:
                if config.run.race.rounds > len(sentences[(dataset.id, split)]):
                    raise NerbenchError(f"{source}: field run.race.rounds: {config.run.race.rounds} rounds over the "
                                        f"{len(sentences[(dataset.id, split)])} sentences of {dataset.id}:{split}; "
                                        "a round needs a sentence at least: give fewer rounds")
                sentences[(dataset.id, split)] = race_order(sentences[(dataset.id, split)], config.run.race.seed,
                                                            dataset.id, split)
                raced.append((dataset.id, split))
        if config.ensemble is not None:
            dev_limit = config.ensemble.dev_limit
            sentences[(dataset.id, config.ensemble.dev_split)] = load_sentences(
                dataset, config.ensemble.dev_split, min(dev_limit, limit or dev_limit))
        for spec in formats.values():
            if spec.shots and (dataset.id, spec.demo_split) not in pools:
                pools[(dataset.id, spec.demo_split)] = DemoPool(load_sentences(dataset, spec.demo_split, None))
    pairs = format_pairs(config, registry, formats)
    jobs = [
        Job(b.name, b.kind, ref.name, ref.id, dataset_id, split, alias)
        for b in config.backends
        for ref in b.models
        for dataset_id, split in sentences
        for alias in pairs[b.name]
    ]
    return Plan(jobs, sentences, datasets, formats, pools, config.run.race, tuple(raced))


def race_order(sentences: list[Sentence], seed: int, dataset: str, split: str) -> list[Sentence]:
    """The sentences a run would evaluate, in a seeded order (the same on
    every machine): every prefix of it is a random sample of them."""
    order = list(sentences)
    random.Random(f"race:{seed}:{dataset}:{split}").shuffle(order)
    return order


def format_pairs(config: RunConfig, registry: Registry, formats: dict[str, FormatSpec]) -> dict[str, list[str]]:
    """Backend → the configured formats (by label) its models are asked in:
    a kind that answers only some formats (a trained student) gets those
    alone, and no other kind gets them. A backend left with none is an error."""
    kinds = {name: registry.get("backends", name) for name in registry.names("backends")}
    claimed = {f for cls in kinds.values() if cls.prompt_formats is not None for f in cls.prompt_formats}
    out = {}
    for b in config.backends:
        own = kinds[b.kind].prompt_formats
        out[b.name] = [label for label, spec in formats.items()
                       if (spec.name in own if own is not None else spec.name not in claimed)]
        if not out[b.name]:
            wanted = f"one of {', '.join(own)}" if own is not None else "one no student kind claims"
            raise NerbenchError(f"{config.path}: field {b.field}: backend kind {b.kind!r} answers no configured "
                                f"prompt format; add a [[format]] with name = {wanted}")
    return out
