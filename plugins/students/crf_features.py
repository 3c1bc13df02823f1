"""The `crf` student's features, and its BIO tags read back as entities:
the one copy of both, used by the student inside nerbench and shipped as
code inside its spaCy package (`nerbench ship`), so this module imports
nothing of nerbench (nor anything beyond the standard library).

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
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

#: A CRF model folder: CRFsuite's file, and the features version it was trained on.
MODEL = "model.crfsuite"
FEATURES_FILE = "features.json"
FEATURES_VERSION = "2"
FEATURES = ["bias", "BOS", "EOS", "lower", "suffix2", "suffix3", "prefix3", "shape", "title", "upper", "digit",
            "punct", "length", "the same for the tokens at -2, -1, +1, +2"]

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


def sentence_features(words: Sequence[str]) -> list[Features]:
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


def bio_ranges(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first, last + 1, label) token ranges of BIO tags; an I- that does not
    continue an entity of its label starts one (as conlleval reads it), so no
    predicted token is lost."""
    ranges: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        if start >= 0 and (prefix != "I" or name != label):
            ranges.append((start, i, label))
            start = -1
        if prefix == "B" or (prefix == "I" and start < 0):
            start, label = i, name
    return ranges
