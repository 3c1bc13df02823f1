"""Everything a config can get wrong that nerbench can know without asking
a model, found when the plan is made — before the first request, and by
`nerbench run --dry-run`. Each mistake is one line naming the file and field."""

from __future__ import annotations

import importlib.util
from typing import Any

from nerbench.bases import Backend, JudgedCombiner
from nerbench.config.options import BACKEND_OPTIONS, check_options
from nerbench.config.settings import BackendEntry, RunConfig
from nerbench.errors import NerbenchError
from nerbench.plan.combiners import make_combiner
from nerbench.plugin_system.manager import Registry
from nerbench.redaction import notice


def lookup(config: RunConfig, registry: Registry, kind: str, name: str, field: str) -> Any:
    """A registered plugin, or an error naming the config and the field."""
    try:
        return registry.get(kind, name)
    except NerbenchError as exc:
        raise NerbenchError(f"{config.path}: field {field}: {exc}") from None


def check_backend_entries(config: RunConfig, registry: Registry) -> None:
    """Kinds, their options (every url of a pool) and, offline, their models."""
    for entry in config.backends:
        field = entry.field
        cls: type[Backend] = lookup(config, registry, "backends", entry.kind, f"{field}.kind")
        options = dict(entry.options)
        what = f"backend kind {entry.kind!r}"
        urls: tuple[str | None, ...] = entry.urls or (None,)
        for url in urls:
            check_options(cls, {**options, "url": url} if url else options, str(config.path), field, what,
                          BACKEND_OPTIONS)
        fixed, most = options.get("concurrency"), options.get("max_concurrency")
        if isinstance(fixed, int) and most is not None:
            raise NerbenchError(f"{config.path}: field {field}.max_concurrency: bounds adaptive concurrency, but "
                                f"concurrency = {fixed} is fixed; give one of them")
        replicas = [cls(entry.name, {**options, "url": url} if url else options) for url in urls]
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
        lookup(config, registry, "reporters", name, f"run.reporters[{i}]")


def check_ensemble(config: RunConfig, registry: Registry) -> None:
    """Combiners, their options, and the judges they will ask."""
    if config.ensemble is None:
        return
    models = {name: {ref.name for ref in refs} | {ref.id for ref in refs} for name, refs in config.models.items()}
    labels: dict[str, int] = {}
    for i, spec in enumerate(config.ensemble.combiners):
        field = f"ensemble.combiners[{i}]"
        if spec.label in labels:
            raise NerbenchError(f"{config.path}: field {field}: combiner {spec.label!r} is already "
                                f"ensemble.combiners[{labels[spec.label]}]; give one an alias")
        labels[spec.label] = i
        cls = lookup(config, registry, "combiners", spec.name, field)
        check_options(cls, dict(spec.options), str(config.path), field, f"combiner {spec.name!r}")
        try:
            combiner = make_combiner(registry, spec.name, dict(spec.options))
        except NerbenchError as exc:
            raise NerbenchError(f"{config.path}: field {field}: {exc}") from None
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
