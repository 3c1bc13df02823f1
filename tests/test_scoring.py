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


def by_sets(sentences, predicted, label=None):
    """Strict P/R/F1 as set arithmetic: a predicted entity counts when the same
    (sentence, start, end, label) is gold. Independent of seqeval's tagging."""
    def entities(spans_of):
        return {(sid, s.start, s.end, s.label) for sid, spans in spans_of.items() for s in spans
                if label in (None, s.label)}

    gold, pred = entities({s.id: s.spans for s in sentences}), entities(predicted)
    tp = len(gold & pred)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": len(gold)}


def test_hand_made_case_against_set_arithmetic():
    predicted = {
        "a": [Span(0, 4, "PER"), Span(19, 25, "LOC")],  # partial PER is wrong in strict mode
        "b": [Span(2, 5, "ORG"), Span(6, 13, "LOC")],  # one right, one false positive
    }
    result = score(SENTENCES, predicted)
    expected = by_sets(SENTENCES, predicted)
    assert [result[k] for k in ("precision", "recall", "f1")] == pytest.approx(
        [expected[k] for k in ("precision", "recall", "f1")])
    labels = ("LOC", "ORG", "PER")
    assert sorted(result["per_type"]) == list(labels)
    for label in labels:
        assert result["per_type"][label] == pytest.approx(by_sets(SENTENCES, predicted, label)), label
    assert result["macro_f1"] == pytest.approx(sum(by_sets(SENTENCES, predicted, lb)["f1"] for lb in labels) / 3)
    # The case is worth having: partly right, with a miss, a partial and a false positive.
    assert 0 < expected["f1"] < 1 and expected["precision"] != expected["recall"]


def test_missing_sentence_counts_as_no_prediction():
    predicted = {"a": SENTENCES[0].spans}
    result = score(SENTENCES, predicted)
    assert (result["precision"], result["recall"]) == pytest.approx(
        (by_sets(SENTENCES, predicted)["precision"], by_sets(SENTENCES, predicted)["recall"]))
    assert result["recall"] < 1.0  # sentence b's entity was missed, not skipped


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
