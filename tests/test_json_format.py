"""The `json` prompt format: prompt language, schema bounds, parse + counts."""

from __future__ import annotations

import json

from nerbench import Generation
from nerbench.registry import get_registry


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
    ((messages, schema),) = fmt.render(sentence, dataset.labels, dataset.language)
    assert "entidades" in messages[0]["content"]
    assert "LEGISLACAO: leis, decretos" in messages[0]["content"]
    assert messages[1]["content"].endswith(sentence.text)
    items = schema["properties"]["entities"]
    assert items["items"]["properties"]["label"]["enum"] == [label.name for label in dataset.labels]
    assert 1 <= items["maxItems"] <= 20
    assert items["items"]["properties"]["text"]["maxLength"] <= 120


def test_english_fallback_for_a_language_without_template():
    registry = get_registry()
    dataset = registry.get("datasets", "uner_tl_trg")
    fmt = registry.get("prompt_formats", "json")()
    sentence = next(dataset.sentences("test"))
    ((messages, _),) = fmt.render(sentence, dataset.labels, dataset.language)
    assert messages[0]["content"].startswith("You are a named entity recognition system")


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
    assert gold in result.spans


def test_unparseable_and_truncated():
    dataset, fmt, sentence = setup()
    bad = fmt.parse([Generation("sorry, I cannot", "stop")], sentence, dataset.labels)
    assert bad.status == "unparseable" and bad.spans == []
    gold = sentence.spans[0]
    surface = sentence.text[gold.start : gold.end]
    cut = '{"entities": [{"text": %s, "label": "%s"}, {"text": "abc' % (json.dumps(surface), gold.label)
    truncated = fmt.parse([Generation(cut, "length")], sentence, dataset.labels)
    assert truncated.status == "truncated"
    assert gold in truncated.spans  # the complete item before the cut is kept
