"""Results JSON: every number with its provenance. Leaderboards render from it."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.config.load import RunConfig
from nerbench.plan.matrix import Plan
from nerbench.plugins.manager import Registry
from nerbench.infer.runner import JobOutcome
from nerbench.score.strict import score_with_counts

RESULTS_FORMAT_VERSION = 1


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def plugin_versions(registry: Registry) -> dict[str, str | None]:
    return {name: info.version for name, info in sorted(registry.plugins.items())}


def build_results(
    config: RunConfig,
    plan: Plan,
    outcomes: list[JobOutcome],
    describes: dict[tuple[str, str], dict[str, Any]],
    registry: Registry,
    wall_s: float,
    execution: dict[str, Any] | None = None,
) -> dict[str, Any]:
    systems = []
    for outcome in outcomes:
        job = outcome.job
        sentences = plan.sentences[(job.dataset, job.split)]
        predicted = {p.sentence_id: p.spans for p in outcome.predictions}
        metrics, counts = score_with_counts(sentences, predicted)
        spec = plan.formats[job.format]
        systems.append(
            {
                "system": job.system,
                "dataset": job.dataset,
                "split": job.split,
                "sentences": len(sentences),
                "backend": {
                    "name": job.backend,
                    "kind": job.kind,
                    "plugin": registry.provider("backends", job.kind),
                    **{k: v for k, v in describes[(job.backend, job.model_id)].items() if k != "endpoint_identity"},
                },
                "model": job.model,
                **({"model_id": job.model_id} if job.model_id != job.model else {}),
                "prompt_format": {
                    "name": spec.name,
                    "version": spec.instance.version,
                    "plugin": registry.provider("prompt_formats", spec.name),
                    "options": spec.options,
                },
                "metrics": metrics,
                "per_sentence": counts,
                "counts": outcome.stats.to_json(),
            }
        )
    return {
        "format_version": RESULTS_FORMAT_VERSION,
        "nerbench_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "plugins": plugin_versions(registry),
        "config": {"path": str(config.path), "sha256": config.sha256, "content": config.raw},
        "generation": config.generation,
        "datasets": {
            ds.id: {
                "manifest_sha256": ds.fingerprint,
                "language": ds.language,
                "plugin": registry.provider("datasets", ds.id),
                **{k: v for k, v in ds.describe().items() if k in ("name", "license")},
            }
            for ds in plan.datasets.values()
        },
        "wall_s": round(wall_s, 3),
        **({"execution": execution} if execution is not None else {}),
        "systems": systems,
    }
