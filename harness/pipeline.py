"""`nerbench run` as a library call: plan → infer → score → report."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from .bases import Backend
from .cache import PredictionCache
from .combine_stage import Judges, run_combiners
from .config import RunConfig
from .datasets import ManifestDataset
from .errors import NerbenchError
from .plan import Plan, make_plan
from .pool import BackendPool
from .registry import Registry
from .results import build_results, write_json, write_predictions
from .runner import run_plan
from .types import Prediction


def register_config_datasets(config: RunConfig, registry: Registry) -> None:
    for path in config.registry_files:
        dataset = ManifestDataset.from_file(path)
        registry.add_dataset(dataset, f"manifest {path}")


def prepare(config: RunConfig, registry: Registry, limit: int | None = None) -> Plan:
    register_config_datasets(config, registry)
    return make_plan(config, registry, limit)


def describe_plan(plan: Plan) -> tuple[str, int]:
    rows = []
    total = 0
    for job in plan.jobs:
        n_req = plan.requests_per_job(job)
        total += n_req
        rows.append([job.system, job.kind, f"{job.dataset}:{job.split}",
                     len(plan.sentences[(job.dataset, job.split)]), n_req])
    table = tabulate(rows, headers=["system", "backend kind", "dataset:split", "sentences", "requests"],
                     tablefmt="simple")
    return table, total


@dataclass
class RunOutput:
    results: dict[str, Any]
    files: list[Path]


def make_backends(config: RunConfig, registry: Registry) -> dict[str, Backend]:
    """One backend per `[[backend]]`; an entry with `urls` becomes a pool of
    one backend per URL."""
    backends: dict[str, Backend] = {}

    def build(name: str, cls: type[Backend], options: dict[str, Any]) -> Backend:
        backend = cls(name, options)
        backend.base_dir = config.path.parent
        return backend

    for entry in config.backends:
        cls = registry.get("backends", entry["kind"])
        options = {k: v for k, v in entry.items() if k not in ("name", "kind", "models", "urls")}
        name = entry["name"]
        if "urls" in entry:
            replicas = [build(name, cls, {**options, "url": url}) for url in entry["urls"]]
            if len({r.endpoint for r in replicas}) < len(replicas):
                raise NerbenchError(f"{config.path}: backend {name!r}: urls name the same endpoint twice "
                                    f"(or kind {entry['kind']!r} does not use url)")
            backends[name] = BackendPool(name, replicas)
        else:
            backends[name] = build(name, cls, options)
    return backends


def execute(
    config: RunConfig,
    plan: Plan,
    registry: Registry,
    out_dir: Path,
    cache_path: Path,
    progress: bool = True,
) -> RunOutput:
    reporters = [registry.get("reporters", name)() for name in config.reporters]
    backends = make_backends(config, registry)
    cache = PredictionCache(cache_path)
    after = None
    if config.ensemble is not None:
        kinds = {b["name"]: b["kind"] for b in config.backends}
        models = {name: {ref.name: ref.id for ref in refs} for name, refs in config.models.items()}

        async def after(runner, outcomes):
            judges = Judges(runner, kinds, models)
            stage = await run_combiners(plan, outcomes, registry, config.ensemble, judges)
            return (*stage, judges.stats.to_json())

    try:
        outcomes, stage, runner, wall = run_plan(plan, backends, config.generation, cache, progress, after)
    finally:
        cache.close()
    results = build_results(config, plan, outcomes, runner, registry, wall)
    combined: list[Prediction] = []
    if stage is not None:
        results["ensembles"], results["transfer"], combined, judging = stage
        if judging["requests"]:
            results["judging"] = judging
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / "predictions.jsonl", out_dir / "results.json"]
    write_predictions(files[0], itertools.chain((p for o in outcomes for p in o.predictions), combined))
    write_json(files[1], results)
    for reporter in reporters:
        files += reporter.render([results], out_dir)
    return RunOutput(results, files)
