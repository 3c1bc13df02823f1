"""The `crf` student: a linear-chain CRF (sklearn-crfsuite, L-BFGS with
elastic-net regularisation, every transition between labels allowed) over
BIO tags on nerbench's tokens.

Features of token i: `crf_features.py` (no nerbench import: it travels in a
shipped package, `nerbench ship`).

A richer set like this one gave 63.2 F1 against 57.3 for a minimal one
(word, suffix, title) on 1,000 LeNER-Br sentences, in the issue that chose it;
here (defaults, seed 0, 200 dev sentences) 1,000 train sentences trained in
11 s on one core to a strict F1 of 0.685 on the first 1,000 test sentences.

Missing labels: CRFsuite has no partial labels. A sentence with missing
tokens and no entity at all is left out (taught as all "O", a silent
teacher's sentence is the main damage); in the others, missing tokens are
taught as "O". Both counts are in the report (`left_out`, `missing_as_O`).
Overlapping spans cannot be BIO tags: the earliest, then longest, is kept
and the rest counted.

Options (`--option KEY=VALUE`):

- `c1` (0.1), `c2` (0.1): L1 and L2 regularisation; each may be a list, and
  then every pair is trained and the best dev F1 kept (a small grid; the
  report has the dev F1 of each setting).
- `max_iterations` (100): L-BFGS iterations; CRFsuite trains in one call, so
  this, not epochs, bounds the training.

Doubt (the active loop's `doubt` pick): 1 − the probability of the
model's best tagging of the sentence (CRFsuite's Viterbi path, normalised by
its forward-backward partition function).

The training order is shuffled with `random.Random(seed)` (recorded);
CRFsuite is deterministic given its data in order, so one seed, one model.
The model is CRFsuite's own file, `model.crfsuite`, beside `features.json`.

A model file from a stranger is read by CRFsuite's C reader, which trusts
it: a truncated file ended the process with SIGSEGV. So before nerbench
loads one, a short-lived process loads it, tags a token and reads every
label, attribute and weight (`Tagger.info`); only if that process ends well
does nerbench load it (`verify`). Measured: 0.04 s per model folder, once
per run (one Python start and the import of pycrfsuite)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from nerbench import api

from .common import strict_f1, to_span, token_ranges
from .crf_features import FEATURES, FEATURES_FILE, FEATURES_VERSION, MODEL, bio_ranges, sentence_features

MISSING_RULE = ("sentences with missing tokens and no entity are left out (a silent teacher's sentence taught "
                "as all O is the main damage); in the others, missing tokens are taught as O (CRFsuite has no "
                "partial labels)")


def words(sentence: api.Sentence) -> list[str]:
    return [t.text for t in sentence.tokens]

#: The trial load of a model file, in a process of its own (see the module docstring).
PROBE = ("import sys, pycrfsuite; t = pycrfsuite.Tagger(); t.open(sys.argv[1]); t.tag([{'bias': 1.0}]); "
         "t.info()")
#: A hang guard for the trial load (it takes a fraction of a second), not a deadline on the model.
PROBE_TIMEOUT_S = 120


def bio_spans(sentence: api.Sentence, tags: Sequence[str]) -> list[api.Span]:
    return [to_span(sentence, first, last, label) for first, last, label in bio_ranges(tags)]


def bio_tags(sentence: api.Sentence) -> tuple[list[str], int]:
    tags = ["O"] * len(sentence.tokens)
    ranges, dropped = token_ranges(sentence)
    for first, last, label in ranges:
        tags[first] = f"B-{label}"
        for i in range(first + 1, last):
            tags[i] = f"I-{label}"
    return tags, dropped


def taught(examples: Sequence[api.Example]) -> tuple[list[api.Example], int, int]:
    """The examples CRFsuite learns from, how many were left out, and how
    many missing tokens are taught as O (see the module docstring)."""
    kept, left_out, as_o = [], 0, 0
    for example in examples:
        if any(example.missing) and not example.sentence.spans:
            left_out += 1
            continue
        kept.append(example)
        as_o += sum(example.missing)
    return kept, left_out, as_o


def as_list(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def reporting_trainer(report: Callable[[int, int], None], before: int, total: int) -> type:
    """A CRFsuite trainer that tells `report(before + done, total)` of each
    L-BFGS iteration and prints nothing (sklearn-crfsuite's verbose one prints a
    line per iteration to stdout)."""
    import pycrfsuite

    class Trainer(pycrfsuite.Trainer):
        def message(self, message: str) -> None:
            # the log parser still sees every line: training_log_ stays whole
            if self.logparser.feed(message) == "iteration":
                report(before + int(self.logparser.last_iteration["num"]), total)

    return Trainer


class CrfStudent(api.Student):
    """A linear-chain CRF over word, affix, shape and neighbour features."""

    OPTIONS: ClassVar[dict[str, Any] | None] = {
        "c1": {"anyOf": [{"type": "number", "minimum": 0},
                         {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1}],
               "default": 0.1, "description": "L1 regularisation (a list: a grid, chosen on dev F1)"},
        "c2": {"anyOf": [{"type": "number", "minimum": 0},
                         {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1}],
               "default": 0.1, "description": "L2 regularisation (a list: a grid, chosen on dev F1)"},
        "max_iterations": {"type": "integer", "minimum": 1, "default": 100,
                           "description": "L-BFGS iterations"},
    }
    doubts: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._crf: Any = None
        self._dir: Path | None = None

    @classmethod
    def missing(cls) -> str | None:
        return "sklearn-crfsuite" if importlib.util.find_spec("sklearn_crfsuite") is None else None

    def train(self, examples: Sequence[api.Example], dev: Sequence[api.Sentence], labels: Sequence[str],
              language: str, out_dir: Path, seed: int) -> dict[str, Any]:
        import sklearn_crfsuite

        started = time.perf_counter()
        kept, left_out, as_o = taught(examples)
        if not kept:
            raise api.NerbenchError(f"the crf student has nothing to train on: all {len(examples)} sentences "
                                    "have missing tokens and no entity")
        order = list(kept)
        random.Random(seed).shuffle(order)
        xs = [sentence_features(words(e.sentence)) for e in order]
        tagged = [bio_tags(e.sentence) for e in order]
        ys = [t[0] for t in tagged]
        dev_xs = [sentence_features(words(s)) for s in dev]
        grid = list(itertools.product(as_list(self.options["c1"]), as_list(self.options["c2"])))
        if not dev:
            grid = grid[:1]
        settings: list[dict[str, Any]] = []
        best = -1
        out_dir.mkdir(parents=True, exist_ok=True)
        iterations = int(self.options["max_iterations"])
        for k, (c1, c2) in enumerate(grid):
            path = out_dir / (MODEL if len(grid) == 1 else f".grid-{k}.crfsuite")
            trainer = reporting_trainer(self.progress, k * iterations, len(grid) * iterations)
            crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=iterations,
                                       all_possible_transitions=True, model_filename=str(path), trainer_cls=trainer)
            crf.fit(xs, ys)
            f1 = strict_f1([bio_spans(s, t) for s, t in zip(dev, crf.predict(dev_xs))], dev) if dev else None
            log = crf.training_log_
            settings.append({"c1": c1, "c2": c2, "dev_f1": f1,
                             "iterations": len(log.iterations) if log is not None else None})
            if best < 0 or (f1 or 0.0) > (settings[best]["dev_f1"] or 0.0):
                best = k
        if len(grid) > 1:
            (out_dir / f".grid-{best}.crfsuite").replace(out_dir / MODEL)
            for k in range(len(grid)):
                (out_dir / f".grid-{k}.crfsuite").unlink(missing_ok=True)
        (out_dir / FEATURES_FILE).write_text(json.dumps({"version": FEATURES_VERSION, "features": FEATURES}) + "\n",
                                             encoding="utf-8")
        self.load(out_dir)
        report: dict[str, Any] = {
            "settings": settings, "best": {"c1": settings[best]["c1"], "c2": settings[best]["c2"]},
            "dev_f1": [s["dev_f1"] for s in settings] if dev else [], "best_dev_f1": settings[best]["dev_f1"],
            "max_iterations": iterations, "algorithm": "lbfgs",
            "features": {"version": FEATURES_VERSION, "set": FEATURES},
            "sentences": len(kept), "left_out": left_out, "missing_as_O": as_o, "missing": MISSING_RULE,
            "overlapping_spans_left_out": sum(t[1] for t in tagged),
            "order": f"shuffled with random.Random({seed})",
            "train_s": round(time.perf_counter() - started, 3),
        }
        if not dev:
            report["dev_note"] = "no dev sentences: the first c1/c2 setting alone was trained"
        return report

    @classmethod
    def verify(cls, model_dir: Path) -> None:
        model = api.contained(model_dir, MODEL, f"{model_dir}: {MODEL}")
        if not model.is_file():
            raise api.NerbenchError(f"{model}: missing (a crf model folder holds {MODEL} and {FEATURES_FILE})")
        try:
            probe = subprocess.run([sys.executable, "-c", PROBE, str(model)], stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, errors="replace", timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise api.NerbenchError(f"{model}: CRFsuite did not finish reading it in {PROBE_TIMEOUT_S} s "
                                    "(a trial load in a process of its own); not loaded") from None
        if probe.returncode != 0:
            why = (f"killed by {signal.Signals(-probe.returncode).name}" if probe.returncode < 0
                   else (probe.stderr.strip().splitlines() or ["failed"])[-1])
            raise api.NerbenchError(f"{model}: not a CRFsuite model that loads (a trial load in a process of its "
                                    f"own: {why}); not loaded")

    def load(self, model_dir: Path) -> None:
        import sklearn_crfsuite

        meta = json.loads((model_dir / FEATURES_FILE).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("version") != FEATURES_VERSION:
            version = meta.get("version") if isinstance(meta, dict) else None
            raise api.NerbenchError(f"{model_dir}: a crf model of features version {version!r}; "
                                    f"this nerbench computes version {FEATURES_VERSION!r}: train it again")
        crf = sklearn_crfsuite.CRF(model_filename=str(model_dir / MODEL))
        # Opened now, so a file that does not load fails here, not at the first sentence.
        if crf.tagger_ is None:
            raise api.NerbenchError(f"{model_dir / MODEL}: CRFsuite opened no model")
        self._crf = crf
        self._dir = model_dir

    def doubt(self, sentences: Sequence[api.Sentence]) -> list[float]:
        """1 − the probability of the model's own best tagging of the
        sentence: the chance that a reviewer finds something to correct in
        it. Not the mean over tokens of 1 − the largest marginal, measured
        first: it ranks short sentences first (a few unsure tokens among few),
        and on pt-distill's pool its 200 most doubtful sentences held 0.24
        gold entities and 7 tokens each, against 2.9 and 47 for this one."""
        if self._crf is None:
            raise api.NerbenchError("the crf student has no model: train or load one first")
        tagger = self._crf.tagger_
        out = []
        for sentence in sentences:
            tagger.set(sentence_features(words(sentence)))
            out.append(1.0 - tagger.probability(tagger.tag()) if sentence.tokens else 0.0)
        return out

    def predict(self, sentences: Sequence[api.Sentence]) -> list[list[api.Span]]:
        if self._crf is None:
            raise api.NerbenchError("the crf student has no model: train or load one first")
        tags = self._crf.predict([sentence_features(words(s)) for s in sentences])
        return [bio_spans(s, t) for s, t in zip(sentences, tags)]

    def to_spacy(self, out_dir: Path, language: str) -> tuple[list[Path], list[str]]:
        """A blank pipeline of the language with the `nerbench_crf`
        component (crf_pipeline.py) holding this CRFsuite model; its code and
        the features travel in the package, python-crfsuite is its requirement."""
        import spacy

        from . import crf_pipeline
        from .spacy_student import spacy_language

        if self._dir is None:
            raise api.NerbenchError("the crf student has no model to ship: load one first")
        nlp = spacy.blank(spacy_language(language)[0])
        component = nlp.add_pipe(crf_pipeline.FACTORY)
        assert isinstance(component, crf_pipeline.CrfComponent)
        component.from_disk(self._dir)
        nlp.to_disk(out_dir)
        here = Path(__file__).parent
        return [here / "crf_features.py", here / "crf_pipeline.py"], ["python-crfsuite>=0.9.7"]
