"""Property-based: parsing never raises on arbitrary model output, and every
span it returns lies inside the sentence on token boundaries."""

from __future__ import annotations

import functools
import json
import unicodedata
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerbench.api import Generation
from nerbench.plugin_system.manager import get_registry

FORMATS = ("json", "json-grouped", "inline-xml", "inline-bracket", "per-type")


@functools.cache
def corpus():
    """Every 20th of the first 200 test sentences of three corpora (one with
    decomposed Yorùbá diacritics)."""
    registry = get_registry()
    cases = []
    for dataset_id in ("lener_br", "masakhaner2_yor", "uner_pt_bosque"):
        dataset = registry.get("datasets", dataset_id)
        for sentence in islice(dataset.sentences("test"), 0, 200, 20):
            cases.append((dataset, sentence))
    return cases

MARKUP = ["<", ">", "</", "[", "]", "|", "@@", "##", "{", "}", '"', ":", ",", "entities", "text", "label", " ", "\n"]


@st.composite
def answers(draw, sentence, labels):
    """Text made of sentence fragments, label names (some mangled), markup and noise."""
    words = [t.text for t in sentence.tokens] or ["x"]
    names = [lb.name for lb in labels] + ["PESSOA", "per", "XYZ"]
    pieces = st.one_of(
        st.sampled_from(words),
        st.sampled_from(names),
        st.sampled_from(MARKUP),
        st.text(max_size=8),
        st.builds(lambda a, b: sentence.text[min(a, b) : max(a, b)], st.integers(0, len(sentence.text)),
                  st.integers(0, len(sentence.text))),
    )
    return "".join(draw(st.lists(pieces, max_size=40)))


@st.composite
def json_answers(draw, sentence, labels):
    mention = st.one_of(st.sampled_from([t.text for t in sentence.tokens] or ["x"]), st.text(max_size=12))
    label = st.sampled_from([lb.name for lb in labels] + ["BOGUS"])
    items = draw(st.lists(st.fixed_dictionaries({"text": mention, "label": label}), max_size=8))
    text = json.dumps({"entities": items}, ensure_ascii=False)
    return text[: draw(st.integers(0, len(text)))]  # possibly cut off, as by max_tokens


def check(fmt_name, dataset, sentence, text, finish):
    fmt = get_registry().get("prompt_formats", fmt_name)()
    n = len(fmt.render(sentence, dataset.labels, dataset.language))
    result = fmt.parse([Generation(text, finish)] * n, sentence, dataset.labels)
    starts = {t.start for t in sentence.tokens}
    ends = {t.end for t in sentence.tokens}
    for span in result.spans:
        assert 0 <= span.start < span.end <= len(sentence.text)
        assert span.start in starts and span.end in ends
        assert span.label in {lb.name for lb in dataset.labels}
    assert result.status in ("ok", "unparseable", "truncated")


@pytest.mark.parametrize("fmt_name", FORMATS)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parse_never_raises_and_spans_sit_on_tokens(fmt_name, data):
    dataset, sentence = data.draw(st.sampled_from(corpus()))
    strategies = [answers(sentence, dataset.labels), st.text(max_size=200)]
    if fmt_name.startswith("json"):
        strategies.append(json_answers(sentence, dataset.labels))
    text = data.draw(st.one_of(strategies))
    if data.draw(st.booleans()):
        text = unicodedata.normalize(data.draw(st.sampled_from(["NFC", "NFD"])), text)
    check(fmt_name, dataset, sentence, text, data.draw(st.sampled_from(["stop", "length"])))


TRICKY = ["Straße", "İstanbul", "ﬁm", "Ω Å", "e\u0301 o\u0300", "a\t b\n\nc", "  x  ", "\u0301x", "ÀÉÎ ǅ", ""]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(), st.sampled_from(TRICKY),
                      st.lists(st.sampled_from(TRICKY + ["a", " ", "B"])).map("".join)))
def test_normalise_fast_path_equals_the_general_one(text):
    from nerbench.parse.alignment import normalise, normalise_clusters

    assert normalise(text) == normalise_clusters(text)
