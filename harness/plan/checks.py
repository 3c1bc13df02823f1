"""Everything a config can get wrong that nerbench can know without asking
a model, found when the plan is made — before the first request, and by
`nerbench run --dry-run`. Each mistake is one line naming the file and field."""

from __future__ import annotations

import importlib.util

from nerbench.bases import Backend, Dataset, JudgedCombiner
from nerbench.config.options import BACKEND_OPTIONS
from nerbench.config.settings import BackendEntry, RunConfig
from nerbench.errors import NerbenchError
from nerbench.plugin_system.factory import Where, make
from nerbench.plugin_system.manager import Registry
from nerbench.redaction import notice


def find_dataset(config: RunConfig, registry: Registry, name: str, field: str) -> Dataset:
    """A registered dataset, or an error naming the config and the field."""
    try:
        return registry.get("datasets", name)
    except NerbenchError as exc:
        raise NerbenchError(f"{config.path}: field {field}: {exc}") from None


def check_backend_entries(config: RunConfig, registry: Registry) -> None:
    """Kinds, their options (every url of a pool) and, offline, their models."""
    for entry in config.backends:
        field = entry.field
        try:
            cls = registry.get("backends", entry.kind)
        except NerbenchError as exc:
            raise NerbenchError(f"{config.path}: field {field}.kind: {exc}") from None
        options = dict(entry.options)
        fixed, most = options.get("concurrency"), options.get("max_concurrency")
        if isinstance(fixed, int) and most is not None:
            raise NerbenchError(f"{config.path}: field {field}.max_concurrency: bounds adaptive concurrency, but "
                                f"concurrency = {fixed} is fixed; give one of them")
        urls: tuple[str | None, ...] = entry.urls or (None,)
        replicas = [make(registry, "backends", entry.kind, {**options, "url": url} if url else options,
                         Where(str(config.path), field), instance=entry.name, core=BACKEND_OPTIONS) for url in urls]
        if len({r.endpoint for r in replicas}) < len(replicas):
            raise NerbenchError(f"{config.path}: field {field}.urls: two urls name the same endpoint")
        check_placement(config, entry, cls, field)
        backend = replicas[0]
        backend.base_dir = config.path.parent
        for j, ref in enumerate(entry.models):
            try:
                backend.check_model(ref.id)
            except NerbenchError as exc:
                raise NerbenchError(f"{config.path}: field {field}.models[{j}]: {exc}") from None


def check_placement(config: RunConfig, entry: BackendEntry, cls: type[Backend], field: str) -> None:
    """Placement keys only where a Ray cluster places the entry's servers."""
    given = list(entry.placement)
    if not given:
        return
    if config.run.executor != "ray":
        raise NerbenchError(f"{config.path}: field {field}.{given[0]}: replicas are placed on a Ray cluster; "
                            'set [run] executor = "ray"')
    if not cls.serves():
        raise NerbenchError(f"{config.path}: field {field}.{given[0]}: backend kind {entry.kind!r} starts no "
                            "server of its own to place on the cluster (give its servers as urls = [...])")
    if entry.urls:
        raise NerbenchError(f"{config.path}: field {field}: give urls or replicas, not both")


def check_executor(config: RunConfig) -> None:
    """Ray only where asked for, and installed."""
    executor = config.run.executor
    if config.run.address is not None and executor != "ray":
        raise NerbenchError(f'{config.path}: field run.address: the address of a Ray cluster; set executor = "ray"')
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise NerbenchError(f'{config.path}: field run.executor: "ray" needs Ray; run: pip install \'nerbench[ray]\'')


def check_reporters(config: RunConfig, registry: Registry) -> None:
    for i, name in enumerate(config.run.reporters):
        make(registry, "reporters", name, {}, Where(str(config.path), f"run.reporters[{i}]"))


def check_ensemble(config: RunConfig, registry: Registry) -> None:
    """Combiners, their options, and the judges they will ask."""
    if config.ensemble is None:
        return
    models = {name: {ref.name for ref in refs} | {ref.id for ref in refs} for name, refs in config.models.items()}
    labels: dict[str, int] = {}
    for i, spec in enumerate(config.ensemble.combiners):
        field = spec.field
        if spec.label in labels:
            raise NerbenchError(f"{config.path}: field {field}: combiner {spec.label!r} is already "
                                f"ensemble.combiners[{labels[spec.label]}]; give one an alias")
        labels[spec.label] = i
        combiner = make(registry, "combiners", spec.name, dict(spec.options), Where(str(config.path), field))
        note = combiner.note(sum(len(b.models) for b in config.backends) * len(config.formats))
        if note:
            notice(f"{config.path}: field {field}: {note}")
        if isinstance(combiner, JudgedCombiner):
            for judge in combiner.asks():
                backend, _, model = judge.partition("/")
                if backend not in models:
                    raise NerbenchError(f"{config.path}: field {field}: judge {judge!r} names no configured "
                                        f"backend; backends: {', '.join(sorted(models))}")


def check_config(config: RunConfig, registry: Registry) -> None:
    check_executor(config)
    check_backend_entries(config, registry)
    check_reporters(config, registry)
    check_ensemble(config, registry)
