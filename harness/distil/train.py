"""`nerbench train`: what a student learns from — silver, gold, or a gold
budget spent on some silver sentences — and the training itself, seeded,
with the provenance written beside every model (`student.json`).

Unlabelled tokens: with `unlabelled = "O"` every token outside a taught span
is taught as no entity; with `"missing"` the tokens outside the silver's
spans carry no label (spaCy's missing value: no loss), because a silent
teacher is the main damage of silver from small models. Gold sentences are
always taught in full.

A gold budget k picks k silver sentences to replace by their gold: by
disagreement (the k with the highest 1 − mean pairwise span F1 among the
teacher's members, ties broken at random with the seed) or at random. It is
then spent three ways: `mixed` (gold for those k, silver for the rest),
`gold-only` (those k alone) and `pretrain` (the silver first, then the k gold
as a second training started from that model)."""

from __future__ import annotations

import random
import resource
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench import __version__
from nerbench.bases import Student
from nerbench.distil.silver import SilverSentence, checked_silver
from nerbench.errors import NerbenchError
from nerbench.files.results import write_results
from nerbench.parse.alignment import TokenIndex
from nerbench.records import Example, Sentence
from nerbench.students import FILES, META, folder_files, student_id

UNLABELLED = ("O", "missing")
PICKS = ("disagreement", "random")
USES = ("mixed", "gold-only", "pretrain")


def read_silver(path: Path, labels: Sequence[str] | None = None) -> list[SilverSentence]:
    """`silver.jsonl` as `nerbench annotate` writes it, through its one validating reader."""
    return checked_silver(path, labels).sentences


def training_silver(path: Path, labels: Sequence[str], allow_partial: bool = False
                    ) -> tuple[list[SilverSentence], dict[str, Any]]:
    """The silver sentences a student may learn from, and what was left out:
    a sentence some member of the teacher never answered is left out, never
    taught as "no entity"; a partial silver is refused unless
    `allow_partial` (and then its answered sentences alone are taught)."""
    silver = checked_silver(path, labels)
    if (silver.partial or silver.unanswered) and not allow_partial:
        raise NerbenchError(f"{path}: partial silver ({len(silver.unanswered)} of {len(silver.sentences)} sentences "
                            "got no answer from every member of the teacher): run `nerbench annotate` again to "
                            "complete it, or --allow-partial to train on the answered ones")
    kept = [s for s in silver.sentences if s.sentence.id not in silver.unanswered]
    if not kept:
        raise NerbenchError(f"{path}: no silver sentence was answered by every member of the teacher")
    return kept, {"allow_partial": allow_partial, "unanswered_left_out": len(silver.unanswered)}


def example(sentence: Sentence, unlabelled: str) -> Example:
    """`sentence` as taught: under "missing", tokens outside its spans carry no label."""
    if unlabelled == "O":
        return Example(sentence)
    index = TokenIndex(sentence.tokens)
    covered = [False] * len(sentence.tokens)
    for span in sentence.spans:
        rng = index.token_range(span.start, span.end)
        if rng is not None:
            covered[rng[0]:rng[1]] = [True] * (rng[1] - rng[0])
    return Example(sentence, tuple(not c for c in covered))


def pick_gold(silver: Sequence[SilverSentence], k: int, pick: str, seed: int) -> list[str]:
    """The ids of the k silver sentences whose gold is bought."""
    if not 0 < k <= len(silver):
        raise NerbenchError(f"--budget {k}: between 1 and the {len(silver)} silver sentences")
    rng = random.Random(seed)
    if pick == "random":
        return sorted(s.sentence.id for s in rng.sample(list(silver), k))
    if any(s.disagreement is None for s in silver):
        raise NerbenchError("--pick disagreement needs a silver annotated by an ensemble (its members' "
                            "disagreement per sentence); this one has one member")
    tiebreak = {s.sentence.id: rng.random() for s in silver}
    ranked = sorted(silver, key=lambda s: (-float(s.disagreement or 0.0), tiebreak[s.sentence.id]))
    return sorted(s.sentence.id for s in ranked[:k])


