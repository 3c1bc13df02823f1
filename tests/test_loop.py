"""The active loop's pieces: a student's doubt (the CRF's, from its
marginals, trained for real on a little LeNER-Br), the picking strategies,
and the stopping rule."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import nerbench.distil.loop
from nerbench import api
from nerbench.cli import cli
from nerbench.distil.picks import STRATEGIES, pick
from nerbench.distil.silver import SilverSentence, write_silver_jsonl
from nerbench.distil.stopping import GO_ON, Rule, decide, non_inferiority_p
from nerbench.files.predictions import write_predictions
from nerbench.plugin_system.manager import get_registry

from nerbench_plugins.students import CrfStudent, SpacyStudent


def silver(disagreements: Sequence[float]) -> list[SilverSentence]:
    return [SilverSentence(api.Sentence(f"s{i}", "x", (api.Token("x", 0, 1),)), (), 4, d)
            for i, d in enumerate(disagreements)]


class Doubting(api.Student):
    """A student whose doubt is given: sentence id → doubt."""

    doubts = True

    def __init__(self, doubt: dict[str, float]) -> None:
        self.by_id = doubt

    def train(self, examples: Any, dev: Any, labels: Any, language: Any, out_dir: Path, seed: int) -> dict:
        return {}

    def load(self, model_dir: Path) -> None:
        pass

    def predict(self, sentences: Sequence[api.Sentence]) -> list[list[api.Span]]:
        return [[] for _ in sentences]

    def doubt(self, sentences: Sequence[api.Sentence]) -> list[float]:
        return [self.by_id[s.id] for s in sentences]


# -- picks -------------------------------------------------------------------


def test_each_strategy_picks_k_new_sentences_never_an_excluded_one():
    pool = silver([0.1 * (i % 7) for i in range(30)])
    student = Doubting({f"s{i}": ((i * 13) % 17) / 17 for i in range(30)})
    exclude = {f"s{i}" for i in range(0, 30, 3)}
    for strategy in STRATEGIES:
        picked = pick(strategy, pool, 8, 0, student=student, exclude=exclude)
        assert len(set(picked)) == 8 and not set(picked) & exclude, strategy


def test_doubt_picks_the_most_doubtful_and_hybrid_the_best_on_both():
    pool = silver([0.9, 0.8, 0.0, 0.1, 0.85])
    student = Doubting({"s0": 0.1, "s1": 0.9, "s2": 0.95, "s3": 0.2, "s4": 0.8})
    assert pick("doubt", pool, 2, 0, student=student) == ["s1", "s2"]
    assert pick("disagreement", pool, 2, 0) == ["s0", "s4"]
    # s4: 2nd on disagreement and 3rd on doubt; s1: 3rd and 2nd; s2 tops doubt but is last on disagreement.
    assert pick("hybrid", pool, 2, 0, student=student) == ["s1", "s4"]


def test_a_student_without_doubt_or_no_student_is_refused_in_one_line(monkeypatch):
    pool = silver([0.5, 0.2])
    assert api.Student.doubts is False and CrfStudent.doubts is True and SpacyStudent.doubts is True
    monkeypatch.setattr(SpacyStudent, "doubts", False)  # a student kind without the capability
    with pytest.raises(api.NerbenchError, match="does not say its doubt"):
        pick("doubt", pool, 1, 0, student=SpacyStudent())
    with pytest.raises(api.NerbenchError, match="needs a trained student"):
        pick("hybrid", pool, 1, 0)
    with pytest.raises(api.NerbenchError, match="not reviewed yet"):
        pick("random", pool, 2, 0, exclude={"s0"})
    with pytest.raises(api.NerbenchError, match="not one of"):
        pick("smart", pool, 1, 0)


def test_random_picks_change_with_the_seed_and_repeat_with_it():
    pool = silver([0.0] * 40)
    draws = {tuple(pick("random", pool, 5, seed)) for seed in range(10)}
    assert len(draws) > 5
    assert pick("random", pool, 5, 3) == pick("random", pool, 5, 3)


# -- the CRF's doubt ---------------------------------------------------------


def test_the_crf_doubts_unseen_sentences_more_than_those_it_learnt_and_reports_each_iteration(tmp_path):
    dataset = get_registry().get("datasets", "lener_br")
    train = list(itertools.islice(dataset.sentences("train"), 120))
    test = list(itertools.islice(dataset.sentences("test"), 120))
    student = CrfStudent(max_iterations=50)
    steps: list[tuple[int, int]] = []
    student.on_progress = lambda done, total: steps.append((done, total))
    report = student.train([api.Example(s) for s in train], [], [label.name for label in dataset.labels],
                           dataset.language, tmp_path, 0)
    # each L-BFGS iteration is reported, none printed, CRFsuite's log kept
    assert [d for d, _ in steps] == list(range(1, report["settings"][0]["iterations"] + 1))
    assert {total for _, total in steps} == {50}
    seen, unseen = student.doubt(train), student.doubt(test)
    assert len(seen) == len(train) and all(0.0 <= d <= 1.0 for d in seen + unseen)
    assert sum(unseen) / len(unseen) > 2 * sum(seen) / len(seen)
    with pytest.raises(api.NerbenchError, match="no model"):
        CrfStudent().doubt(test)


def test_spacy_doubts_most_where_it_tags_wrong_and_unseen_more_than_learnt(tmp_path):
    """The beam's doubt: spaCy's greedy recognizer, trained for real on a
    little LeNER-Br, is less sure of sentences it never saw, and of those it
    tags wrong than of those it tags right."""
    dataset = get_registry().get("datasets", "lener_br")
    train = list(itertools.islice(dataset.sentences("train"), 150))
    test = list(itertools.islice(dataset.sentences("test"), 150))
    student = SpacyStudent(max_epochs=5)
    steps: list[tuple[int, int]] = []
    student.on_progress = lambda done, total: steps.append((done, total))
    student.train([api.Example(s) for s in train], [], [label.name for label in dataset.labels],
                  dataset.language, tmp_path, 0)
    assert steps == [(epoch, 5) for epoch in range(1, 6)]  # every epoch runs without dev sentences
    seen, unseen = student.doubt(train), student.doubt(test)
    assert len(unseen) == len(test) and all(0.0 <= d <= 1.0 for d in seen + unseen)
    assert sum(unseen) / len(unseen) > 2 * sum(seen) / len(seen)
    right = [d for d, s, p in zip(unseen, test, student.predict(test)) if set(p) == set(s.spans)]
    wrong = [d for d, s, p in zip(unseen, test, student.predict(test)) if set(p) != set(s.spans)]
    assert right and wrong and sum(wrong) / len(wrong) > 2 * sum(right) / len(right)
    empty = api.Sentence("empty", "", ())
    assert student.doubt([empty, test[0]])[0] == 0.0
    with pytest.raises(api.NerbenchError, match="no model"):
        SpacyStudent().doubt(test)


# -- the stopping rule -------------------------------------------------------


def counts(tp: Sequence[int], predicted: Sequence[int], gold: Sequence[int]) -> dict[str, list[int]]:
    return {"tp": list(tp), "predicted": list(predicted), "gold": list(gold)}


TEACHER = counts([1, 0, 1, 0] * 25, [2, 1, 1, 1] * 25, [2, 1, 2, 1] * 25)  # F1 0.4
BETTER = counts([2, 1, 1, 1] * 25, [2, 1, 1, 1] * 25, [2, 1, 2, 1] * 25)   # F1 ~0.91
WORSE = counts([0, 0, 1, 0] * 25, [2, 1, 1, 1] * 25, [2, 1, 2, 1] * 25)    # F1 0.2


def test_the_levels_spend_alpha_over_the_planned_rounds():
    rule = Rule(alpha=0.05, rounds=8)
    levels = [rule.level(k) for k in range(1, 9)]
    assert sum(levels) == pytest.approx(0.05)
    assert levels[0] > levels[-1] > 0 and rule.level(9) == 0.0


def test_a_clearly_better_student_stops_a_worse_one_goes_on():
    rule = Rule(delta=0.05, rounds=8, patience=3)
    stop = decide(rule, 1, BETTER, TEACHER)
    assert stop.stop and stop.verdict.startswith("stop: the student is not worse") and stop.p <= stop.level
    assert stop.outcome == "student"
    go = decide(rule, 1, WORSE, TEACHER)
    assert go.verdict == GO_ON and not go.stop and go.outcome == GO_ON
    # the same student as the teacher is not shown within a margin of 0
    assert non_inferiority_p(TEACHER, TEACHER, 0.0) == 1.0


def test_no_gain_for_patience_rounds_stops_and_a_gain_does_not():
    rule = Rule(delta=0.0, rounds=8, patience=2)
    first = decide(rule, 1, WORSE, TEACHER)
    second = decide(rule, 2, WORSE, TEACHER, [first])
    assert second.verdict == GO_ON  # one round without a gain is not enough
    third = decide(rule, 3, WORSE, TEACHER, [first, second])
    # the loop ends, yet a student far below its teacher is never said to replace it
    assert third.stop and third.outcome == "teacher"
    assert third.verdict.startswith("stop reviewing: no gain beyond its interval for 2 rounds")
    assert third.verdict.endswith("keep the teacher")
    gained = decide(rule, 3, counts([1, 0, 1, 0] * 25, [2, 1, 1, 1] * 25, [2, 1, 2, 1] * 25), TEACHER,
                    [first, second])
    assert gained.verdict == GO_ON


# -- nerbench loop -----------------------------------------------------------


def dev_teacher(tmp_path: Path) -> list[str]:
    """A teacher's answers on 40 LeNER-Br dev sentences (their gold, every
    other sentence silent): the dev options of a first `nerbench loop` call."""
    dev = list(itertools.islice(get_registry().get("datasets", "lener_br").sentences("dev"), 40))
    write_predictions(tmp_path / "teacher.jsonl", [
        api.Prediction("t", "lener_br", "dev", s.id, s.spans if i % 2 else ()) for i, s in enumerate(dev)])
    return ["--dev", "lener_br:dev", "--teacher-predictions", str(tmp_path / "teacher.jsonl"), "--teacher", "t"]


def loop_inputs(tmp_path: Path) -> list[str]:
    """A pool of 40 LeNER-Br train sentences as silver (the first span of
    each kept: a teacher that misses), and the `dev_teacher`: the options
    of a first `nerbench loop` call, a tiny CRF."""
    dataset = get_registry().get("datasets", "lener_br")
    train = list(itertools.islice(dataset.sentences("train"), 40))
    pool = [SilverSentence(api.Sentence(s.id, s.text, s.tokens, s.spans[:1]), (1,) * len(s.spans[:1]), 4,
                           (i % 5) / 5) for i, s in enumerate(train)]
    write_silver_jsonl(tmp_path / "silver.jsonl", pool)
    return ["--silver", str(tmp_path / "silver.jsonl"), *dev_teacher(tmp_path), "--batch", "10",
            "--option", "max_iterations=10", "--pick", "hybrid", "--delta", "0.01"]


def test_a_loop_runs_round_after_round_with_a_gold_reviewer(tmp_path, cli_runner):
    first = loop_inputs(tmp_path)
    folder = tmp_path / "loop"
    result = cli_runner.invoke(cli, ["loop", str(folder), *first, "--reviewer", "gold:lener_br:train"])
    assert result.exit_code == 0, result.output
    assert "round 0: trained on 40 silver + 0 reviewed" in result.output and "10 sentences sent" in result.output
    for _ in range(2):  # later calls need no settings
        result = cli_runner.invoke(cli, ["loop", str(folder), "--reviewer", "gold:lener_br:train"])
        assert result.exit_code == 0, result.output
    rounds = [json.loads((folder / f"round-{k}" / "round.json").read_text()) for k in range(3)]
    assert [r["reviewed"] for r in rounds] == [0, 10, 20]
    sent = [set(r["sent"]) for r in rounds]
    assert all(len(s) == 10 for s in sent) and not (sent[0] & sent[1]) and not (sent[1] & sent[2])
    gold = {s.id: s for s in get_registry().get("datasets", "lener_br").sentences("train")}
    back = [json.loads(line) for line in (folder / "round-0" / "reviewed.jsonl").read_text().splitlines()]
    assert {b["id"] for b in back} == sent[0]
    assert all(len(b["spans"]) == len(gold[b["id"]].spans) for b in back)  # the gold, not the silver
    assert (folder / "round-2" / "model" / "student.json").is_file()
    # the settings are recorded: another value is refused in one line
    result = cli_runner.invoke(cli, ["loop", str(folder), "--pick", "random"])
    assert result.exit_code == 2 and "a loop with pick = 'hybrid', not 'random'" in result.output


def test_a_loop_waits_for_its_review_and_an_interrupted_round_is_redone(tmp_path, cli_runner, monkeypatch):
    first = loop_inputs(tmp_path)
    folder, twin = tmp_path / "loop", tmp_path / "twin"
    assert cli_runner.invoke(cli, ["loop", str(folder), *first]).exit_code == 0
    waiting = cli_runner.invoke(cli, ["loop", str(folder)])
    assert waiting.exit_code == 0 and "waiting for the review" in waiting.output
    assert not (folder / "round-1").exists()
    real = nerbench.distil.loop.train_student

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise KeyboardInterrupt  # after the model is written, before round.json

    monkeypatch.setattr(nerbench.distil.loop, "train_student", interrupted)
    result = cli_runner.invoke(cli, ["loop", str(folder), "--reviewer", "gold:lener_br:train"])
    assert result.exit_code == 130 and not (folder / "round-1" / "round.json").exists()
    monkeypatch.setattr(nerbench.distil.loop, "train_student", real)
    assert cli_runner.invoke(cli, ["loop", str(folder), "--reviewer", "gold:lener_br:train"]).exit_code == 0
    for _ in range(2):
        assert cli_runner.invoke(cli, ["loop", str(twin), *([] if _ else first),
                                       "--reviewer", "gold:lener_br:train"]).exit_code == 0
    resumed, straight = (json.loads((f / "round-1" / "round.json").read_text()) for f in (folder, twin))
    # the same round, but for the seconds its training took
    assert {**resumed, "cost": None} == {**straight, "cost": None}


def test_a_loop_refuses_bad_input_in_one_line_before_training(tmp_path, cli_runner, monkeypatch):
    first = loop_inputs(tmp_path)
    monkeypatch.setattr(SpacyStudent, "doubts", False)  # a student kind without the capability
    for extra, said in ((["--student", "spacy"], "student 'spacy' does not say its doubt"),
                        (["--reviewer", "people:lener_br:train"], "gold:ID:SPLIT is the reviewer"),
                        (["--teacher", "nobody"], "--teacher 'nobody' has no predictions")):
        folder = tmp_path / f"loop-{len(said)}"
        result = cli_runner.invoke(cli, ["loop", str(folder), *first, *extra])
        assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not folder.exists()
    result = cli_runner.invoke(cli, ["loop", str(tmp_path / "new")])
    assert result.exit_code == 2 and "a new loop needs --silver" in result.output


def test_each_round_records_its_cost_and_json_prints_the_record(tmp_path, cli_runner):
    """Without an annotation.json beside the silver the teacher's cost is
    not known, and without --review-cost neither is the person's time:
    both null, never invented; the student's seconds add up over rounds."""
    folder = tmp_path / "loop"
    outputs = [cli_runner.invoke(cli, ["loop", str(folder), *(loop_inputs(tmp_path) if k == 0 else []),
                                       "--reviewer", "gold:lener_br:train", "--json"]) for k in range(2)]
    trained = []
    for k, result in enumerate(outputs):
        assert result.exit_code == 0, result.output
        record = json.loads((folder / f"round-{k}" / "round.json").read_text())
        assert json.loads(result.stdout) == record  # stdout holds the record alone; the lines go to stderr
        assert f"round {k}: trained on" in result.stderr
        assert "the person's time: not known without --review-cost" in result.stderr
        trained.append(json.loads((folder / f"round-{k}" / "model" / "student.json").read_text())["train_s"])
        cost = record["cost"]
        assert cost["teacher"] is None and cost["person_s"] is None and cost["review_cost_s"] is None
        assert cost["reviewed"] == cost["answered"] == 10 * k == record["reviewed"]
        assert cost["student_s"] == trained[k]
        assert cost["student_s_total"] == pytest.approx(sum(trained), abs=0.002)
    assert json.loads((folder / "loop.json").read_text())["review_cost"] is None
    assert json.loads(outputs[1].stdout)["came_back"] == {"round": 0, "sent": 10, "reviewed": 10, "rejected": 0,
                                                          "skipped": 0, "unreviewed": 0}


