"""`json` (a list of {text, label}, as in the published Portuguese ensemble)
and `json-grouped` ({LABEL: [mentions]}), both with a JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from nerbench.api import Generation, Label, ParseResult, Prompt, Sentence, loads_tolerant

from .base import TemplatedFormat, status_for, surface

ANSWER_RULES = {
    "pt": "Copie cada entidade exatamente como aparece no texto. Se não houver entidades, responda {empty}.",
    "en": "Copy each entity exactly as it appears in the text. If there are none, answer {empty}.",
}


def _system(lang: str, shape: str, empty: str) -> str:
    intro = {
        "pt": "Você é um sistema de reconhecimento de entidades nomeadas. "
              "Encontre no texto do usuário todas as entidades dos tipos abaixo.\nTipos:\n{labels}\n"
              "Responda somente com JSON no formato ",
        "en": "You are a named entity recognition system. "
              "Find every entity of the types below in the user's text.\nTypes:\n{labels}\n"
              "Answer only with JSON of the form ",
    }[lang]
    escape = lambda s: s.replace("{", "{{").replace("}", "}}")  # noqa: E731
    return intro + escape(shape) + ". " + ANSWER_RULES[lang].format(empty=escape(empty))


class JsonFormat(TemplatedFormat):
    """A JSON object {"entities": [{"text", "label"}]}. Options as
    TemplatedFormat plus `max_entities` and `max_mention_chars` (schema bounds
    that stop a small model from looping until max_tokens)."""

    version = "2"
    TEMPLATES = {
        lang: {
            "system": _system(lang,
                              '{"entities": [{"text": "...", "label": "%s"}]}' % ("TIPO" if lang == "pt" else "TYPE"),
                              '{"entities": []}'),
            "user": ("Texto: " if lang == "pt" else "Text: ") + "{text}",
        }
        for lang in ("pt", "en")
    }

    OPTIONS: ClassVar[dict[str, Any]] = {
        **TemplatedFormat.OPTIONS,
        "max_entities": {"type": "integer", "minimum": 1, "default": 20},
        "max_mention_chars": {"type": "integer", "minimum": 1, "default": 120},
    }
    max_entities: int
    max_mention_chars: int

    def _mention_schema(self, sentence: Sentence) -> dict[str, Any]:
        return {"type": "string", "minLength": 1,
                "maxLength": max(1, min(self.max_mention_chars, len(sentence.text)))}

    def _max_items(self, sentence: Sentence) -> int:
        return max(1, min(self.max_entities, len(sentence.tokens)))

    def schema(self, sentence: Sentence, labels: Sequence[Label]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "entities": {
                    "type": "array",
                    "maxItems": self._max_items(sentence),
                    "items": {
                        "type": "object",
                        "properties": {
                            "text": self._mention_schema(sentence),
                            "label": {"type": "string", "enum": [label.name for label in labels]},
                        },
                        "required": ["text", "label"],
                        "additionalProperties": False,
                    },
                }
            },
            "required": ["entities"],
            "additionalProperties": False,
        }

    def answer(self, sentence: Sentence) -> str:
        items = [{"text": surface(sentence, s), "label": s.label} for s in sorted(sentence.spans)]
        return json.dumps({"entities": items}, ensure_ascii=False)

    def render(
        self, sentence: Sentence, labels: Sequence[Label], language: str, demos: Sequence[Sentence] = ()
    ) -> list[Prompt]:
        return [Prompt(self.chat(sentence, labels, language, demos, self.answer), self.schema(sentence, labels))]

    def gold_answer(self, sentence: Sentence, labels: Sequence[Label], language: str) -> list[str]:
        return [self.answer(sentence)]

    def items(self, data: Any, result: ParseResult) -> list[tuple[str, str]] | None:
        entities = data.get("entities") if isinstance(data, dict) else None
        if not isinstance(entities, list):
            return None
        out = []
        for item in entities:
            if isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("label"), str):
                out.append((item["text"], item["label"]))
            else:
                result.count("malformed")
        return out

    def parse(self, outputs: Sequence[Generation], sentence: Sentence, labels: Sequence[Label]) -> ParseResult:
        output = outputs[0]
        result = ParseResult(spans=[])
        items = self.items(loads_tolerant(output.text), result)
        result.status = status_for(items is not None, output.finish_reason == "length")
        if items is not None:
            if not items:
                result.count("empty")
            self.ground_items(result, items, sentence, labels)
        return result


class JsonGroupedFormat(JsonFormat):
    """A JSON object mapping each entity type to its mentions: {LABEL: [...]}."""

    version = "1"
    TEMPLATES = {
        lang: {
            "system": _system(lang, '{"%s": ["...", "..."], "%s": []}' % (("TIPO", "OUTRO_TIPO") if lang == "pt"
                                                                         else ("TYPE", "OTHER_TYPE")), "{}"),
            "user": ("Texto: " if lang == "pt" else "Text: ") + "{text}",
        }
        for lang in ("pt", "en")
    }

    def schema(self, sentence: Sentence, labels: Sequence[Label]) -> dict[str, Any]:
        array = {"type": "array", "maxItems": self._max_items(sentence), "items": self._mention_schema(sentence)}
        return {
            "type": "object",
            "properties": {label.name: array for label in labels},
            "additionalProperties": False,
        }

    def answer(self, sentence: Sentence) -> str:
        grouped: dict[str, list[str]] = {}
        for span in sorted(sentence.spans):
            grouped.setdefault(span.label, []).append(surface(sentence, span))
        return json.dumps(grouped, ensure_ascii=False)

    def items(self, data: Any, result: ParseResult) -> list[tuple[str, str]] | None:
        if not isinstance(data, dict):
            return None
        out = []
        for label, mentions in data.items():
            if not isinstance(mentions, list):
                result.count("malformed")
                continue
            for mention in mentions:
                if isinstance(mention, str):
                    out.append((mention, str(label)))
                else:
                    result.count("malformed")
        return out
