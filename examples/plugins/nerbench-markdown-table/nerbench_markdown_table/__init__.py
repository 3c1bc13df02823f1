"""markdown-table: the model answers with a two-column markdown table."""

from __future__ import annotations

from nerbench import api

INSTRUCTIONS = {
    "pt": ("Liste as entidades nomeadas do texto numa tabela markdown com as colunas | menção | tipo |. "
           "Tipos permitidos:\n{labels}\nSem entidades, responda só com o cabeçalho da tabela."),
    "en": ("List the named entities of the text in a markdown table with columns | mention | type |. "
           "Allowed types:\n{labels}\nWith no entities, answer with the table header only."),
}
HEADER = {"pt": "| menção | tipo |\n|---|---|", "en": "| mention | type |\n|---|---|"}


def _lang(language: str) -> str:
    return "pt" if language.split("-")[0] == "pt" else "en"


class MarkdownTableFormat(api.PromptFormat):
    version = "1"

    def render(self, sentence, labels, language, demos=()):
        lang = _lang(language)
        listing = "\n".join(f"- {label.name}: {label.description(language)}" for label in labels)
        messages = [{"role": "system", "content": INSTRUCTIONS[lang].format(labels=listing)}]
        for demo in demos:
            messages += [{"role": "user", "content": demo.text},
                         {"role": "assistant", "content": self.gold_answer(demo, labels, language)[0]}]
        messages.append({"role": "user", "content": sentence.text})
        return [api.Prompt(tuple(messages))]

    def gold_answer(self, sentence, labels, language):
        rows = [f"| {sentence.text[s.start:s.end]} | {s.label} |" for s in sentence.spans]
        return ["\n".join([HEADER[_lang(language)], *rows])]

    def parse(self, outputs, sentence, labels):
        (output,) = outputs
        result = api.ParseResult([])
        if output.finish_reason == "length":
            result.status = api.STATUS_TRUNCATED
        known = {label.name for label in labels}
        haystack = api.normalise(sentence.text)
        index = api.TokenIndex(sentence.tokens)
        rows = [line.strip().strip("|").split("|") for line in output.text.splitlines() if line.strip().startswith("|")]
        for cells in rows[2:] if len(rows) >= 2 and set(rows[1][0].strip()) <= set("-: ") else rows:
            if len(cells) != 2:
                result.count("malformed")
                continue
            mention, label = (c.strip() for c in cells)
            if label not in known:
                result.count("unknown_label")
                continue
            spans = api.ground(mention, label, haystack, index) if mention else []
            if not spans:
                result.count("ungrounded")
            result.spans.extend(s for s in spans if s not in result.spans)
        if not rows and output.text.strip() and result.status == api.STATUS_OK:
            result.status = api.STATUS_UNPARSEABLE
        return result


@api.hookimpl
def register_prompt_formats(register):
    register("markdown-table", MarkdownTableFormat)
