"""Prompt formats: prompt language, schema bounds, parsing, counts, few-shot, templates."""

from __future__ import annotations

import json

from nerbench.api import Generation
from nerbench.plugin_system.manager import get_registry


def setup():
    registry = get_registry()
    dataset = registry.get("datasets", "lener_br")
    fmt = registry.get("prompt_formats", "json")()
    sentence = next(s for s in dataset.sentences("test") if len(s.spans) >= 2)
    return dataset, fmt, sentence


def answer(entities, finish="stop"):
    return [Generation(json.dumps({"entities": entities}, ensure_ascii=False), finish)]


def test_prompt_is_in_portuguese_with_manifest_descriptions_and_schema_enum():
    dataset, fmt, sentence = setup()
    (prompt,) = fmt.render(sentence, dataset.labels, dataset.language)
    messages, schema = prompt.messages, prompt.schema
    assert "entidades" in messages[0]["content"]
    assert "LEGISLACAO: leis, decretos" in messages[0]["content"]
    assert messages[1]["content"].endswith(sentence.text)
    items = schema["properties"]["entities"]
    assert items["items"]["properties"]["label"]["enum"] == [label.name for label in dataset.labels]
    assert items["maxItems"] == min(20, len(sentence.tokens))  # bounded: a small model cannot loop
    assert items["items"]["properties"]["text"]["maxLength"] <= 120


def test_english_fallback_for_a_language_without_template():
    registry = get_registry()
    dataset = registry.get("datasets", "uner_tl_trg")
    fmt = registry.get("prompt_formats", "json")()
    sentence = next(dataset.sentences("test"))
    (prompt,) = fmt.render(sentence, dataset.labels, dataset.language)
    assert prompt.messages[0]["content"].startswith("You are a named entity recognition system")


def test_gold_answer_parses_back_to_gold():
    dataset, fmt, sentence = setup()
    entities = [{"text": sentence.text[s.start : s.end], "label": s.label} for s in sentence.spans]
    result = fmt.parse(answer(entities), sentence, dataset.labels)
    assert result.status == "ok"
    assert set(result.spans) >= set(sentence.spans)


def test_counts_unknown_label_ungrounded_and_malformed():
    dataset, fmt, sentence = setup()
    gold = sentence.spans[0]
    entities = [
        {"text": sentence.text[gold.start : gold.end], "label": gold.label.lower()},  # label case is forgiven
        {"text": "Xyzzy Plugh", "label": "PESSOA"},
        {"text": sentence.text[gold.start : gold.end], "label": "PERSON"},
        {"mention": "bad shape"},
    ]
    result = fmt.parse(answer(entities), sentence, dataset.labels)
    assert result.issues == {"mentions": 3, "ungrounded": 1, "unknown_label": 1, "malformed": 1}
    empty = fmt.parse(answer([]), sentence, dataset.labels)
    assert (empty.status, empty.issues, empty.spans) == ("ok", {"empty": 1}, [])
    assert gold in result.spans


def test_unparseable_and_truncated():
    dataset, fmt, sentence = setup()
    bad = fmt.parse([Generation("sorry, I cannot", "stop")], sentence, dataset.labels)
    assert bad.status == "unparseable" and bad.spans == []
    gold = sentence.spans[0]
    surface = sentence.text[gold.start : gold.end]
    cut = f'{{"entities": [{{"text": {json.dumps(surface)}, "label": "{gold.label}"}}, {{"text": "abc'
    truncated = fmt.parse([Generation(cut, "length")], sentence, dataset.labels)
    assert truncated.status == "truncated"
    assert gold in truncated.spans  # the complete item before the cut is kept


# --- the other formats ---------------------------------------------------------------

def fmt_of(name, **options):
    return get_registry().get("prompt_formats", name)(**options)


