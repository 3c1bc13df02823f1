"""Formats where the model rewrites the sentence with entities marked:
`inline-xml` (<LABEL>…</LABEL>), `inline-bracket` ([mention | LABEL]) and
`per-type` (GPT-NER: one request per type, entities marked @@…##)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from nerbench import api
from nerbench.api import Generation, Label, ParseResult, Prompt, Sentence, Span
from nerbench.api import align_rewrite

from .base import TemplatedFormat, status_for


def mark(sentence: Sentence, spans: Sequence[Span], wrap: Callable[[str, str], str]) -> str:
    """The sentence with each (non-overlapping) span replaced by wrap(surface, label)."""
    out, pos = [], 0
    for span in sorted(spans):
        if span.start < pos:
            continue
        out.append(sentence.text[pos : span.start])
        out.append(wrap(sentence.text[span.start : span.end], span.label))
        pos = span.end
    out.append(sentence.text[pos:])
    return "".join(out)


def rewrite_templates(pt_marking: str, en_marking: str) -> dict[str, dict[str, str]]:
    """Templates asking for the sentence back with entities marked as described."""
    return {
        "pt": {
            "system": "Você é um sistema de reconhecimento de entidades nomeadas. Tipos:\n{labels}\n"
                      f"Reescreva o texto do usuário exatamente como está, {pt_marking} Não mude mais nada no texto.",
            "user": "Texto: {text}",
        },
        "en": {
            "system": "You are a named entity recognition system. Types:\n{labels}\n"
                      f"Rewrite the user's text exactly as it is, {en_marking} Change nothing else in the text.",
            "user": "Text: {text}",
        },
    }


def rewrite_tokens(sentence: Sentence) -> int:
    # Rewriting needs about the sentence's own length in tokens, plus markup.
    return len(sentence.text) // 2 + 48


class InlineFormat(TemplatedFormat):
    """Shared by the rewrite formats: subclasses say how entities are marked
    (`wrap`) and how to find marks in an answer (`extract`)."""

    def wrap(self, mention: str, label: str) -> str:
        raise NotImplementedError

    def extract(self, text: str, result: ParseResult) -> tuple[str, list[tuple[int, int, str]]]:
        """The answer with marks removed, and (start, end, label) of each mark in it."""
        raise NotImplementedError

    def answer(self, sentence: Sentence) -> str:
        return mark(sentence, sentence.spans, self.wrap)

    def render(
        self, sentence: Sentence, labels: Sequence[Label], language: str, demos: Sequence[Sentence] = ()
    ) -> list[Prompt]:
        messages = self.chat(sentence, labels, language, demos, self.answer)
        return [Prompt(messages, None, rewrite_tokens(sentence))]

    def gold_answer(self, sentence: Sentence, labels: Sequence[Label], language: str) -> list[str]:
        return [self.answer(sentence)]

    def ground_marks(
        self, result: ParseResult, text: str, sentence: Sentence, labels: Sequence[Label],
        forced_label: str | None = None,
    ) -> list[tuple[int, int, str]]:
        plain, marks = self.extract(text, result)
        by_name = {label.name.casefold(): label.name for label in labels}
        located, changed = align_rewrite(api.normalise(sentence.text), plain, [(s, e) for s, e, _ in marks])
        if changed and marks:
            result.count("realigned")
        index = api.TokenIndex(sentence.tokens)
        spans = set(result.spans)
        for (_, _, raw_label), where in zip(marks, located):
            result.count("mentions")
            label = forced_label or by_name.get(raw_label.strip().casefold())
            if label is None:
                result.count("unknown_label")
                continue
            snapped = index.snap(*where) if where else None
            if snapped is None:
                result.count("ungrounded")
                continue
            spans.add(Span(snapped[0], snapped[1], label))
        result.spans = sorted(spans)
        return marks

    def parse(self, outputs: Sequence[Generation], sentence: Sentence, labels: Sequence[Label]) -> ParseResult:
        output = outputs[0]
        result = ParseResult(spans=[])
        result.status = status_for(bool(output.text.strip()), output.finish_reason == "length")
        if output.text.strip():
            if not self.ground_marks(result, output.text, sentence, labels):
                result.count("empty")
        return result


# `<\s*(/)?\s*` would try every split of a run of spaces between its two
# `\s*` (quadratic on an answer of "<" and spaces): the slash's spaces go with it.
_XML_TAG = re.compile(r"<\s*(?:(/)\s*)?([A-Za-z_][\w-]*)\s*>")


class InlineXmlFormat(InlineFormat):
    version = "1"
    TEMPLATES = rewrite_templates(
        "marcando cada entidade com etiquetas XML do seu tipo, por exemplo <PESSOA>Maria Silva</PESSOA>.",
        "marking each entity with XML tags of its type, for example <PER>Mary Smith</PER>.",
    )

    def wrap(self, mention: str, label: str) -> str:
        return f"<{label}>{mention}</{label}>"

    def extract(self, text: str, result: ParseResult) -> tuple[str, list[tuple[int, int, str]]]:
        plain, marks, stack, pos = [], [], [], 0
        length = 0
        # Nothing can match past the last ">": a lazy scan need not try (quadratic on hostile answers).
        for m in _XML_TAG.finditer(text, 0, text.rfind(">") + 1):
            chunk = text[pos : m.start()]
            plain.append(chunk)
            length += len(chunk)
            pos = m.end()
            closing, label = m.group(1) == "/", m.group(2)
            if not closing:
                stack.append((label, length))
                continue
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == label:
                    marks.append((stack[k][1], length, label))
                    del stack[k:]
                    break
            else:
                result.count("malformed")
        plain.append(text[pos:])
        if stack:
            result.count("malformed", len(stack))
        return "".join(plain), sorted(marks)


_BRACKET = re.compile(r"\[([^\[\]|]+?)\s*\|\s*([A-Za-z_][\w-]*)\s*\]")


def _replace_marks(
    pattern: re.Pattern[str], text: str, label_group: int | None, closer: str
) -> tuple[str, list[tuple[int, int, str]]]:
    plain, marks, pos, length = [], [], 0, 0
    # Nothing can match past the last `closer`: a lazy scan need not try (quadratic on hostile answers).
    for m in pattern.finditer(text, 0, text.rfind(closer) + len(closer)):
        chunk = text[pos : m.start()]
        plain.append(chunk)
        length += len(chunk)
        mention = m.group(1)
        marks.append((length, length + len(mention), m.group(label_group) if label_group else ""))
        plain.append(mention)
        length += len(mention)
        pos = m.end()
    plain.append(text[pos:])
    return "".join(plain), marks


class InlineBracketFormat(InlineFormat):
    version = "1"
    TEMPLATES = rewrite_templates(
        "trocando cada entidade por [entidade | TIPO], por exemplo [Maria Silva | PESSOA].",
        "replacing each entity with [entity | TYPE], for example [Mary Smith | PER].",
    )

    def wrap(self, mention: str, label: str) -> str:
        return f"[{mention} | {label}]"

    def extract(self, text: str, result: ParseResult) -> tuple[str, list[tuple[int, int, str]]]:
        return _replace_marks(_BRACKET, text, 2, "]")


_AT_HASH = re.compile(r"@@(.+?)##", re.S)


class PerTypeFormat(InlineFormat):
    """GPT-NER: one request per entity type; the model marks that type's
    entities as @@mention## in a copy of the sentence."""

    version = "1"
    TEMPLATES = {
        "pt": {
            "system": "Você é um sistema de reconhecimento de entidades nomeadas. "
                      "Encontre as entidades do tipo {label} ({description}). Reescreva o texto do usuário "
                      "exatamente como está, marcando cada entidade desse tipo como @@entidade##, por exemplo "
                      "@@Maria Silva##. Não mude mais nada no texto.",
            "user": "Texto: {text}",
        },
        "en": {
            "system": "You are a named entity recognition system. Find the entities of type {label} "
                      "({description}). Rewrite the user's text exactly as it is, marking each entity of that "
                      "type as @@entity##, for example @@Mary Smith##. Change nothing else in the text.",
            "user": "Text: {text}",
        },
    }

    def wrap(self, mention: str, label: str) -> str:
        return f"@@{mention}##"

    def extract(self, text: str, result: ParseResult) -> tuple[str, list[tuple[int, int, str]]]:
        return _replace_marks(_AT_HASH, text, None, "##")

    def _answer_for(self, label: str) -> Callable[[Sentence], str]:
        return lambda s: mark(s, [x for x in s.spans if x.label == label], self.wrap)

    def render(
        self, sentence: Sentence, labels: Sequence[Label], language: str, demos: Sequence[Sentence] = ()
    ) -> list[Prompt]:
        return [
            Prompt(
                self.chat(sentence, labels, language, demos, self._answer_for(label.name),
                          label=label.name, description=label.description(language)),
                None,
                rewrite_tokens(sentence),
                key=label.name,
            )
            for label in labels
        ]

    def gold_answer(self, sentence: Sentence, labels: Sequence[Label], language: str) -> list[str]:
        return [self._answer_for(label.name)(sentence) for label in labels]

    def parse(self, outputs: Sequence[Generation], sentence: Sentence, labels: Sequence[Label]) -> ParseResult:
        result = ParseResult(spans=[])
        usable = [o for o in outputs if o.text.strip()]
        truncated = any(o.finish_reason == "length" for o in outputs)
        result.status = status_for(bool(usable), truncated)
        found = 0
        for output, label in zip(outputs, labels):
            if output.text.strip():
                found += len(self.ground_marks(result, output.text, sentence, labels, forced_label=label.name))
        if usable and not found:
            result.count("empty")
        return result
