"""Scores: seqeval strict IOB2 on the dataset's tokens, checked by hand."""

from __future__ import annotations

import pytest

from nerbench.api import Sentence, Span, Token
from nerbench.plugins.manager import get_registry
from nerbench.score.strict import score


def sent(sid, words, spans):
    tokens, pos = [], 0
    for w in words:
        tokens.append(Token(w, pos, pos + len(w)))
        pos += len(w) + 1
    return Sentence(sid, " ".join(words), tuple(tokens), tuple(spans))


SENTENCES = [
    sent("a", ["João", "Silva", "mora", "em", "Lisboa"], [Span(0, 10, "PER"), Span(19, 25, "LOC")]),
    sent("b", ["O", "STF", "decidiu"], [Span(2, 5, "ORG")]),
]


def test_hand_computed_case():
    predicted = {
        "a": [Span(0, 4, "PER"), Span(19, 25, "LOC")],  # partial PER is wrong in strict mode
        "b": [Span(2, 5, "ORG"), Span(6, 13, "LOC")],  # one right, one false positive
    }
    result = score(SENTENCES, predicted)
    # TP = 2 (LOC, ORG); predicted 4; gold 3.
    assert result["precision"] == pytest.approx(2 / 4)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert result["per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["per_type"]["LOC"]["precision"] == pytest.approx(0.5)
    assert result["per_type"]["ORG"]["f1"] == pytest.approx(1.0)
    assert result["macro_f1"] == pytest.approx((0 + 2 / 3 + 1) / 3)


def test_missing_sentence_counts_as_no_prediction():
    result = score(SENTENCES, {"a": SENTENCES[0].spans})
    assert result["precision"] == 1.0
    assert result["recall"] == pytest.approx(2 / 3)


def test_gold_scores_perfectly_on_a_real_corpus():
    sentences = list(get_registry().get("datasets", "lener_br").sentences("test"))[:300]
    result = score(sentences, {s.id: s.spans for s in sentences})
    assert (result["precision"], result["recall"], result["f1"]) == (1.0, 1.0, 1.0)
    assert sum(v["support"] for v in result["per_type"].values()) == sum(len(s.spans) for s in sentences)


def test_per_sentence_counts_sum_to_seqeval_scores():
    from nerbench.testing import perturbed_systems
    from nerbench.score.prf import prf
    from nerbench.score.strict import per_sentence, score_with_counts

    dataset = get_registry().get("datasets", "lener_br")
    sentences = list(dataset.sentences("dev"))[:300]
    systems = perturbed_systems(sentences, [label.name for label in dataset.labels], 3, seed=5)
    for predicted in systems.values():
        counts = per_sentence(sentences, predicted)
        assert len(counts["tp"]) == len(sentences)
        p, r, f = (float(x) for x in prf(sum(counts["tp"]), sum(counts["predicted"]), sum(counts["gold"])))
        expected = score(sentences, predicted)
        assert (p, r, f) == (expected["precision"], expected["recall"], expected["f1"])
        assert score_with_counts(sentences, predicted) == (expected, counts)


@pytest.mark.parametrize("dataset_id", ["lener_br", "harem-selective", "uner_pt_bosque", "masakhaner2_yor"])
def test_entities_built_from_spans_equal_seqevals_strict_extraction(dataset_id):
    from seqeval.scheme import IOB2, Entities

    from nerbench.testing import perturbed_systems
    from nerbench.score.strict import strict_entities, tag_sequences

    dataset = get_registry().get("datasets", dataset_id)
    sentences = list(dataset.sentences("test"))
    systems = perturbed_systems(sentences, [label.name for label in dataset.labels], 2, seed=3)
    for predicted in [{s.id: s.spans for s in sentences}, *systems.values()]:
        for sequences in tag_sequences(sentences, predicted):
            ours, theirs = strict_entities(sequences), Entities(sequences, IOB2)
            assert [[e.to_tuple() for e in sent] for sent in ours.entities] == \
                [[e.to_tuple() for e in sent] for sent in theirs.entities]
            assert ours.unique_tags == theirs.unique_tags
