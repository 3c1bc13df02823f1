"""`verify`: a yes/no question about one mention and type — the building block
of the LLM-judged ensembles, which ask it of every candidate span."""

from __future__ import annotations

from collections.abc import Sequence

import nerbench
from nerbench import Generation, Label, ParseResult, Prompt, Sentence, Span

from nerbench.prompting import choose_language, fill, labels_block

from .base import TemplatedFormat, loads_tolerant

YES = {"sim", "yes", "s", "y", "true", "verdadeiro"}
NO = {"não", "nao", "no", "n", "false", "falso"}


class VerifyFormat(TemplatedFormat):
    version = "1"
    TEMPLATES = {
        "pt": {
            "system": "Você verifica entidades nomeadas. Tipos:\n{labels}\n"
                      'Responda somente com JSON: {{"answer": "sim"}} ou {{"answer": "não"}}.',
            "user": 'Texto: {text}\nPergunta: "{mention}" é uma entidade do tipo {label} ({description}) neste texto?',
        },
        "en": {
            "system": "You check named entities. Types:\n{labels}\n"
                      'Answer only with JSON: {{"answer": "yes"}} or {{"answer": "no"}}.',
            "user": 'Text: {text}\nQuestion: is "{mention}" an entity of type {label} ({description}) in this text?',
        },
    }
    SCHEMA = {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["sim", "não", "yes", "no"]}},
        "required": ["answer"],
        "additionalProperties": False,
    }

    def question(self, sentence: Sentence, span: Span, labels: Sequence[Label], language: str) -> Prompt:
        label = next(lb for lb in labels if lb.name == span.label)
        mention = sentence.text[span.start : span.end]
        extra = {"mention": mention, "label": label.name, "description": label.description(language)}
        messages = self.chat(sentence, labels, language, (), lambda s: "", **extra)
        return Prompt(messages, self.SCHEMA, 0, key=f"{span.start}:{span.end}:{span.label}")

    CHOICE = {
        "pt": "Texto: {text}\nEstes trechos se sobrepõem; no máximo um está certo:\n{options}\n"
              "0) nenhum\nQual opção está certa? Responda somente com JSON: {{\"choice\": número}}.",
        "en": "Text: {text}\nThese overlap; at most one is right:\n{options}\n"
              "0) none\nWhich option is right? Answer only with JSON: {{\"choice\": number}}.",
    }

    def choice_question(self, sentence: Sentence, options: Sequence[Span], labels: Sequence[Label],
                        language: str) -> Prompt:
        """Ask which of several overlapping candidates is right (1..n), or none (0)."""
        lang = choose_language(language, self.CHOICE)
        listed = "\n".join(
            f'{i}) "{sentence.text[s.start : s.end]}" {"como" if lang == "pt" else "as"} {s.label}'
            for i, s in enumerate(options, 1)
        )
        schema = {"type": "object", "properties": {"choice": {"type": "integer", "minimum": 0,
                                                             "maximum": len(options)}},
                  "required": ["choice"], "additionalProperties": False}
        system = {"role": "system", "content": fill(self.template("system", language), "system_template",
                                                    labels=labels_block(labels, language), text=sentence.text)}
        user = {"role": "user", "content": self.CHOICE[lang].format(text=sentence.text, options=listed)}
        return Prompt((system, user), schema, 0, key="choice")

    TYPE = {
        "pt": 'Texto: {text}\nDe que tipo é a entidade "{mention}" neste texto? '
              'Responda somente com JSON: {{"type": "TIPO"}}, ou {{"type": "nenhum"}} se não for uma entidade.',
        "en": 'Text: {text}\nWhat type is the entity "{mention}" in this text? '
              'Answer only with JSON: {{"type": "TYPE"}}, or {{"type": "none"}} if it is not an entity.',
    }
    NONE = {"nenhum", "none"}

    def type_question(self, sentence: Sentence, span: Span, labels: Sequence[Label], language: str) -> Prompt:
        """Ask which type (or none) a span is; `span.label` is ignored."""
        lang = choose_language(language, self.TYPE)
        schema = {"type": "object", "properties": {"type": {"type": "string", "enum": [
            *(label.name for label in labels), "nenhum" if lang == "pt" else "none"]}},
            "required": ["type"], "additionalProperties": False}
        system = {"role": "system", "content": fill(self.template("system", language), "system_template",
                                                    labels=labels_block(labels, language), text=sentence.text)}
        user = {"role": "user", "content": self.TYPE[lang].format(
            text=sentence.text, mention=sentence.text[span.start : span.end])}
        return Prompt((system, user), schema, 0, key="type")

    def typed(self, output: Generation, labels: Sequence[Label]) -> str | None:
        """The label named, "" for none, or None when the answer names neither."""
        data = loads_tolerant(output.text)
        value = str(data.get("type", "")) if isinstance(data, dict) else ""
        names = {label.name.casefold(): label.name for label in labels}
        value = value.strip().casefold()
        return "" if value in self.NONE else names.get(value)

    def choice(self, output: Generation, n: int) -> int | None:
        """The chosen option (0 = none), or None when the answer says nothing usable."""
        data = loads_tolerant(output.text)
        value = data.get("choice") if isinstance(data, dict) else None
        return value if isinstance(value, int) and 0 <= value <= n else None

    def decision(self, output: Generation) -> bool | None:
        """True for yes, False for no, None when the answer says neither."""
        data = loads_tolerant(output.text)
        word = data.get("answer") if isinstance(data, dict) else output.text
        word = str(word).strip().strip(".!\"'").casefold()
        return True if word in YES else False if word in NO else None

    def render(self, sentence, labels, language, demos=()):
        raise nerbench.NerbenchError(
            "the verify format judges candidate spans; use it through an LLM-judged combiner, not as [[format]]"
        )

    def parse(self, outputs, sentence, labels) -> ParseResult:
        """`sentence.spans` are the candidates and `outputs` the answers to
        `question` about each (in sorted order): keep those judged yes."""
        result = ParseResult(spans=[])
        for span, output in zip(sorted(sentence.spans), outputs):
            decision = self.decision(output)
            if decision is None:
                result.count("unparseable_answer")
            elif decision:
                result.spans.append(span)
        return result
