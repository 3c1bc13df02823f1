"""Scores: seqeval strict on the dataset's tokens, checked by hand; the
span-set rule against seqeval's own IOB2 extraction on every corpus."""

from __future__ import annotations

import pytest

from nerbench.api import Sentence, Span, Token
from nerbench.plugin_system.manager import get_registry
from nerbench.score.strict import LONGEST_FIRST, entities, overlapping, score


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


def test_a_hedged_mention_is_one_hit_and_one_false_positive():
    # The 3-shot case from the issue: one mention answered under two labels.
    hedged = {"b": [Span(2, 5, "LEGISLACAO"), Span(2, 5, "ORG")], "a": []}
    result = score(SENTENCES, hedged)
    # span-set: both count; ORG is right, LEGISLACAO a false positive
    assert (result["precision"], result["recall"]) == (0.5, pytest.approx(1 / 3))
    assert result["per_type"]["LEGISLACAO"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # longest-first keeps one of them, the alphabetically first label: the
    # hedge disappears and so does the hit
    old = score(SENTENCES, hedged, rule=LONGEST_FIRST)
    assert (old["precision"], old["recall"]) == (0.0, 0.0) and "ORG" not in {
        label for label, row in old["per_type"].items() if row["precision"]}
    # nested spans: both are predictions too
    nested = {"a": [Span(0, 10, "PER"), Span(0, 4, "PER")]}
    assert score(SENTENCES, nested)["precision"] == 0.5
    assert score(SENTENCES, nested, rule=LONGEST_FIRST)["precision"] == 1.0
    # a span given twice is one prediction
    assert score(SENTENCES, {"b": [Span(2, 5, "ORG"), Span(2, 5, "ORG")]})["precision"] == 1.0


def test_an_unknown_rule_is_refused():
    from nerbench.errors import NerbenchError

    with pytest.raises(NerbenchError, match="scoring rule 'loose'"):
        score(SENTENCES, {}, rule="loose")


ALL_CORPORA = [("lener_br", "test"), ("harem-selective", "test"), ("harem-total", "test"),
               ("uner_pt_bosque", "test"), ("wikineural_pt", "test"), ("masakhaner2_yor", "test"),
               ("uner_tl_trg", "test")]


@pytest.mark.parametrize(("dataset_id", "split"), ALL_CORPORA)
def test_span_set_equals_seqeval_wherever_predictions_do_not_overlap(dataset_id, split):
    """Per sentence, on every corpus, for gold and perturbed systems (whose
    spurious entities sometimes overlap others): where a system's spans do
    not overlap, its entities are exactly seqeval's extraction from IOB2 tags;
    where they do, they are a strict superset (what longest-first dropped)."""
    from seqeval.scheme import IOB2, Entities

    from nerbench.score.strict import tag_sequences
    from nerbench.testing import perturbed_systems

    dataset = get_registry().get("datasets", dataset_id)
    sentences = list(dataset.sentences(split))
    systems = perturbed_systems(sentences, [label.name for label in dataset.labels], 3, seed=7)
    overlapped = 0
    for predicted in [{s.id: s.spans for s in sentences}, *systems.values()]:
        gold_sets, pred_sets = entities(sentences, predicted)
        gold_tags, pred_tags = tag_sequences(sentences, predicted)
        theirs_gold, theirs_pred = Entities(gold_tags, IOB2).entities, Entities(pred_tags, IOB2).entities
        for ours_g, ours_p, tg, tp in zip(gold_sets, pred_sets, theirs_gold, theirs_pred):
            assert not overlapping(ours_g)  # no corpus has overlapping gold entities
            assert ours_g == [(e.start, e.end, e.tag) for e in tg]
            seq = [(e.start, e.end, e.tag) for e in tp]
            if overlapping(ours_p):
                overlapped += 1
                assert set(seq) < set(ours_p)
            else:
                assert ours_p == seq
        if not any(overlapping(p) for p in pred_sets):
            assert score(sentences, predicted) == score(sentences, predicted, rule=LONGEST_FIRST)
    assert overlapped  # the perturbed systems do overlap somewhere: both branches ran
