"""A gazetteer "backend": the gold entities of a training split, looked up.

It shows that a backend need not be an LLM, and gives leaderboards the
memorisation baseline a model should beat. Answers use the `json` format's
shape: {"entities": [{"text": ..., "label": ...}]}.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections import Counter, defaultdict

from nerbench import api
from nerbench.api import lookup

_WORD = re.compile(r"\w+|[^\w\s]")
# The json format's user message is "Texto: ..." / "Text: ...": keep what follows.
_PREFIX = re.compile(r"^\w+: ")


def _key(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


class GazetteerBackend(api.Backend):
    """Option `train`: the ID:SPLIT whose gold entities are looked up."""

    default_concurrency = 4

    def __init__(self, name, options):
        super().__init__(name, options)
        self._entries: dict[tuple[str, ...], str] = {}
        self._longest = 0

    @property
    def endpoint(self) -> str:
        return f"gazetteer:{self.options.get('train', '?')}"

    async def start(self) -> None:
        ref = self.options.get("train")
        if not isinstance(ref, str) or ":" not in ref:
            raise api.NerbenchError(f"backend {self.name!r}: option train = \"ID:SPLIT\" is required")
        dataset_id, split = ref.split(":", 1)
        votes: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for sentence in lookup("datasets", dataset_id).sentences(split):
            for span in sentence.spans:
                words = tuple(_key(w) for w in _WORD.findall(sentence.text[span.start:span.end]))
                votes[words][span.label] += 1
        self._entries = {words: c.most_common(1)[0][0] for words, c in votes.items() if words}
        self._longest = max(map(len, self._entries), default=0)

    async def describe(self, model):
        return {"entries": len(self._entries), "train": self.options.get("train")}

    def lookup(self, text: str) -> list[dict[str, str]]:
        matches = list(_WORD.finditer(text))
        keys = [_key(m.group()) for m in matches]
        found, i = [], 0
        while i < len(matches):
            for n in range(min(self._longest, len(matches) - i), 0, -1):
                label = self._entries.get(tuple(keys[i:i + n]))
                if label:
                    found.append({"text": text[matches[i].start():matches[i + n - 1].end()], "label": label})
                    i += n
                    break
            else:
                i += 1
        return found

    async def generate(self, request: api.Request) -> api.Generation:
        started = time.perf_counter()
        user = next(m["content"] for m in reversed(request.messages) if m["role"] == "user")
        answer = json.dumps({"entities": self.lookup(_PREFIX.sub("", user, count=1))}, ensure_ascii=False)
        return api.Generation(answer, "stop", latency_s=time.perf_counter() - started)


@api.hookimpl
def register_backends(register):
    register("gazetteer", GazetteerBackend)
