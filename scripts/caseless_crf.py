"""The CRF student's features on scripts without case: the shape of
FEATURES_VERSION "2" (a caseless letter "L", a combining mark "m") against
version 1's (such a character was itself), trained and scored alike.

    NERBENCH_DATA_DIR=../shared/datasets OMP_NUM_THREADS=1 python scripts/caseless_crf.py [--chunks 3] [--size 2000]

Corpora: LeNER-Br made caseless (each letter case-folded and written as a
letter of Devanagari, one for one, so offsets, tokens and spans stay put; the
shared data holds no caseless corpus), trained on `--chunks` disjoint runs of
`--size` train sentences, scored on the whole test split; and MasakhaNER 2.0
Yorùbá as it is (cased, but written with combining tone marks: 210,204 in its
train file), trained on its whole train split. CRF c1 = c2 = 0.1, 100
iterations, seed 0. Prints one JSON object: per corpus and training set, each
version's strict F1 and the paired bootstrap p that version 2 is not better
(and that version 1 is not better). docs/porting.md quotes it."""

from __future__ import annotations

import argparse
import json
import tempfile
import unicodedata
from dataclasses import replace
from pathlib import Path

from nerbench.plugin_system.manager import get_registry
from nerbench.records import Example, Sentence
from nerbench.score.bootstrap import paired_p_value
from nerbench.score.strict import per_sentence
from nerbench_plugins.students import crf_features
from nerbench_plugins.students.crf_student import CrfStudent

VERSION_2 = crf_features.shape


def shape_1(word: str) -> str:
    """Version 1's shape: a character neither upper, lower nor a digit is itself."""
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if len(out) < 2 or not (out[-1] == c and out[-2] == c):
            out.append(c)
    return "".join(out)


DEVANAGARI = [chr(c) for c in range(0x0905, 0x0940) if chr(c).isalpha()]


def caseless(sentences: list[Sentence], letters: dict[str, str]) -> list[Sentence]:
    """Each letter case-folded and replaced by its Devanagari letter (one
    character for one: offsets hold); a new letter takes the next one."""
    def char(c: str) -> str:
        if not c.isalpha():
            return c
        key = c.lower() if len(c.lower()) == 1 else c
        if key not in letters:
            letters[key] = DEVANAGARI[len(letters) % len(DEVANAGARI)]
        return letters[key]

    out = []
    for s in sentences:
        text = "".join(char(c) for c in s.text)
        out.append(replace(s, text=text, tokens=tuple(replace(t, text=text[t.start:t.end]) for t in s.tokens)))
    return out


def scores(train: list[Sentence], test: list[Sentence], labels: list[str], language: str) -> dict:
    counts = {}
    for version, shape in (("1", shape_1), ("2", VERSION_2)):
        crf_features.shape = shape  # word_features reads the module's shape at each call
        student = CrfStudent()
        with tempfile.TemporaryDirectory() as out:
            student.train([Example(s) for s in train], [], labels, language, Path(out), seed=0)
            predicted = dict(zip((s.id for s in test), student.predict(test)))
        counts[version] = per_sentence(test, predicted)
    crf_features.shape = VERSION_2

    def f1(c: dict[str, list[int]]) -> float:
        tp, pred, gold = (sum(c[k]) for k in ("tp", "predicted", "gold"))
        return round(200 * tp / (pred + gold), 2) if pred + gold else 0.0

    return {"train_sentences": len(train), "test_sentences": len(test),
            "f1": {v: f1(c) for v, c in counts.items()},
            "p_2_not_better": paired_p_value(counts["2"], counts["1"]),
            "p_1_not_better": paired_p_value(counts["1"], counts["2"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args()
    registry = get_registry()
    out: dict = {}
    lener = registry.get("datasets", "lener_br")
    labels = [label.name for label in lener.labels]
    letters: dict[str, str] = {}
    train = caseless(list(lener.sentences("train")), letters)
    test = caseless(list(lener.sentences("test")), letters)
    assert all(not any(c.isupper() or c.islower() for c in s.text) for s in test)
    for k in range(args.chunks):
        chunk = train[k * args.size:(k + 1) * args.size]
        out[f"lener_br caseless, train {k * args.size}-{k * args.size + len(chunk)}"] = scores(
            chunk, test, labels, lener.language)
    yor = registry.get("datasets", "masakhaner2_yor")
    yor_train = list(yor.sentences("train"))
    out["masakhaner2_yor, whole train"] = {
        **scores(yor_train, list(yor.sentences("test")), [label.name for label in yor.labels], yor.language),
        "combining_marks_in_train": sum(unicodedata.category(c).startswith("M") for s in yor_train for c in s.text)}
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
