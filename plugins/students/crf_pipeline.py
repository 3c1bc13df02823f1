"""The `crf` student as a spaCy pipeline component, `nerbench_crf`: what a
shipped CRF package runs where nerbench is not installed. It travels as code
inside the package (`spacy package --code`) with `crf_features.py`, so it
imports no nerbench: spaCy, python-crfsuite (the library sklearn-crfsuite
trains with) and the features.

The component tags the doc's tokens (whitespace tokens left out, as
nerbench's tokens never hold whitespace) with the CRF's BIO tags and sets
them as `doc.ents`. Give it a `Doc` of nerbench's tokens and it answers
exactly what the student answers inside nerbench."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pycrfsuite
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import import_file

if __package__:  # inside the installed package (or nerbench): the features are a sibling module
    from . import crf_features
else:  # `spacy package` imports each --code file alone, by its path
    crf_features = import_file("crf_features", Path(__file__).with_name("crf_features.py"))

FACTORY = "nerbench_crf"


class CrfComponent:
    """CRFsuite's tagger over the crf student's features."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tagger: Any = None
        self._source: Path | None = None

    def __call__(self, doc: Doc) -> Doc:
        words = [t for t in doc if not t.is_space]
        if not words:
            return doc
        tags = self._tagger.tag(crf_features.sentence_features([t.text for t in words]))
        doc.set_ents([Span(doc, words[first].i, words[last - 1].i + 1, label=label)
                      for first, last, label in crf_features.bio_ranges(tags)])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        if self._source is None:
            raise ValueError(f"{self.name}: no CRF model to save (load one with from_disk)")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in (crf_features.MODEL, crf_features.FEATURES_FILE):
            shutil.copyfile(self._source / name, path / name)

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> CrfComponent:
        """The CRFsuite model in `path` (a student's folder, or the component's in a package)."""
        path = Path(path)
        meta = json.loads((path / crf_features.FEATURES_FILE).read_text(encoding="utf-8"))
        if meta.get("version") != crf_features.FEATURES_VERSION:
            raise ValueError(f"{path}: CRF features version {meta.get('version')!r}, but this code "
                             f"computes {crf_features.FEATURES_VERSION!r}")
        tagger = pycrfsuite.Tagger()
        tagger.open(str(path / crf_features.MODEL))
        self._tagger, self._source = tagger, path
        return self


@Language.factory(FACTORY)
def make_crf(nlp: Language, name: str) -> CrfComponent:
    return CrfComponent(name)
