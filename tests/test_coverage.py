"""Predictions that answer a sample of a split are scored on that sample
(`nerbench score` and `nerbench ensemble`), and the output says so."""

from __future__ import annotations


from nerbench.plugin_system.manager import get_registry
from nerbench.records import Prediction
from nerbench.score.coverage import covered
from nerbench.files.predictions import write_predictions


def lener_test():
    return list(get_registry().get("datasets", "lener_br").sentences("test"))


def sample_predictions(tmp_path, sentences, system="s/m/json"):
    """A perfect system on every 10th sentence of the first 200 (a sample, as a raced or --sample run writes)."""
    picked = sentences[:200:10]
    path = tmp_path / f"{system.replace('/', '-')}.jsonl"
    write_predictions(path, [Prediction(system, "lener_br", "test", s.id, s.spans) for s in picked])
    return path, picked


def test_covered_is_the_answered_subset_in_split_order(tmp_path):
    sentences = lener_test()
    systems = {"a": {sentences[5].id: (), sentences[2].id: ()}, "b": {sentences[9].id: ()}}
    cov = covered(sentences, systems)
    assert [s.id for s in cov.sentences] == [sentences[i].id for i in (2, 5, 9)]
    assert (cov.answered, cov.total) == (3, len(sentences))
    assert cov.note("lener_br:test", False).startswith(f"scored on 3 of {len(sentences)} sentences of lener_br:test")
    everything = covered(sentences, systems, everything=True)
    assert everything.sentences == sentences and "count as predicting nothing" in everything.note("x", True)
    assert covered(sentences[:1], {"a": {sentences[0].id: ()}}).note("x", False) is None
