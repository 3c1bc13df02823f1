"""`nerbench ensemble`: an ensemble over stored predictions files — the
candidate index of each split, the combiner made from the command line's
name and options, systems chosen on a dev sample — without any backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nerbench.bases import Dataset, JudgedCombiner
from nerbench.data.sample import first
from nerbench.errors import NerbenchError
from nerbench.files.predictions import answers_by_system, spans_by_system, write_predictions
from nerbench.index.candidates import CandidateIndex, build_index
from nerbench.index.search import run_ensemble
from nerbench.plugin_system.factory import Where, dataset_split, make
from nerbench.plugin_system.manager import Registry
from nerbench.records import Prediction, Sentence
from nerbench.score.coverage import Coverage, covered


def split_answers(registry: Registry, ref: str, files: list[Path], option: str,
                  sources: dict[str, Path] | None = None
                  ) -> tuple[Dataset, str, list[Sentence], dict[str, dict[str, Prediction]]]:
    """The split `ref` names ("ID:SPLIT", given as `option`): its dataset,
    split, sentences, and each system's answers in `files` (read by the one
    checked predictions reader, which fills `sources`) by sentence id."""
    try:
        dataset, split = dataset_split(registry, ref)
    except NerbenchError as exc:
        raise NerbenchError(f"{option} {ref}: {exc}") from None
    sentences = first(dataset, split, None)
    systems = answers_by_system(files, dataset.id, split, {s.id: s for s in sentences},
                                {label.name for label in dataset.labels}, sources)
    return dataset, split, sentences, systems


def load_index(registry: Registry, ref: str, files: list[Path], limit: int | None, option: str,
               everything: bool = False) -> tuple[CandidateIndex, Coverage]:
    """The candidate index of `files`' answers for the split `ref` names,
    over the sentences they answer of its first `limit` (all of those when
    `everything`); and that coverage."""
    dataset, split, sentences, systems = split_answers(registry, ref, files, option)
    coverage = covered(sentences[:limit], systems, everything)
    return build_index(coverage.sentences, spans_by_system(systems), key=f"{dataset.id}:{split}"), coverage


def ensemble(registry: Registry, gold: str, files: list[Path], combiner_name: str, options: dict[str, Any],
             dev: str | None = None, dev_files: list[Path] | None = None, dev_limit: int | None = None,
             search: str = "none", output: Path | None = None, everything: bool = False
             ) -> tuple[dict[str, Any], list[str]]:
    """The ensemble of `files` on `gold` ("ID:SPLIT") by `combiner_name`
    with `options`, its systems and parameters chosen on the `dev` split's
    first `dev_limit` sentences (from `dev_files`) when given; the combined
    predictions written to `output`. Each split is taken on the sentences
    the files answer (on all, with `everything`). Returns the result
    (metrics, choice, the best single system) and notes for the user."""
    combiner = make(registry, "combiners", combiner_name, options, Where("nerbench ensemble", "--option"),
                    "--combiner")
    if isinstance(combiner, JudgedCombiner):
        raise NerbenchError(f"--combiner {combiner_name}: it asks models, so it runs inside `nerbench run` "
                            "(an [ensemble] combiner) or `nerbench annotate` (a teacher), not over stored files")
    test, coverage = load_index(registry, gold, files, None, "--gold", everything)
    notes = [note for note in [coverage.note(gold, everything)] if note]
    notes += [f"--combiner {combiner_name}: {note}" for note in [combiner.note(len(test.systems))] if note]
    dev_index = None
    if dev:
        if not dev_files:
            raise NerbenchError("--dev needs --dev-predictions")
        dev_index, _ = load_index(registry, dev, dev_files, dev_limit, "--dev", everything)
    result, combined = run_ensemble(combiner_name, combiner, test, dev_index, search)
    dataset_id, _, split = test.key.rpartition(":")
    result.update(dataset=dataset_id, split=split, dev=dev)
    if output:
        write_predictions(output, (Prediction(result["system"], dataset_id, split, sid, tuple(spans))
                                   for sid, spans in combined.items()))
    return result, notes
