"""Results JSON: every number with its provenance. Leaderboards render from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict
import os
import platform
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.bases import Dataset
from nerbench.config.settings import RunConfig
from nerbench.data.manifest import checked_sha256
from nerbench.data.sample import answered, common
from nerbench.plan.matrix import Plan
from nerbench.plugin_system.manager import Registry
from nerbench.index.candidates import build_index
from nerbench.infer.runner import JobOutcome
from nerbench.score.details import details, sentence_table
from nerbench.index.headroom import headroom
from nerbench.score.strict import check_rule, score_with_counts
from nerbench.records import STATUS_OK, Prediction, Sentence, Span

#: 2: strict scores count every distinct predicted span (the span-set rule,
#: `scoring`); entries carry overlaps, partial, errors, spans; the document
#: carries sentences and headroom.
RESULTS_FORMAT_VERSION = 2


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


def provenance(registry: Registry) -> dict[str, Any]:
    """What every results document opens with: its format, nerbench's
    version, when and on which machine it was made, the plugins' versions."""
    return {
        "format_version": RESULTS_FORMAT_VERSION,
        "nerbench_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "plugins": plugin_versions(registry),
    }


def datasets_record(datasets: Iterable[Dataset], registry: Registry) -> dict[str, Any]:
    """The document's `datasets`: id → manifest sha256, language, plugin,
    name, license, direction, repairs, label mappings."""
    return {
        ds.id: {
            "manifest_sha256": ds.fingerprint,
            "language": ds.language,
            "plugin": registry.provider("datasets", ds.id),
            **{k: v for k, v in ds.describe().items() if k in ("name", "license", "direction", "repairs", "mappings")},
        }
        for ds in datasets
    }


def build_results(
    config: RunConfig,
    plan: Plan,
    outcomes: list[JobOutcome],
    describes: dict[tuple[str, str], dict[str, Any]],
    registry: Registry,
    wall_s: float,
    execution: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rule = check_rule(config.run.scoring)
    systems = []
    for outcome in outcomes:
        job = outcome.job
        # A raced system is scored on its own sample: the sentences it answered before it stopped.
        sentences = answered(plan.sentences[(job.dataset, job.split)], race_count(outcome))
        spec = plan.formats[job.format_label]
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
                **scored(sentences, outcome.predictions, rule),
                "counts": outcome.stats.to_json(),
                **({"race": outcome.race} if outcome.race is not None else {}),
            }
        )
    splits = {(job.dataset, job.split) for job in (o.job for o in outcomes)}
    return {
        **provenance(registry),
        "config": {"path": str(config.path), "sha256": config.sha256, "content": config.raw},
        "generation": config.generation.to_json(),
        "datasets": datasets_record(plan.datasets.values(), registry),
        "wall_s": round(wall_s, 3),
        "scoring": {"rule": rule},
        **({"execution": execution} if execution is not None else {}),
        "systems": systems,
        **({"race": {"settings": asdict(plan.race), "splits": [f"{d}:{s}" for d, s in plan.raced],
                     # how many sentences each split raced over: its seeded order is of them (rescore redraws it)
                     "sentences": {f"{d}:{s}": len(plan.sentences[(d, s)]) for d, s in plan.raced}}}
           if plan.race is not None else {}),
        # the sample each split was taken with: `rescore` redraws it from this record
        "samples": {f"{d}:{s}": {"limit": n} for (d, s), n in sorted(plan.limits.items())},
        **analysis({key: common(plan.sentences[key], [race_count(o) for o in outcomes
                                                      if (o.job.dataset, o.job.split) == key])
                    for key in splits},
                   [(o.job.dataset, o.job.split, o.job.system, o.predictions) for o in outcomes]),
    }


def stored_results(registry: Registry, dataset: Dataset, split: str, sentences: list[Sentence],
                   systems: Mapping[str, Mapping[str, Prediction]], sources: Mapping[str, Path],
                   rule: str) -> dict[str, Any]:
    """A results document of systems known only by their stored predictions
    (`nerbench score --results`): each scored on `sentences` of
    `dataset:split` as a run scores its systems, with the predictions file
    it came from (path and sha256) in place of a backend, model and prompt
    format; no `counts` (latency, tokens, requests: the file does not say
    them), no config, generation or wall time."""
    rule = check_rule(rule)
    entries = [{"system": name, "dataset": dataset.id, "split": split, "sentences": len(sentences),
                "predictions": {"file": str(sources[name]), "sha256": checked_sha256(sources[name])},
                **scored(sentences, list(rows.values()), rule)}
               for name, rows in sorted(systems.items())]
    return {
        **provenance(registry),
        "datasets": datasets_record([dataset], registry),
        "scoring": {"rule": rule},
        "systems": entries,
        **analysis({(dataset.id, split): sentences},
                   [(dataset.id, split, name, list(rows.values())) for name, rows in sorted(systems.items())]),
    }


def race_count(outcome: JobOutcome) -> int | None:
    """How many sentences a raced job answered (None: not raced, all of them)."""
    return None if outcome.race is None else int(outcome.race["sentences"])


def scored(sentences: list[Sentence], predictions: list[Prediction], rule: str) -> dict[str, Any]:
    """A system's scores on a split: `metrics`, `per_sentence`, the
    `details` (overlaps, partial, errors, spans) and `sentence_status` (the
    status of each sentence that was not ok, by its position in the split)."""
    predicted = {p.sentence_id: p.spans for p in predictions}
    metrics, counts = score_with_counts(sentences, predicted, rule)
    status = {p.sentence_id: p.status for p in predictions}
    return {
        "metrics": metrics,
        "per_sentence": counts,
        **details(sentences, predicted, rule),
        "sentence_status": {str(i): status[s.id] for i, s in enumerate(sentences)
                            if status.get(s.id, STATUS_OK) != STATUS_OK},
    }


def analysis(
    sentences: dict[tuple[str, str], list[Sentence]],
    predictions: list[tuple[str, str, str, list[Prediction]]],
) -> dict[str, Any]:
    """The document's `sentences` (per "dataset:split": id, text, gold) and
    `headroom` (per split, over its single systems) from (dataset, split,
    system, predictions) of every system."""
    by_split: dict[tuple[str, str], dict[str, dict[str, tuple[Span, ...]]]] = {}
    for dataset, split, system, preds in predictions:
        by_split.setdefault((dataset, split), {})[system] = {p.sentence_id: p.spans for p in preds}
    return {
        "sentences": {f"{d}:{s}": sentence_table(sentences[(d, s)]) for d, s in sorted(sentences)},
        "headroom": [{"dataset": d, "split": s, **headroom(build_index(sentences[(d, s)], systems))}
                     for (d, s), systems in sorted(by_split.items())],
    }
