"""`nerbench run` as a library call: plan → infer → combine → score → report."""

from __future__ import annotations

import gc
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from nerbench.bases import Reporter
from nerbench.combine.stage import CombineOutput, RunJudges, run_combiners
from nerbench.config.settings import RunConfig
from nerbench.errors import NerbenchError
from nerbench.plan.matrix import Plan, make_plan, register_config_datasets
from nerbench.plugin_system.manager import Registry
from nerbench.files.folders import owned_folder
from nerbench.files.predictions import write_predictions
from nerbench.files.results import read_results_files, write_document
from nerbench.report.results import build_results
from nerbench.infer.backends import execution
from nerbench.infer.runner import JobOutcome, Runner
from nerbench.infer.session import model_session
from nerbench.plugin_system.factory import Where, make
from nerbench.records import Prediction


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

    @property
    def partial(self) -> bool:
        """Whether some request got no answer: a rerun would complete it."""
        return bool(self.results.get("partial"))


def unanswered(results: dict[str, Any]) -> Counter[str]:
    """Requests of systems' sentences and of judges that got no answer, by cause."""
    causes: Counter[str] = Counter()
    for entry in [*results["systems"], results.get("judging", {})]:
        causes.update(entry.get("counts", entry).get("errors", {}))
    return causes


@dataclass
class Inferred:
    """What the model-facing part of a run produced, before scoring."""

    outcomes: list[JobOutcome]
    combined: CombineOutput | None
    #: (backend, model id) → what the backend said of the model
    describes: dict[tuple[str, str], dict[str, Any]]
    wall_s: float
    #: where the requests were served: executor, concurrency, cluster and replicas
    execution: dict[str, Any]


def infer_and_combine(config: RunConfig, plan: Plan, registry: Registry, cache_path: Path,
                      progress: bool = True) -> Inferred:
    """Infer every job, then (with an `[ensemble]`) combine, while the
    backends are up: LLM-judged combiners ask them more."""
    started = time.perf_counter()

    async def work(runner: Runner) -> Inferred:
        outcomes = await runner.run_jobs()
        combined = None
        if config.ensemble is not None:
            combined = await run_combiners(plan, outcomes, registry, config.ensemble,
                                           RunJudges(runner, config.backends), config.run.scoring)
        return Inferred(outcomes, combined, runner.describes, time.perf_counter() - started,
                        execution(config, runner.backends, runner.concurrency()))

    return model_session(config, plan, registry, cache_path, work, progress)


@contextmanager
def settled_heap() -> Iterator[None]:
    """While a run works, the cyclic garbage collector leaves alone what
    existed before it (modules, plugins, the plan and its sentences) and runs
    less often: its collections scanned them again and again, 0.11 ms of CPU
    per sentence against an instant server, 0.005 ms like this (1,389
    LeNER-Br test sentences). Both are given back after the run."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def execute(
    config: RunConfig,
    plan: Plan,
    registry: Registry,
    out_dir: Path,
    cache_path: Path,
    progress: bool = True,
) -> RunOutput:
    """`nerbench run` as a library call: infer, combine, score, write the
    predictions, the results and what the reporters make. `out_dir` is
    this run's while it works (`files.folders.owned_folder`)."""
    reporters = [(name, make(registry, "reporters", name, {}, Where(str(config.path), f"run.reporters[{i}]")))
                 for i, name in enumerate(config.run.reporters)]
    with owned_folder(out_dir, "run"), settled_heap():
        return _execute(config, plan, registry, out_dir, cache_path, progress, reporters)


def _execute(config: RunConfig, plan: Plan, registry: Registry, out_dir: Path, cache_path: Path, progress: bool,
             reporters: list[tuple[str, Reporter]]) -> RunOutput:
    inferred = infer_and_combine(config, plan, registry, cache_path, progress)
    outcomes, combined = inferred.outcomes, inferred.combined
    results = build_results(config, plan, outcomes, inferred.describes, registry, inferred.wall_s, inferred.execution)
    extra: list[Prediction] = []
    if combined is not None:
        results["ensembles"], results["transfer"], extra = combined.entries, combined.transfer, combined.predictions
        if combined.judging["requests"] or combined.judging["errors"]:
            results["judging"] = combined.judging
    results["partial"] = bool(unanswered(results))
    files = [out_dir / "predictions.jsonl", out_dir / "results.json"]
    write_predictions(files[0], itertools.chain((p for o in outcomes for p in o.predictions), extra))
    write_document(files[1], results)
    files += render_reports(reporters, [results], out_dir)
    return RunOutput(results, files)


def make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot create the output directory: {exc.strerror or exc}") from None


def render_reports(reporters: list[tuple[str, Reporter]], documents: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """What each reporter makes of `documents` under `out_dir`; a reporter
    that cannot write (a full disk) is one line naming it and the directory."""
    make_dir(out_dir)
    files: list[Path] = []
    root = out_dir.resolve()
    for name, reporter in reporters:
        try:
            made = reporter.render(documents, out_dir)
        except OSError as exc:
            raise NerbenchError(f"{out_dir}: reporter {name!r} cannot write: {exc.strerror or exc}") from None
        outside = [p for p in made if root not in Path(p).resolve().parents]
        if outside:
            raise NerbenchError(f"reporter {name!r} wrote {outside[0]}, outside the output directory {out_dir}")
        files += made
    return files


def rerender(registry: Registry, results_files: list[Path], out_dir: Path, reporter_names: Sequence[str]
             ) -> tuple[list[Path], list[str]]:
    """`nerbench leaderboard`: what the named reporters make of stored
    results files under `out_dir` (never a model run); and notes on the files."""
    where = Where("nerbench leaderboard", "--reporter")
    reporters = [(name, make(registry, "reporters", name, {}, where, "--reporter")) for name in reporter_names]
    docs, notes = read_results_files(results_files)
    return render_reports(reporters, docs, out_dir), notes
