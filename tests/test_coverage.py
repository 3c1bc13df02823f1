"""Predictions that answer a sample of a split are scored on that sample
(`nerbench score` and `nerbench ensemble`), and the output says so."""

from __future__ import annotations

import json

from nerbench.cli import cli
from nerbench.plugin_system.manager import get_registry
from nerbench.records import Prediction
from nerbench.score.coverage import covered
from nerbench.score.strict import SPAN_SET, score
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


def test_score_on_a_sample_scores_the_sample_and_says_so(tmp_path, cli_runner):
    sentences = lener_test()
    path, picked = sample_predictions(tmp_path, sentences)
    result = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["s/m/json"]["f1"] == 1.0  # perfect on what it answered
    assert f"scored on {len(picked)} of {len(sentences)} sentences of lener_br:test" in result.stderr
    everything = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path), "--json", "--all"])
    expected = score(sentences, {s.id: s.spans for s in picked}, SPAN_SET)
    assert json.loads(everything.stdout)["s/m/json"] == json.loads(json.dumps(expected))
    assert expected["recall"] < 0.5 and "count as predicting nothing" in everything.stderr


def test_ensemble_on_a_sample_scores_the_sample_and_says_so(tmp_path, cli_runner):
    sentences = lener_test()
    a, picked = sample_predictions(tmp_path, sentences, "a/m/json")
    b, _ = sample_predictions(tmp_path, sentences, "b/m/json")
    result = cli_runner.invoke(cli, ["ensemble", "--gold", "lener_br:test", str(a), str(b), "--combiner", "union",
                                     "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["f1"] == 1.0
    assert f"scored on {len(picked)} of {len(sentences)} sentences of lener_br:test" in result.stderr
    everything = cli_runner.invoke(cli, ["ensemble", "--gold", "lener_br:test", str(a), str(b), "--combiner",
                                         "union", "--json", "--all"])
    assert json.loads(everything.stdout)["metrics"]["recall"] < 0.5