@dataclass
class TrainingData:
    """What one training learns from, in phases (a second phase continues
    from the first's model), and how it was assembled (recorded)."""

    phases: list[list[Example]]
    about: dict[str, Any] = field(default_factory=dict)


def gold_data(gold: Sequence[Sentence], about: dict[str, Any]) -> TrainingData:
    return TrainingData([[Example(s) for s in gold]], {"gold_sentences": len(gold), **about})


def silver_data(silver: Sequence[SilverSentence], unlabelled: str, about: dict[str, Any]) -> TrainingData:
    return TrainingData([[example(s.sentence, unlabelled) for s in silver]],
                        {"silver_sentences": len(silver), "unlabelled": unlabelled, **about})


def budget_data(silver: Sequence[SilverSentence], gold: Mapping[str, Sentence], k: int, pick: str, use: str,
                unlabelled: str, seed: int, about: dict[str, Any]) -> TrainingData:
    """A gold budget of `k` silver sentences, spent as `use` says."""
    missing = [s.sentence.id for s in silver if s.sentence.id not in gold]
    if missing:
        raise NerbenchError(f"silver sentence {missing[0]!r} is not in the --gold split: its gold cannot be bought")
    bought = set(pick_gold(silver, k, pick, seed))
    gold_part = [Example(gold[s.sentence.id]) for s in silver if s.sentence.id in bought]
    silver_part = [example(s.sentence, unlabelled) for s in silver if s.sentence.id not in bought]
    about = {**about, "budget": k, "pick": pick, "use": use, "unlabelled": unlabelled,
             "gold_ids": sorted(bought)}
    if use == "gold-only":
        return TrainingData([gold_part], {**about, "gold_sentences": k})
    if use == "pretrain":
        pretrain = [example(s.sentence, unlabelled) for s in silver]
        return TrainingData([pretrain, gold_part], {**about, "silver_sentences": len(silver), "gold_sentences": k})
    if use == "mixed":
        return TrainingData([gold_part + silver_part],
                            {**about, "silver_sentences": len(silver_part), "gold_sentences": k})
    raise NerbenchError(f"--use {use!r} is not one of {', '.join(USES)}")


def train_student(cls: type[Student], name: str, options: dict[str, Any], data: TrainingData,
                  dev: Sequence[Sentence], labels: Sequence[str], language: str, out_dir: Path, seed: int,
                  dev_ref: str) -> dict[str, Any]:
    """Train one seed into `out_dir` (each phase after the first continues
    from the model the one before wrote) and write `student.json`."""
    if not data.phases or not any(data.phases):
        raise NerbenchError("nothing to train on")
    if len(data.phases) > 1 and not cls.continues:  # refused before the first phase is paid for
        raise NerbenchError(f"student {name!r} cannot continue training from a model (--use pretrain)")
    started = time.perf_counter()
    reports = []
    previous: Path | None = None
    # Earlier phases are written aside: the model folder ships the final model alone.
    with tempfile.TemporaryDirectory(prefix="nerbench-phase-") as scratch:
        for i, phase in enumerate(data.phases):
            target = out_dir if i == len(data.phases) - 1 else Path(scratch) / f"phase-{i + 1}"
            target.mkdir(parents=True, exist_ok=True)
            student = cls(**options)
            if previous is not None:
                student.load(previous)
            reports.append(student.train(phase, dev, labels, language, target, seed))
            previous = target
    meta = {
        "student": student_id(cls),
        "name": name,
        "labels": sorted(labels),
        "language": language,
        "options": options,
        "seed": seed,
        "data": data.about,
        "dev": {"split": dev_ref, "sentences": len(dev), "used_for": "early stopping"},
        "report": reports[-1] if len(reports) == 1 else reports,
        "train_s": round(time.perf_counter() - started, 3),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "nerbench_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # what loading checks the folder against: a file changed since is refused before its loader reads it
        FILES: folder_files(out_dir),
    }
    write_results(out_dir / META, meta)
    return meta
