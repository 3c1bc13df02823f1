"""Re-scoring a finished run from what it stored — its results document, its
predictions JSONL and the corpora — never calling a model (docs/architecture.md: a stage
can be re-run alone). Provenance, counts and the transfer matrix are kept;
every score is computed again under the current scoring, ensembles from the
output they stored (they are not chosen again)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.errors import NerbenchError
from nerbench.files.predictions import checked_predictions
from nerbench.files.results import read_results, write_document
from nerbench.data.sample import evaluated, first, recorded_sample
from nerbench.plugin_system.manager import Registry
from nerbench.report.recorded import check_answered, check_race_record
from nerbench.report.results import RESULTS_FORMAT_VERSION, analysis, scored
from nerbench.score.details import sentence_table
from nerbench.score.strict import check_rule
from nerbench.records import Prediction, Sentence


def _sentences(registry: Registry, results: dict[str, Any], dataset_id: str, split: str, n: int) -> list[Sentence]:
    """The `n` sentences of `dataset_id:split` the run scored an entry on:
    the first of its recorded sample (a raced split's in the race's order).
    When the manifest changed since the run (a split added, say), the gold
    the run recorded (format 2) must be what the corpus gives now."""
    dataset = registry.get("datasets", dataset_id)
    limit, seed = recorded_sample(results, dataset_id, split)
    sentences = evaluated(dataset, split, limit if seed is not None else n, seed)[:n]
    recorded = results.get("datasets", {}).get(dataset_id, {}).get("manifest_sha256")
    if recorded and recorded != dataset.fingerprint:
        then = results.get("sentences", {}).get(f"{dataset_id}:{split}")
        # (the run recorded the sentences all its systems answered: a raced split's shortest prefix)
        if then is None or [{k: s[k] for k in ("id", "text", "gold")} for s in then] != sentence_table(
                sentences[:len(then)]):
            raise NerbenchError(f"dataset {dataset_id!r}: its manifest changed since the run (sha256 "
                                f"{recorded[:12]} then, {dataset.fingerprint[:12]} now) and the gold of {split!r} "
                                "is not the one the run recorded; not re-scoring")
    return sentences


def rescore(results: dict[str, Any], predictions: Path, registry: Registry, rule: str) -> dict[str, Any]:
    """`results` scored again from `predictions` (the run's predictions
    JSONL, read by the one checked reader every command uses) under `rule`;
    a new document, the old one is left as it was."""
    check_rule(rule)
    where = str(predictions.parent / "results.json")
    check_race_record(results, where)
    gold = {}
    for entry in [*results.get("systems", []), *results.get("ensembles", [])]:
        key = (entry["dataset"], entry["split"])
        if key not in gold:
            dataset = registry.get("datasets", key[0])
            gold[key] = ({s.id: s for s in first(dataset, key[1], None)}, {label.name for label in dataset.labels})
    stored: dict[tuple[str, str, str], list[Prediction]] = defaultdict(list)
    for (dataset_id, split), answers in checked_predictions([predictions], gold).items():
        for system, rows in answers.items():
            stored[(system, dataset_id, split)] = list(rows.values())
    cache: dict[tuple[str, str, int], list[Sentence]] = {}
    splits: dict[tuple[str, str], list[Sentence]] = {}

    def redo(entry: dict[str, Any], name: str) -> dict[str, Any]:
        key = (entry["dataset"], entry["split"], int(entry["sentences"]))
        if key not in cache:
            cache[key] = _sentences(registry, results, *key)
        sentences = cache[key]
        check_answered(entry, name, sentences, [p.sentence_id for p in stored[(entry["system"], *key[:2])]], where)
        # the document's sentence table and headroom are of what every system answered, as the run's
        splits[key[:2]] = min(splits.get(key[:2], sentences), sentences, key=len)
        ids = {s.id for s in sentences}
        preds = [p for p in stored[(entry["system"], entry["dataset"], entry["split"])] if p.sentence_id in ids]
        if not preds:
            raise NerbenchError(f"no stored predictions for {entry['system']} on {entry['dataset']}:{entry['split']}")
        return {**entry, **scored(sentences, preds, rule)}

    systems = [redo(entry, f"systems[{i}]") for i, entry in enumerate(results.get("systems", []))]
    out = {**results, "format_version": RESULTS_FORMAT_VERSION, "scoring": {"rule": rule}, "systems": systems}
    if "ensembles" in results:
        ensembles = []
        for i, entry in enumerate(results["ensembles"]):
            entry = redo(entry, f"ensembles[{i}]")
            entry.pop("sentence_status", None)  # ensembles have no statuses of their own
            peers = [s for s in systems if (s["dataset"], s["split"]) == (entry["dataset"], entry["split"])]
            if peers:
                best = min(peers, key=lambda s: (-s["metrics"]["f1"], s["system"]))  # as search.best_single
                entry["best_single"] = {"system": best["system"], "metrics": best["metrics"]}
            ensembles.append(entry)
        out["ensembles"] = ensembles
    out.update(analysis(splits, [(s["dataset"], s["split"], s["system"],
                                  stored[(s["system"], s["dataset"], s["split"])]) for s in systems]))
    out["rescored"] = {"created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                       "nerbench_version": __version__, "rule": rule,
                       "from_format_version": results.get("format_version")}
    return out


def rescore_run(run_dir: Path, registry: Registry, rule: str, output: Path | None = None) -> Path:
    """The run in `run_dir` (its results.json and predictions.jsonl) scored
    again under `rule`, written to `output` (default: its results.json,
    replaced); returns where it was written."""
    if not (run_dir / "results.json").is_file():
        raise NerbenchError(f"{run_dir}: no results.json to re-score")
    doc = rescore(read_results(run_dir / "results.json"), run_dir / "predictions.jsonl", registry, rule)
    target = output or run_dir / "results.json"
    write_document(target, doc)
    return target
