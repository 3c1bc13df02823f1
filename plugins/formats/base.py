"""What this plugin's formats share: templates per language, demonstrations
as earlier chat turns, tolerant JSON, and grounding with counts."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import nerbench
from nerbench import Label, ParseResult, Sentence
from nerbench.alignment import OCCURRENCE_POLICIES
from nerbench.prompting import choose_language, fill, labels_block


class TemplatedFormat(nerbench.PromptFormat):
    """Options: `occurrence` ("all", "first" or "index": which occurrences of a
    repeated mention it stands for), `system_template` and `user_template`
    (text replacing the built-in template; nerbench reads them from files)."""

    #: language → {"system": ..., "user": ...}
    TEMPLATES: dict[str, dict[str, str]] = {}

    def __init__(self, occurrence: str = "all", system_template: str | None = None,
                 user_template: str | None = None) -> None:
        if occurrence not in OCCURRENCE_POLICIES:
            raise nerbench.NerbenchError(
                f"format option occurrence: {occurrence!r} is not one of {', '.join(OCCURRENCE_POLICIES)}"
            )
        self.occurrence = occurrence
        self.overrides = {"system": system_template, "user": user_template}

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
        by_name = {label.name.casefold(): label.name for label in labels}
        haystack = nerbench.normalise(sentence.text)
        index = nerbench.TokenIndex(sentence.tokens)
        seen: Counter = Counter()
        spans = set(result.spans)
        for mention, raw_label in items:
            result.count("mentions")
            label = by_name.get(raw_label.strip().casefold())
            if label is None:
                result.count("unknown_label")
                continue
            key = unicodedata.normalize("NFC", mention.strip())
            grounded = nerbench.ground(mention, label, haystack, index, self.occurrence, seen[key])
            seen[key] += 1
            if not grounded:
                result.count("ungrounded")
            spans.update(grounded)
        result.spans = sorted(spans)


def surface(sentence: Sentence, span: nerbench.Span) -> str:
    return sentence.text[span.start : span.end]


def _closers(prefix: str) -> str | None:
    """Brackets that close `prefix`, or None when it ends inside a string."""
    stack = []
    in_string = escaped = False
    for ch in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return None if in_string else "".join(reversed(stack))


def loads_tolerant(text: str, tries: int = 64) -> Any:
    """JSON, or for an answer cut off (or followed by chatter), the longest
    prefix that parses once its open brackets are closed; None if nothing does."""
    start = min((i for i in (text.find("{"), text.find("[")) if i != -1), default=-1)
    if start == -1:
        return None
    body = text[start:]
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        pass
    try:
        value, _ = json.JSONDecoder().raw_decode(body)
        return value
    except json.JSONDecodeError:
        pass
    cut = len(body)
    for _ in range(tries):
        cut = max(body.rfind('"', 0, cut), body.rfind("}", 0, cut), body.rfind("]", 0, cut))
        if cut <= 0:
            return None
        prefix = body[: cut + 1]
        closers = _closers(prefix)
        if closers is None:
            continue
        try:
            return json.loads(prefix + closers)
        except json.JSONDecodeError:
            continue
    return None


def status_for(parsed_ok: bool, truncated: bool) -> str:
    if truncated:
        return nerbench.STATUS_TRUNCATED
    return nerbench.STATUS_OK if parsed_ok else nerbench.STATUS_UNPARSEABLE
