"""What every prompt format shares: templates in the dataset's language
(replaceable by files), and few-shot demonstrations from another split."""

from __future__ import annotations

import math
import random
import re
import string
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError
from nerbench.types import Label, Sentence

#: Format options nerbench handles itself, before the format sees the rest.
DEMO_OPTIONS = ("shots", "demos", "demo_split", "demo_seed")
TEMPLATE_SUFFIX = "_template"
#: A demonstration should be short and show at least one entity.
DEMO_MAX_CHARS = 300


def choose_language(language: str, available: Mapping[str, Any]) -> str:
    """The template language for a dataset: exact, then base language, then English."""
    for key in (language, language.split("-")[0], "en"):
        if key in available:
            return key
    return next(iter(available))


def labels_block(labels: Sequence[Label], language: str) -> str:
    return "\n".join(f"- {label.name}: {label.description(language)}" for label in labels)


def fill(template: str, where: str, **values: Any) -> str:
    """`str.format` with a one-line error naming the template on a bad placeholder."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    unknown = sorted(names - set(values))
    if unknown:
        raise NerbenchError(
            f"{where}: unknown placeholder {{{unknown[0]}}}; available: "
            + ", ".join("{" + k + "}" for k in sorted(values))
        )
    return template.format(**values)


def load_templates(options: dict[str, Any], base: Path) -> dict[str, Any]:
    """Replace `*_template = "file"` options with the file's text, so the text
    (not the path) is what reaches the format, the request and the cache key."""
    out = dict(options)
    for key, value in options.items():
        if key.endswith(TEMPLATE_SUFFIX):
            path = (base / str(value)).expanduser()
            try:
                out[key] = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise NerbenchError(f"format option {key}: cannot read {path}: {exc.strerror}") from None
    return out


_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


class DemoPool:
    """Sentences demonstrations are drawn from: never the evaluated split,
    and never a sentence whose text is in `exclude` (what `nerbench
    annotate` labels: a pool drawn from the split it annotates must not show
    the model the answers it is asked for)."""

    def __init__(self, sentences: Sequence[Sentence], exclude: Collection[str] = ()) -> None:
        self.sentences = [s for s in sentences
                          if s.spans and len(s.text) <= DEMO_MAX_CHARS and s.text not in exclude]
        self._words = [_words(s.text) for s in self.sentences]
        df = Counter(w for ws in self._words for w in ws)
        n = len(self.sentences)
        self._idf = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items()}
        self._postings: dict[str, list[int]] = {}
        for i, ws in enumerate(self._words):
            for w in ws:
                self._postings.setdefault(w, []).append(i)

    def select(self, sentence: Sentence, k: int, method: str, seed: int) -> list[Sentence]:
        if k <= 0 or not self.sentences:
            return []
        if method == "random":
            # Seeded per sentence: the same demos whatever the order or the limit.
            rng = random.Random(f"{seed}:{sentence.id}")
            return rng.sample(self.sentences, min(k, len(self.sentences)))
        if method == "similar":
            scores: dict[int, float] = defaultdict(float)
            for w in _words(sentence.text):
                for i in self._postings.get(w, ()):
                    scores[i] += self._idf[w]
            ranked = sorted(scores, key=lambda i: (-scores[i], i))
            ranked = [i for i in ranked if self.sentences[i].text != sentence.text]
            return [self.sentences[i] for i in ranked[:k]]
        raise NerbenchError(f"format option demos: {method!r} is not one of random, similar")
