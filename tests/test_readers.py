"""Readers on the real corpora: counts from each SOURCE.md, offsets, bad input."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest

from nerbench.errors import NerbenchError
from nerbench.plugin_system.manager import get_registry

from .conftest import write

# (sentences, entities) per SOURCE.md.
EXPECTED = {
    ("lener_br", "test"): (1389, 1536),
    ("lener_br", "dev"): (1176, 1818),
    ("uner_pt_bosque", "test"): (1167, 1215),
    ("masakhaner2_yor", "test"): (1964, 2009),
    ("uner_tl_trg", "test"): (128, 23),
    ("wikineural_pt", "test"): (10160, 19375),
}
# HAREM entity counts; sentences come from our own split.
HAREM = {
    ("harem-selective", "train"): 3984,
    ("harem-selective", "dev"): 167,
    ("harem-selective", "test"): 3018,
    ("harem-total", "test"): 3642,
}


def check_offsets(sentences):
    for s in sentences:
        starts = {t.start for t in s.tokens}
        ends = {t.end for t in s.tokens}
        for t in s.tokens:
            assert s.text[t.start : t.end] == t.text
        for span in s.spans:
            assert span.start in starts and span.end in ends, (s.id, span)


@pytest.mark.parametrize(("dataset_id", "split"), sorted(EXPECTED))
def test_conll_counts_and_offsets(dataset_id, split):
    sentences = list(get_registry().get("datasets", dataset_id).sentences(split))
    assert (len(sentences), sum(len(s.spans) for s in sentences)) == EXPECTED[(dataset_id, split)]
    check_offsets(sentences)


def test_uner_text_comes_from_the_text_comment():
    first = next(get_registry().get("datasets", "uner_pt_bosque").sentences("test"))
    assert first.id == "batch-0000-0001"
    assert first.text == "Folha -- Como você recebeu a notícia de que seria substituído?"
    assert first.text[first.spans[0].start : first.spans[0].end] == "Folha"
    assert first.tokens[-1].text == "?" and first.tokens[-1].start == len(first.text) - 1


def test_lener_text_is_rebuilt_from_tokens():
    first = next(get_registry().get("datasets", "lener_br").sentences("test"))
    assert first.text.startswith("Número do Acórdão ACÓRDÃO 1160/2016 - PLENÁRIO Relator AUGUSTO NARDES")
    surfaces = [(first.text[s.start : s.end], s.label) for s in first.spans[:3]]
    assert surfaces == [("ACÓRDÃO 1160/2016", "JURISPRUDENCIA"), ("PLENÁRIO", "ORGANIZACAO"),
                        ("AUGUSTO NARDES", "PESSOA")]


def test_yoruba_text_is_kept_as_the_corpus_wrote_it():
    sentences = list(get_registry().get("datasets", "masakhaner2_yor").sentences("test"))
    assert any(s.text != unicodedata.normalize("NFC", s.text) for s in sentences)


@pytest.mark.parametrize(("dataset_id", "split"), sorted(HAREM))
def test_harem_split_keeps_every_entity_whole(dataset_id, split, shared_datasets):
    import json

    dataset = get_registry().get("datasets", dataset_id)
    sentences = list(dataset.sentences(split))
    assert sum(len(s.spans) for s in sentences) == HAREM[(dataset_id, split)]
    check_offsets(sentences)
    # Every gold surface, as the corpus wrote it (trimmed), is found in order.
    (path,) = dataset.files(split)
    docs = {d["doc_id"]: d for d in json.loads(path.read_text(encoding="utf-8"))}
    by_doc = {}
    for s in sentences:
        by_doc.setdefault(s.id.rsplit(":", 1)[0], []).extend(s.text[x.start : x.end] for x in s.spans)
    for doc_id, surfaces in by_doc.items():
        expected = [e["text"].strip().strip("\u200b")
                    for e in sorted(docs[doc_id]["entities"], key=lambda e: e["start_offset"])]
        assert surfaces == expected, doc_id
    # Documents are split into many sentences, none of them blank.
    assert len(sentences) > 10 * len(docs)
    assert all(s.text.strip() for s in sentences)


def test_malformed_conll_line_names_file_and_line(tmp_path):
    from nerbench.data.readers import read_conll

    path = write(tmp_path / "bad.conll", "João B-PESSOA\nmora O\nem\n")
    with pytest.raises(NerbenchError, match=r"bad\.conll:3: expected at least 2 columns"):
        list(read_conll(path, {}, "test"))
    path = write(tmp_path / "bad2.conll", "João X-PESSOA\n")
    with pytest.raises(NerbenchError, match=r"bad2\.conll:1: 'X-PESSOA' is not an IOB2 tag"):
        list(read_conll(path, {}, "test"))


def test_stray_inside_tag_starts_an_entity(tmp_path):
    from nerbench.data.readers import read_conll

    path = write(tmp_path / "stray.conll", "a O\nCaruso I-MISC\nb I-PER\nc I-PER\nd B-PER\ne I-PER\n\n")
    repairs = Counter()
    (s,) = read_conll(path, {}, "test", repairs)
    assert [(s.text[x.start : x.end], x.label) for x in s.spans] == [("Caruso", "MISC"), ("b c", "PER"),
                                                                      ("d e", "PER")]
    assert repairs == {"stray_inside_tag": 2}  # repaired, and counted


def test_repairs_are_counted_per_split_and_described(shared_datasets):
    dataset = get_registry().get("datasets", "masakhaner2_yor")
    assert sum(1 for _ in dataset.sentences("test")) == 1964
    assert dataset.describe()["repairs"] == {"test": {"stray_inside_tag": 1}}


@pytest.mark.parametrize(("language", "declared", "direction"), [
    ("ar", None, "rtl"), ("fa-IR", None, "rtl"), ("he", None, "rtl"), ("ur", None, "rtl"),
    ("pa-Arab", None, "rtl"), ("ar-Latn", None, "ltr"), ("pt", None, "ltr"), ("yo", None, "ltr"),
    ("hi", None, "ltr"), ("pt", "rtl", "rtl"), ("ar", "ltr", "ltr"),
])
def test_text_direction_from_the_manifest_else_the_language_codes_script(language, declared, direction):
    from nerbench.data.direction import text_direction

    assert text_direction(language, declared) == direction
