"""Grounding mentions: normalised matching, offsets back, token snapping."""

from __future__ import annotations

import unicodedata

from nerbench.api import Span, Token, TokenIndex, ground, normalise
from nerbench.parse.alignment import spans_to_tags


def tokens_of(text):
    out, pos = [], 0
    for word in text.split(" "):
        out.append(Token(word, pos, pos + len(word)))
        pos += len(word) + 1
    return out


def grounded(text, mention, label="X", tokens=None):
    index = TokenIndex(tokens or tokens_of(text))
    return [(text[s.start : s.end], s.start) for s in ground(mention, label, normalise(text), index)]


def test_every_occurrence_is_returned():
    text = "Lisboa e Porto , depois Lisboa"
    assert grounded(text, "Lisboa") == [("Lisboa", 0), ("Lisboa", 24)]


def test_case_and_whitespace_are_normalised_but_offsets_point_to_the_original():
    text = "o Supremo  Tribunal Federal"
    tokens = [Token("o", 0, 1), Token("Supremo", 2, 9), Token("Tribunal", 11, 19), Token("Federal", 20, 27)]
    assert grounded(text, " supremo tribunal FEDERAL ", tokens=tokens) == [("Supremo  Tribunal Federal", 2)]


def test_decomposed_yoruba_matches_composed_mention():
    text = unicodedata.normalize("NFD", "Ọba Adéyẹmí lọ sí Ìbàdàn")
    mention = unicodedata.normalize("NFC", "Ìbàdàn")
    (surface, start), = grounded(text, mention)
    assert surface == unicodedata.normalize("NFD", "Ìbàdàn")
    assert text[start:] == surface


def test_casefold_that_changes_length_keeps_offsets():
    text = "STRASSE Straße"
    assert grounded(text, "strasse") == [("STRASSE", 0), ("Straße", 8)]


def test_whole_token_matches_win_over_partial_ones():
    text = "Lisboaense de Lisboa"
    assert grounded(text, "Lisboa") == [("Lisboa", 14)]


def test_partial_token_match_is_widened_to_whole_tokens():
    text = "ACÓRDÃO 1160/2016 - PLENÁRIO"
    assert grounded(text, "ACÓRDÃO 1160") == [("ACÓRDÃO 1160/2016", 0)]


def test_missing_or_empty_mention_grounds_nowhere():
    assert grounded("João mora em Lisboa", "Porto") == []
    assert grounded("João mora em Lisboa", "   ") == []


def test_overlapping_spans_become_valid_iob2_longest_first():
    text = "Tribunal de Contas da União"
    index = TokenIndex(tokens_of(text))
    spans = [Span(0, 27, "ORG"), Span(22, 27, "LOC"), Span(0, 8, "ORG")]
    assert spans_to_tags(spans, index) == ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "I-ORG"]
    assert spans_to_tags([Span(22, 27, "LOC")], index) == ["O", "O", "O", "O", "B-LOC"]
