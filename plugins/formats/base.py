"""What this plugin's formats share: templates per language, demonstrations
as earlier chat turns, tolerant JSON, and grounding with counts."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from nerbench import api
from nerbench.api import Label, ParseResult, Sentence
from nerbench.api import OCCURRENCE_POLICIES
from nerbench.api import choose_language, fill, labels_block


class TemplatedFormat(api.PromptFormat):
    """Options: `occurrence` ("all", "first" or "index": which occurrences of a
    repeated mention it stands for), `system_template` and `user_template`
    (text replacing the built-in template; nerbench reads them from files)."""

    #: language → {"system": ..., "user": ...}
    TEMPLATES: dict[str, dict[str, str]] = {}
    OPTIONS: ClassVar[dict[str, Any]] = {
        "occurrence": {"enum": list(OCCURRENCE_POLICIES), "default": "all"},
        "system_template": {"type": "string"},
        "user_template": {"type": "string"},
    }
    occurrence: str

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.occurrence not in OCCURRENCE_POLICIES:
            raise api.NerbenchError(
                f"format option occurrence: {self.occurrence!r} is not one of {', '.join(OCCURRENCE_POLICIES)}"
            )
        self.overrides = {"system": options.get("system_template"), "user": options.get("user_template")}

    def template(self, part: str, language: str) -> str:
        return self.overrides[part] or self.TEMPLATES[choose_language(language, self.TEMPLATES)][part]

    def chat(
        self,
        sentence: Sentence,
        labels: Sequence[Label],
        language: str,
        demos: Sequence[Sentence],
        answer_for: Callable[[Sentence], str],
        **extra: Any,
    ) -> tuple[dict[str, str], ...]:
        values = {"labels": labels_block(labels, language), **extra}
        system = fill(self.template("system", language), "system_template", text=sentence.text, **values)
        messages = [{"role": "system", "content": system}]
        user = self.template("user", language)
        for demo in demos:
            messages.append({"role": "user", "content": fill(user, "user_template", text=demo.text, **values)})
            messages.append({"role": "assistant", "content": answer_for(demo)})
        messages.append({"role": "user", "content": fill(user, "user_template", text=sentence.text, **values)})
        return tuple(messages)

    def ground_items(
        self, result: ParseResult, items: Iterable[tuple[str, str]], sentence: Sentence, labels: Sequence[Label]
    ) -> None:
        """Ground (mention, label) pairs into `result.spans`, counting issues."""
        items = list(items)
        if not items:  # many answers (no entity): the sentence need not be indexed
            result.spans = sorted(set(result.spans))
            return
        by_name = {label.name.casefold(): label.name for label in labels}
        haystack = api.normalise(sentence.text)
        index = api.TokenIndex(sentence.tokens)
        seen: Counter = Counter()
        spans = set(result.spans)
        for mention, raw_label in items:
            result.count("mentions")
            label = by_name.get(raw_label.strip().casefold())
            if label is None:
                result.count("unknown_label")
                continue
            key = unicodedata.normalize("NFC", mention.strip())
            grounded = api.ground(mention, label, haystack, index, self.occurrence, seen[key])
            seen[key] += 1
            if not grounded:
                result.count("ungrounded")
            spans.update(grounded)
        result.spans = sorted(spans)


def surface(sentence: Sentence, span: api.Span) -> str:
    return sentence.text[span.start : span.end]


def status_for(parsed_ok: bool, truncated: bool) -> str:
    if truncated:
        return api.STATUS_TRUNCATED
    return api.STATUS_OK if parsed_ok else api.STATUS_UNPARSEABLE
