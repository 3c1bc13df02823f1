"""The `json` prompt format: a JSON list of {text, label} mentions, constrained
by a JSON Schema, each mention grounded in the sentence text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import nerbench
from nerbench import Generation, Label, ParseResult, Sentence

INSTRUCTIONS = {
    "pt": (
        "Você é um sistema de reconhecimento de entidades nomeadas. "
        "Encontre no texto do usuário todas as entidades dos tipos abaixo.\n"
        "Tipos:\n{types}\n"
        'Responda somente com JSON no formato {{"entities": [{{"text": "...", "label": "TIPO"}}]}}, '
        'em que "text" é o trecho copiado exatamente como aparece no texto. '
        'Se não houver entidades, responda {{"entities": []}}.'
    ),
    "en": (
        "You are a named entity recognition system. "
        "Find every entity of the types below in the user's text.\n"
        "Types:\n{types}\n"
        'Answer only with JSON of the form {{"entities": [{{"text": "...", "label": "TYPE"}}]}}, '
        'where "text" is copied exactly as it appears in the text. '
        'If there are no entities, answer {{"entities": []}}.'
    ),
}
TEXT_PREFIX = {"pt": "Texto: ", "en": "Text: "}


def _lang(language: str) -> str:
    base = language.split("-")[0]
    return base if base in INSTRUCTIONS else "en"


def _salvage(text: str) -> Any:
    """Parse JSON; for an answer cut off mid-list, keep the complete items."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    end = text.rfind("}")
    while end != -1:
        try:
            return json.loads(text[: end + 1] + "]}")
        except json.JSONDecodeError:
            end = text.rfind("}", 0, end)
    return None


class JsonFormat(nerbench.PromptFormat):
    version = "1"

    def __init__(self, max_entities: int = 20, max_mention_chars: int = 120) -> None:
        self.max_entities = max_entities
        self.max_mention_chars = max_mention_chars

    def schema(self, sentence: Sentence, labels: Sequence[Label]) -> dict[str, Any]:
        # Bounds keep a small model from looping until max_tokens.
        max_items = max(1, min(self.max_entities, len(sentence.tokens)))
        return {
            "type": "object",
            "properties": {
                "entities": {
                    "type": "array",
                    "maxItems": max_items,
                    "items": {
                        "type": "object",
                        "properties": {
                            "text": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": max(1, min(self.max_mention_chars, len(sentence.text))),
                            },
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

    def render(self, sentence, labels, language, demos=()):
        lang = _lang(language)
        types = "\n".join(f"- {label.name}: {label.description(language)}" for label in labels)
        messages = (
            {"role": "system", "content": INSTRUCTIONS[lang].format(types=types)},
            {"role": "user", "content": TEXT_PREFIX[lang] + sentence.text},
        )
        return [(messages, self.schema(sentence, labels))]

    def parse(self, outputs: Sequence[Generation], sentence, labels) -> ParseResult:
        output = outputs[0]
        result = ParseResult(spans=[])
        truncated = output.finish_reason == "length"
        data = _salvage(output.text)
        entities = data.get("entities") if isinstance(data, dict) else None
        if not isinstance(entities, list):
            result.status = nerbench.STATUS_TRUNCATED if truncated else nerbench.STATUS_UNPARSEABLE
            return result
        if truncated:
            result.status = nerbench.STATUS_TRUNCATED
        by_name = {label.name.casefold(): label.name for label in labels}
        haystack = nerbench.normalise(sentence.text)
        index = nerbench.TokenIndex(sentence.tokens)
        spans = set()
        for item in entities:
            if not (isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("label"), str)):
                result.count("malformed")
                continue
            result.count("mentions")
            label = by_name.get(item["label"].strip().casefold())
            if label is None:
                result.count("unknown_label")
                continue
            grounded = nerbench.ground(item["text"], label, haystack, index)
            if not grounded:
                result.count("ungrounded")
            spans.update(grounded)
        result.spans = sorted(spans)
        return result


@nerbench.hookimpl
def register_prompt_formats(register):
    register("json", JsonFormat)