def test_json_grouped_parses_groups_and_counts_bad_members():
    dataset, _, sentence = setup()
    fmt = fmt_of("json-grouped")
    gold = sentence.spans[0]
    text = json.dumps({gold.label: [sentence.text[gold.start : gold.end], 7], "NADA": ["x"]}, ensure_ascii=False)
    result = fmt.parse([Generation(text, "stop")], sentence, dataset.labels)
    assert gold in result.spans
    assert result.issues == {"mentions": 2, "malformed": 1, "unknown_label": 1}
    (prompt,) = fmt.render(sentence, dataset.labels, dataset.language)
    assert set(prompt.schema["properties"]) == {label.name for label in dataset.labels}


def test_inline_xml_survives_a_model_that_changed_a_few_characters():
    registry = get_registry()
    dataset = registry.get("datasets", "uner_pt_bosque")
    sentence = next(s for s in dataset.sentences("test") if s.text.startswith("Folha --"))
    answer = "folha - Como voce recebeu a <ORG>Folha</ORG> noticia de que seria <PER>substituido</PER>?"
    # A bogus second "Folha" is grounded where the rewrite puts it; the accents were dropped.
    result = fmt_of("inline-xml").parse([Generation(answer, "stop")], sentence, dataset.labels)
    assert result.issues["realigned"] == 1
    substituted = sentence.text.index("substituído")
    assert ("substituído", "PER") in {(sentence.text[s.start : s.end], s.label) for s in result.spans}
    assert all(s.start != substituted or s.end == substituted + len("substituído") for s in result.spans)


def test_inline_xml_malformed_and_unknown_tags_are_counted():
    dataset, _, sentence = setup()
    gold = sentence.spans[0]
    text = sentence.text[: gold.start] + f"<{gold.label}>" + sentence.text[gold.start : gold.end] + f"</{gold.label}>"
    text += "</LOCAL> <PERSON>x</PERSON> <TEMPO>"
    result = fmt_of("inline-xml").parse([Generation(text, "stop")], sentence, dataset.labels)
    assert gold in result.spans
    assert result.issues["malformed"] == 2  # a stray closing tag, an unclosed opening tag
    assert result.issues["unknown_label"] == 1


def test_inline_bracket_and_per_type_render_and_parse():
    dataset, _, sentence = setup()
    gold = sentence.spans[0]
    mention = sentence.text[gold.start : gold.end]
    bracket = fmt_of("inline-bracket")
    text = sentence.text.replace(mention, f"[{mention} | {gold.label}]", 1)
    assert gold in bracket.parse([Generation(text, "stop")], sentence, dataset.labels).spans
    (prompt,) = bracket.render(sentence, dataset.labels, dataset.language)
    assert prompt.schema is None and prompt.min_tokens > len(sentence.text) // 3
    per_type = fmt_of("per-type")
    prompts = per_type.render(sentence, dataset.labels, dataset.language)
    assert [p.key for p in prompts] == [label.name for label in dataset.labels]
    assert all(p.key in p.messages[0]["content"] for p in prompts)
    outputs = [Generation(sentence.text.replace(mention, f"@@{mention}##", 1) if lb.name == gold.label
                          else sentence.text, "stop") for lb in dataset.labels]
    result = per_type.parse(outputs, sentence, dataset.labels)
    assert gold in result.spans and {s.label for s in result.spans} == {gold.label}


def test_occurrence_policies():
    dataset, _, sentence = setup()
    words = sentence.text.split(" ")
    repeated = next((w for w in words if words.count(w) > 1 and len(w) > 2 and w.isalpha()), None)
    assert repeated, "the test needs a sentence with a repeated word"
    text = json.dumps({"entities": [{"text": repeated, "label": "PESSOA"}] * 2})
    counts = {}
    for policy in ("all", "first", "index"):
        result = fmt_of("json", occurrence=policy).parse([Generation(text, "stop")], sentence, dataset.labels)
        counts[policy] = len(result.spans)
    assert counts["all"] == words.count(repeated)
    assert counts["first"] == 1
    assert counts["index"] == 2
