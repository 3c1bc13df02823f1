"""What LLM judges are asked: is this mention of this type (yes/no), which
reading of overlapping mentions is right (or none), which type is this span.
Portuguese for Portuguese datasets, English otherwise. Every answer is JSON
under a schema, read tolerantly; an answer that says nothing usable is None.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from nerbench.api import Generation, Label, Prompt, Sentence, Span, choose_language, fill, labels_block, loads_tolerant

YES = {"sim", "yes", "s", "y", "true", "verdadeiro"}
NO = {"não", "nao", "no", "n", "false", "falso"}
#: An example should be short: it is repeated in every question of its type.
EXAMPLE_MAX_CHARS = 200

TEMPLATES = {
    "pt": {
        "system": "Você verifica entidades nomeadas. Tipos:\n{labels}",
        "yes_or_no": 'Responda somente com JSON: {"answer": "sim"} ou {"answer": "não"}.',
        "verify": 'Texto: {text}\nPergunta: "{mention}" é uma entidade do tipo {label} ({description}) neste texto?',
        "yes": '{"answer": "sim"}',
        "no": '{"answer": "não"}',
        "choice": "Texto: {text}\nEstes trechos se sobrepõem; qual leitura está certa?\n{options}\n"
                  "0) nenhuma\nResponda somente com JSON: {{\"choice\": número}}.",
        "as": "como",
        "and": " + ",
        "type": 'Texto: {text}\nDe que tipo é a entidade "{mention}" neste texto? '
                'Responda somente com JSON: {{"type": "TIPO"}}, ou {{"type": "nenhum"}} se não for uma entidade.',
        "none": "nenhum",
        "verify_all": "Texto: {text}\nPara cada trecho abaixo: é uma entidade do tipo indicado neste texto?\n"
                      "{items}\nResponda somente com JSON: {{\"answers\": [\"sim\" ou \"não\", um por trecho, "
                      "na ordem]}}.",
        "item": '{i}) "{mention}" como {label} ({description})',
    },
    "en": {
        "system": "You check named entities. Types:\n{labels}",
        "yes_or_no": 'Answer only with JSON: {"answer": "yes"} or {"answer": "no"}.',
        "verify": 'Text: {text}\nQuestion: is "{mention}" an entity of type {label} ({description}) in this text?',
        "yes": '{"answer": "yes"}',
        "no": '{"answer": "no"}',
        "choice": "Text: {text}\nThese overlap; which reading is right?\n{options}\n"
                  "0) none\nAnswer only with JSON: {{\"choice\": number}}.",
        "as": "as",
        "and": " + ",
        "type": 'Text: {text}\nWhat type is the entity "{mention}" in this text? '
                'Answer only with JSON: {{"type": "TYPE"}}, or {{"type": "none"}} if it is not an entity.',
        "none": "none",
        "verify_all": "Text: {text}\nFor each span below: is it an entity of the type given, in this text?\n"
                      "{items}\nAnswer only with JSON: {{\"answers\": [\"yes\" or \"no\", one per span, in "
                      "order]}}.",
        "item": '{i}) "{mention}" as {label} ({description})',
    },
}
NONE = {"nenhum", "none"}
VERIFY_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["sim", "não", "yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}


def surface(sentence: Sentence, span: Span) -> str:
    return sentence.text[span.start : span.end]


class Examples:
    """Few-shot examples for yes/no questions, per type: gold mentions of the
    type (answered yes) and of another type asked as it (answered no), from
    short sentences of a labelled split that is not evaluated. Fixed per type
    (seeded), so every question of a type shares its prompt prefix."""

    def __init__(self, sentences: Iterable[Sentence], per_type: int, seed: int = 0) -> None:
        pool = [(s, span) for s in sentences if len(s.text) <= EXAMPLE_MAX_CHARS for span in s.spans]
        random.Random(seed).shuffle(pool)
        self.pool = pool
        self.per_type = per_type

    def for_label(self, label: str) -> list[tuple[Sentence, Span, bool]]:
        """(sentence, span asked as `label`, the right answer), yes and no alternating."""
        yes = [(s, span, True) for s, span in self.pool if span.label == label][: self.per_type]
        no = [(s, Span(span.start, span.end, label), False) for s, span in self.pool
              if span.label != label][: self.per_type]
        return [x for pair in zip(yes, no) for x in pair]


class Questions:
    """The question kit of the LLM-judged combiners. `name` and `version`
    join the cache key of every answer (bump the version when wording
    changes)."""

    name = "verify"
    version = "2"

    def __init__(self, language: str, labels: Sequence[Label], examples: Examples | None = None,
                 where: str = "") -> None:
        self.lang = choose_language(language, TEMPLATES)
        self.language = language
        self.labels = list(labels)
        self.text = TEMPLATES[self.lang]
        self.examples = examples
        #: "DATASET:SPLIT" of the sentences asked about, for the prompts' keys
        self.where = where
        self.system = fill(self.text["system"], "system", labels=labels_block(labels, language))
        # Only the yes/no question is told to answer yes or no: the choice and
        # type questions state their own format (until 2026-11-22 they carried
        # this line too, contradicting it).
        self.verify_system = f"{self.system}\n{self.text['yes_or_no']}"

    def _verify_turn(self, sentence: Sentence, span: Span) -> str:
        label = next(lb for lb in self.labels if lb.name == span.label)
        return fill(self.text["verify"], "verify", text=sentence.text, mention=surface(sentence, span),
                    label=label.name, description=label.description(self.language))

    def verify(self, sentence: Sentence, span: Span) -> Prompt:
        """Is `span` an entity of its type in `sentence`? (yes/no)"""
        messages: list[dict[str, str]] = [{"role": "system", "content": self.verify_system}]
        for demo, demo_span, right in self.examples.for_label(span.label) if self.examples else ():
            messages.append({"role": "user", "content": self._verify_turn(demo, demo_span)})
            messages.append({"role": "assistant", "content": self.text["yes" if right else "no"]})
        messages.append({"role": "user", "content": self._verify_turn(sentence, span)})
        return Prompt(tuple(messages), VERIFY_SCHEMA, 0,
                      key=f"verify {self.where}:{sentence.id} {span.start}:{span.end}:{span.label}")

    def verify_all(self, sentence: Sentence, spans: Sequence[Span]) -> Prompt:
        """Is each of `spans` an entity of its type in `sentence`? One
        question for all of them, one yes/no each, in order (the batched
        judge: the sentence is read once, not once per candidate)."""
        labels = {lb.name: lb for lb in self.labels}
        items = "\n".join(fill(self.text["item"], "item", i=i, mention=surface(sentence, span), label=span.label,
                               description=labels[span.label].description(self.language))
                          for i, span in enumerate(spans, 1))
        words = {"type": "string", "enum": ["sim", "não", "yes", "no"]}
        schema = {"type": "object", "properties": {"answers": {"type": "array", "items": words,
                                                               "minItems": len(spans), "maxItems": len(spans)}},
                  "required": ["answers"], "additionalProperties": False}
        user = fill(self.text["verify_all"], "verify_all", text=sentence.text, items=items)
        return Prompt(({"role": "system", "content": self.system}, {"role": "user", "content": user}), schema,
                      8 * len(spans) + 16,
                      key=f"verify-all {self.where}:{sentence.id} " + " ".join(
                          f"{s.start}:{s.end}:{s.label}" for s in spans))

    def decisions(self, output: Generation, n: int) -> list[bool | None]:
        """The batched judge's n answers (None where it said neither, or too few)."""
        said = self._field(output, "answers")
        said = said if isinstance(said, list) else []
        words = [str(w).strip().casefold() for w in said[:n]] + [""] * max(0, n - len(said))
        return [True if w in YES else False if w in NO else None for w in words]

    def choose(self, sentence: Sentence, options: Sequence[Sequence[Span]]) -> Prompt:
        """Which of several readings (sets of disjoint mentions) is right:
        1..n, or none (0)."""
        listed = "\n".join(
            f"{i}) " + self.text["and"].join(f'"{surface(sentence, s)}" {self.text["as"]} {s.label}' for s in reading)
            for i, reading in enumerate(options, 1)
        )
        schema = {"type": "object", "properties": {"choice": {"type": "integer", "minimum": 0,
                                                             "maximum": len(options)}},
                  "required": ["choice"], "additionalProperties": False}
        user = fill(self.text["choice"], "choice", text=sentence.text, options=listed)
        key = f"choose {self.where}:{sentence.id} " + " | ".join(
            " ".join(f"{s.start}:{s.end}:{s.label}" for s in reading) for reading in options)
        return Prompt(({"role": "system", "content": self.system}, {"role": "user", "content": user}), schema, 0,
                      key=key)

    def type_of(self, sentence: Sentence, span: Span) -> Prompt:
        """Which type (or none) `span` is; its label is ignored."""
        schema = {"type": "object", "properties": {"type": {"type": "string", "enum": [
            *(label.name for label in self.labels), self.text["none"]]}},
            "required": ["type"], "additionalProperties": False}
        user = fill(self.text["type"], "type", text=sentence.text, mention=surface(sentence, span))
        return Prompt(({"role": "system", "content": self.system}, {"role": "user", "content": user}), schema, 0,
                      key=f"type {self.where}:{sentence.id} {span.start}:{span.end}")

    @staticmethod
    def _field(output: Generation, name: str) -> Any:
        data = loads_tolerant(output.text)
        return data.get(name) if isinstance(data, dict) else None

    def decision(self, output: Generation) -> bool | None:
        """True for yes, False for no, None when the answer says neither."""
        word = self._field(output, "answer")
        word = str(output.text if word is None else word).strip().strip(".!\"'").casefold()
        return True if word in YES else False if word in NO else None

    def choice(self, output: Generation, n: int) -> int | None:
        """The chosen option (0 = none), or None when the answer says nothing usable."""
        value = self._field(output, "choice")
        return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= n else None

    def typed(self, output: Generation) -> str | None:
        """The label named, "" for none, or None when the answer names neither."""
        value = str(self._field(output, "type") or "").strip().casefold()
        names = {label.name.casefold(): label.name for label in self.labels}
        return "" if value in NONE else names.get(value)
