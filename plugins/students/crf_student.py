"""The `crf` student: a linear-chain CRF (sklearn-crfsuite, L-BFGS with
elastic-net regularisation, every transition between labels allowed) over
BIO tags on nerbench's tokens.

Features of token i (FEATURES_VERSION "2"; the report lists them):

- for the token itself and for each neighbour at -2, -1, +1, +2 (prefixed
  "-2:", "-1:", "+1:", "+2:"): the lower-cased word, its last 2 and last 3
  characters, its first 3, its shape (upper → X, lower → x, digit → d, a
  letter of a script without case → L, a combining mark → m, any other
  character itself, runs cut at 2: "Supremo" → "Xxx", "2010" → "dd",
  "12/03/2010" → "dd/dd/dd"), whether it is title-case, upper-case, all
  digits, all punctuation, and its length bucket (1, 2-3, 4-6, 7+);
- a bias; BOS on the first token and EOS on the last (a neighbour beyond the
  sentence contributes nothing).

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
The model is CRFsuite's own file, `model.crfsuite`, beside `features.json`."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nerbench import api

from .common import bio_spans, strict_f1, token_ranges

MODEL = "model.crfsuite"
FEATURES_FILE = "features.json"
FEATURES_VERSION = "2"
FEATURES = ["bias", "BOS", "EOS", "lower", "suffix2", "suffix3", "prefix3", "shape", "title", "upper", "digit",
            "punct", "length", "the same for the tokens at -2, -1, +1, +2"]
DEFAULTS: dict[str, Any] = {"c1": 0.1, "c2": 0.1, "max_iterations": 100}
MISSING_RULE = ("sentences with missing tokens and no entity are left out (a silent teacher's sentence taught "
                "as all O is the main damage); in the others, missing tokens are taught as O (CRFsuite has no "
                "partial labels)")

Features = dict[str, str | bool]


def shape(word: str) -> str:
    out: list[str] = []
    for ch in word:
        # A letter of a script without case (Arabic, Devanagari, CJK, ...) is "L" and a combining
        # mark "m": else a caseless word's shape would be the word itself, a second `lower`.
        c = ("X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else "L" if ch.isalpha()
             else "m" if unicodedata.category(ch).startswith("M") else ch)
        # Runs cut at 2: "Xxx" tells a capitalised word from "Xx" (two letters) and no more.
        if len(out) < 2 or not (out[-1] == c and out[-2] == c):
            out.append(c)
    return "".join(out)


def length_bucket(n: int) -> str:
    return "1" if n == 1 else "2-3" if n <= 3 else "4-6" if n <= 6 else "7+"


def word_features(word: str, prefix: str) -> Features:
    lower = word.lower()
    return {
        f"{prefix}lower": lower,
        f"{prefix}suffix2": lower[-2:],
        f"{prefix}suffix3": lower[-3:],
        f"{prefix}prefix3": lower[:3],
        f"{prefix}shape": shape(word),
        f"{prefix}title": word.istitle(),
        f"{prefix}upper": word.isupper(),
        f"{prefix}digit": word.isdigit(),
        f"{prefix}punct": all(unicodedata.category(ch).startswith("P") for ch in word),
        f"{prefix}length": length_bucket(len(word)),
    }


def sentence_features(sentence: api.Sentence) -> list[Features]:
    words = [t.text for t in sentence.tokens]
    own = [word_features(w, "") for w in words]
    out = []
    for i in range(len(words)):
        features: Features = {"bias": True, **own[i]}
        if i == 0:
            features["BOS"] = True
        if i == len(words) - 1:
            features["EOS"] = True
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < len(words):
                mark = f"{offset:+d}:"
                features.update({mark + key: value for key, value in own[j].items()})
        out.append(features)
    return out


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
        self.options = {**DEFAULTS, **options}
        self._crf: Any = None

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
        xs = [sentence_features(e.sentence) for e in order]
        tagged = [bio_tags(e.sentence) for e in order]
        ys = [t[0] for t in tagged]
        dev_xs = [sentence_features(s) for s in dev]
        grid = list(itertools.product(as_list(self.options["c1"]), as_list(self.options["c2"])))
        if not dev:
            grid = grid[:1]
        settings: list[dict[str, Any]] = []
        best = -1
        out_dir.mkdir(parents=True, exist_ok=True)
        for k, (c1, c2) in enumerate(grid):
            path = out_dir / (MODEL if len(grid) == 1 else f".grid-{k}.crfsuite")
            crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=c1, c2=c2,
                                       max_iterations=int(self.options["max_iterations"]),
                                       all_possible_transitions=True, model_filename=str(path))
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
            "max_iterations": int(self.options["max_iterations"]), "algorithm": "lbfgs",
            "features": {"version": FEATURES_VERSION, "set": FEATURES},
            "sentences": len(kept), "left_out": left_out, "missing_as_O": as_o, "missing": MISSING_RULE,
            "overlapping_spans_left_out": sum(t[1] for t in tagged),
            "order": f"shuffled with random.Random({seed})",
            "train_s": round(time.perf_counter() - started, 3),
        }
        if not dev:
            report["dev_note"] = "no dev sentences: the first c1/c2 setting alone was trained"
        return report

    def load(self, model_dir: Path) -> None:
        import sklearn_crfsuite

        meta = json.loads((model_dir / FEATURES_FILE).read_text(encoding="utf-8"))
        if meta.get("version") != FEATURES_VERSION:
            raise api.NerbenchError(f"{model_dir}: a crf model of features version {meta.get('version')!r}; "
                                    f"this nerbench computes version {FEATURES_VERSION!r}: train it again")
        self._crf = sklearn_crfsuite.CRF(model_filename=str(model_dir / MODEL))

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
            tagger.set(sentence_features(sentence))
            out.append(1.0 - tagger.probability(tagger.tag()) if sentence.tokens else 0.0)
        return out

    def predict(self, sentences: Sequence[api.Sentence]) -> list[list[api.Span]]:
        if self._crf is None:
            raise api.NerbenchError("the crf student has no model: train or load one first")
        tags = self._crf.predict([sentence_features(s) for s in sentences])
        return [bio_spans(s, t) for s, t in zip(sentences, tags)]