def test_each_kind_trains_with_its_recipe_and_spacy_continues_from_round_0(tmp_path, cli_runner):
    """spaCy's recipe is the silver taught with O, then the reviewed gold:
    round 0 trains the silver alone and a later round trains its gold from
    round 0's model (one phase, not the silver again); the CRF's is the
    gold in place of its silver, the rest `missing`; a kind that cannot
    continue from a model is refused `pretrain` before round 0."""
    crf_first = loop_inputs(tmp_path)
    first = [*crf_first[:crf_first.index("--option")], "--student", "spacy", "--option", "max_epochs=1",
             "--pick", "disagreement"]
    spacy = tmp_path / "spacy"
    for k in range(2):
        result = cli_runner.invoke(cli, ["loop", str(spacy), *(first if k == 0 else []),
                                         "--reviewer", "gold:lener_br:train"])
        assert result.exit_code == 0, result.output
    settings = json.loads((spacy / "loop.json").read_text())
    assert (settings["use"], settings["unlabelled"]) == ("pretrain", "O")
    round_0, round_1 = (json.loads((spacy / f"round-{k}" / "model" / "student.json").read_text()) for k in range(2))
    assert round_0["data"]["silver_sentences"] == 40 and round_0["data"]["gold_sentences"] == 0
    assert round_1["data"]["silver_phase"] == str(spacy / "round-0" / "model")
    assert round_1["data"]["gold_sentences"] == 10 and isinstance(round_1["report"], dict)  # one phase trained
    crf = tmp_path / "crf"
    assert cli_runner.invoke(cli, ["loop", str(crf), *crf_first]).exit_code == 0
    assert [json.loads((crf / "loop.json").read_text())[k] for k in ("use", "unlabelled")] == ["mixed", "missing"]
    refused = cli_runner.invoke(cli, ["loop", str(tmp_path / "no"), *crf_first, "--use", "pretrain"])
    assert refused.exit_code == 2 and "student 'crf' cannot continue training" in refused.output
    assert not (tmp_path / "no").exists()
