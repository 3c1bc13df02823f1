"""Expand a config into jobs: backend×model × dataset:split × prompt format."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nerbench.bases import Dataset, PromptFormat
from nerbench.config.load import with_overrides
from nerbench.config.settings import (DEFAULT_DEMO_SPLIT, DEFAULT_DEMOS, DEMO_OPTIONS, FormatEntry, RaceSettings,
                                      RunConfig)
from nerbench.data.manifest import ManifestDataset
from nerbench.data.sample import dev_sample_size, evaluated, first, sample_limit
from nerbench.errors import NerbenchError
from nerbench.plan.checks import check_config, find_dataset
from nerbench.plan.demos import DemoPool
from nerbench.prompt_templates import load_templates
from nerbench.plugin_system.factory import Where, make
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
    format_label: str  # the format's alias, else its plugin name: what systems carry

    @property
    def system(self) -> str:
        return f"{self.backend}/{self.model}/{self.format_label}"


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
    #: the limit each split's sample was taken with (None: the whole split); results record it
    limits: dict[tuple[str, str], int | None] = field(default_factory=dict)

    def prompts(self, job: Job, sentence: Sentence) -> list[Prompt]:
        spec = self.formats[job.format_label]
        dataset = self.datasets[job.dataset]
        demos = []
        if spec.shots:
            pool = self.demo_pools[(job.dataset, spec.demo_split)]
            demos = pool.select(sentence, spec.shots, spec.demos, spec.demo_seed)
        return spec.instance.render(sentence, dataset.labels, dataset.language, demos)

    def requests_per_job(self, job: Job) -> int:
        return sum(len(self.prompts(job, s)) for s in self.sentences[(job.dataset, job.split)])


def register_config_datasets(config: RunConfig, registry: Registry) -> None:
    """The extra manifests `[run] registry` names, registered as datasets."""
    for path in config.registry_files:
        registry.add_dataset(ManifestDataset.from_file(path), f"manifest {path}")


def make_format(registry: Registry, entry: FormatEntry, base: Path, source: str = "config") -> FormatSpec:
    """A configured format: its template files read, demonstration options
    taken out for nerbench, the rest checked and given to the plugin."""
    name, where = entry.name, Where(source, entry.field)
    try:
        options = load_templates(dict(entry.options), base)
    except NerbenchError as exc:
        raise NerbenchError(f"{where}: {exc}") from None
    core = {k: options.pop(k) for k in DEMO_OPTIONS if k in options}
    instance = make(registry, "prompt_formats", name, options, where)
    return FormatSpec(name, instance, {**core, **options}, **core)


def make_formats(config: RunConfig, registry: Registry) -> dict[str, FormatSpec]:
    """Every configured format, by the label its systems carry."""
    source = str(config.path)
    formats: dict[str, FormatSpec] = {}
    for entry in config.formats:
        if entry.label in formats:
            raise NerbenchError(f"{source}: field {entry.field}: {entry.label!r} is configured twice; "
                                "give one an alias = \"...\" (the name its systems carry)")
        formats[entry.label] = make_format(registry, entry, config.path.parent, source)
    return formats


def demo_pools(datasets: dict[str, Dataset], formats: dict[str, FormatSpec], exclude: Collection[str] = ()
               ) -> tuple[dict[tuple[str, str], DemoPool], set[tuple[str, str]]]:
    """The demonstration pool of each (dataset, demo split) a few-shot format
    draws from, none holding a text of `exclude`; and the (split, text) of
    each pool sentence that exclusion removed."""
    pools: dict[tuple[str, str], DemoPool] = {}
    removed: set[tuple[str, str]] = set()
    for dataset in datasets.values():
        for spec in formats.values():
            if spec.shots and (dataset.id, spec.demo_split) not in pools:
                source = first(dataset, spec.demo_split, None)
                pool = pools[(dataset.id, spec.demo_split)] = DemoPool(source, exclude)
                if exclude:
                    kept = set(map(id, pool.sentences))
                    removed |= {(spec.demo_split, s.text) for s in DemoPool(source).sentences if id(s) not in kept}
    return pools, removed


def make_jobs(config: RunConfig, registry: Registry, formats: dict[str, FormatSpec],
              splits: Collection[tuple[str, str]], systems: Collection[str] | None = None) -> list[Job]:
    """backend×model × (dataset, split) × each format the backend answers;
    only the named `systems` when given (each must be one of the config's)."""
    pairs = format_pairs(config, registry, formats)
    jobs = [Job(b.name, b.kind, ref.name, ref.id, dataset_id, split, alias)
            for b in config.backends for ref in b.models for dataset_id, split in splits for alias in pairs[b.name]]
    if systems is None:
        return jobs
    known = {job.system for job in jobs}
    unknown = [s for s in systems if s not in known]
    if unknown:
        raise NerbenchError(f"{unknown[0]!r} is not a system of {config.path} ({', '.join(sorted(known))})")
    return [job for job in jobs if job.system in systems]


def check_datasets(config: RunConfig, registry: Registry, formats: dict[str, FormatSpec]) -> dict[str, Dataset]:
    """The configured datasets, each named once; their splits, the ensemble's
    dev split and the demonstrations' split checked against what each has."""
    source = str(config.path)
    dev_split = config.ensemble.dev_split if config.ensemble is not None else None
    datasets: dict[str, Dataset] = {}
    for d in config.datasets:
        field = d.field
        dataset = find_dataset(config, registry, d.id, f"{field}.id")
        if dataset.id in datasets:
            raise NerbenchError(f"{source}: field {field}: dataset {dataset.id!r} is configured twice; "
                                "list its splits in one [[dataset]]")
        datasets[dataset.id] = dataset
        for j, split in enumerate(d.splits):
            _named(dataset, split, f"{source}: field {field}.splits[{j}]")
        if dev_split is not None:
            # Ensembles are chosen on a small labelled dev sample of each dataset.
            if dev_split in d.splits:
                raise NerbenchError(f"{source}: field {field}.splits: {dev_split!r} is the ensemble dev split "
                                    f"of {dataset.id!r}; do not evaluate on it")
            _named(dataset, dev_split, f"{source}: field ensemble.dev_split")
        evaluated_splits = set(d.splits) | ({dev_split} if dev_split is not None else set())
        for entry in config.formats:
            spec = formats[entry.label]
            if not spec.shots:
                continue
            if spec.demo_split in evaluated_splits:
                raise NerbenchError(
                    f"{source}: field {entry.field}.demo_split: demonstrations come from split "
                    f"{spec.demo_split!r}, which {dataset.id!r} is evaluated on; set demo_split to another split"
                )
            _named(dataset, spec.demo_split, f"{source}: field {entry.field}.demo_split")
    return datasets


def _named(dataset: Dataset, split: str, where: str) -> None:
    try:
        dataset.check_split(split)
    except NerbenchError as exc:
        raise NerbenchError(f"{where}: {exc}") from None


def make_plan(config: RunConfig, registry: Registry, limit: int | None = None) -> Plan:
    """Check everything a config names (with did-you-mean errors naming the
    field), then load the sentences and expand the jobs. `limit` is
    `--limit` (see `config.load.with_overrides`)."""
    if limit is not None:
        config = with_overrides(config, limit)
    check_config(config, registry)
    formats = make_formats(config, registry)
    datasets = check_datasets(config, registry, formats)
    race = config.run.race
    sentences: dict[tuple[str, str], list[Sentence]] = {}
    limits: dict[tuple[str, str], int | None] = {}
    raced = []
    for d in config.datasets:
        dataset = datasets[d.id]
        for split in d.splits:
            key = (dataset.id, split)
            limits[key] = sample_limit(d.limit, config.run.limit)
            sentences[key] = evaluated(dataset, split, limits[key], race.seed if race is not None else None)
            if race is not None:
                if race.rounds > len(sentences[key]):
                    raise NerbenchError(f"{config.path}: field run.race.rounds: {race.rounds} rounds over the "
                                        f"{len(sentences[key])} sentences of {dataset.id}:{split}; "
                                        "a round needs a sentence at least: give fewer rounds")
                raced.append(key)
        if config.ensemble is not None:
            key = (dataset.id, config.ensemble.dev_split)
            limits[key] = dev_sample_size(config.ensemble.dev_limit, config.run.limit)
            sentences[key] = first(dataset, key[1], limits[key])
    pools, _ = demo_pools(datasets, formats)
    jobs = make_jobs(config, registry, formats, sentences)
    return Plan(jobs, sentences, datasets, formats, pools, race, tuple(raced), limits)


def member_plan(config: RunConfig, registry: Registry, systems: Sequence[str], dataset: Dataset, split: str,
                sentences: Sequence[Sentence], exclude: Sequence[Sentence] = ()
                ) -> tuple[Plan, set[tuple[str, str]]]:
    """What `nerbench annotate` asks: the jobs of `systems` (a teacher's
    members) over `sentences` with their gold withheld, and demonstration
    pools holding none of their texts nor those of `exclude`; also the
    (split, text) of each pool sentence that exclusion left out."""
    check_config(config, registry)
    formats = make_formats(config, registry)
    jobs = make_jobs(config, registry, formats, [(dataset.id, split)], systems)
    used = {job.format_label for job in jobs}
    formats = {label: spec for label, spec in formats.items() if label in used}
    pools, removed = demo_pools({dataset.id: dataset}, formats, frozenset(s.text for s in [*sentences, *exclude]))
    withheld = [replace(s, spans=()) for s in sentences]
    return Plan(jobs, {(dataset.id, split): withheld}, {dataset.id: dataset}, formats, pools), removed


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
