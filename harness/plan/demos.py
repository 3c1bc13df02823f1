"""Few-shot demonstrations: drawn from another split than the one evaluated,
at random (seeded per sentence) or the most similar by word overlap."""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence

from nerbench.errors import NerbenchError
from nerbench.records import Sentence

#: A demonstration should be short and show at least one entity.
DEMO_MAX_CHARS = 300


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
