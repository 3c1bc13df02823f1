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
from nerbench.data.readers import sentence_lines
from nerbench.distil.silver import SilverSentence
from nerbench.errors import NerbenchError
from nerbench.files.results import write_results
from nerbench.parse.alignment import TokenIndex
from nerbench.records import Example, Sentence
from nerbench.students import FILES, META, folder_files, student_id

UNLABELLED = ("O", "missing")
PICKS = ("disagreement", "random")
USES = ("mixed", "gold-only", "pretrain")


def read_silver(path: Path) -> list[SilverSentence]:
    """`silver.jsonl` as `nerbench annotate` writes it, each line checked as
    sentence JSONL is (offsets, spans on tokens) plus its votes."""
    out = []
    for where, obj, sentence in sentence_lines(path, "silver"):
        try:
            votes = tuple(int(s.get("votes", 1)) for s in obj["spans"])
            members = int(obj.get("members", 1))
            dis = obj.get("disagreement")
            disagreement = None if dis is None else float(dis)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NerbenchError(f"{where}: not a silver line ({type(exc).__name__}: {exc})") from None
        out.append(SilverSentence(sentence, votes, members, disagreement))
    if not out:
        raise NerbenchError(f"{path}: no silver sentences")
    return out


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
