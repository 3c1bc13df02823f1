"""Ensembles: combiner semantics, exact fast scoring against seqeval, search,
and the `nerbench ensemble` command."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter

import pytest

from nerbench.api import Sentence, Span, Token
from nerbench.cli import cli
from nerbench.files.results import read_results
from nerbench.index.candidates import build_index, count, materialise, resolve
from nerbench.testing import perturbed_systems
from nerbench.plugin_system.manager import get_registry
from nerbench.score.bootstrap import f1_interval
from nerbench.score.strict import score
from nerbench.index.search import choose, combine_counts, evaluate

from .conftest import REPO

COMBINERS = [("majority", {}), ("vote", {"k": 2}), ("union", {}), ("intersection", {}),
             ("weighted", {}), ("weighted", {"per_type": True}), ("per-type", {})]


def lener(split, n):
    dataset = get_registry().get("datasets", "lener_br")
    sentences = list(itertools.islice(dataset.sentences(split), n))
    return sentences, [label.name for label in dataset.labels]


def combiner(name, **options):
    return get_registry().get("combiners", name)(**options)


def reference_vote(spans_by_system, k):
    """An independent per-sentence vote: keep spans with ≥ k votes; overlaps
    go to more votes, then longer, then leftmost, then label."""
    votes = Counter(s for spans in spans_by_system for s in set(spans))
    kept = []
    for span in sorted(votes, key=lambda s: (-votes[s], -(s.end - s.start), s.start, s.label)):
        if votes[span] >= k and not any(span.start < o.end and o.start < span.end for o in kept):
            kept.append(span)
    return sorted(kept)


def test_majority_means_strictly_more_than_half():
    tokens = tuple(Token(w, 2 * i, 2 * i + 1) for i, w in enumerate("abcdef"))
    sentence = Sentence("s", "a b c d e f", tokens, (Span(0, 1, "X"),))
    a, b, c = Span(0, 1, "X"), Span(2, 3, "X"), Span(4, 5, "Y")
    preds = {"s1": {"s": [a, b, c]}, "s2": {"s": [a, b]}, "s3": {"s": []}, "s4": {"s": [c]}}
    index = build_index([sentence], preds)
    kept = evaluate(combiner("majority"), index, choose(combiner("majority"), None, index.systems, "none"))[1]
    assert kept == {"s": []}  # 2 of 4 is not a majority; nothing has 3
    preds["s3"]["s"].append(a)
    index = build_index([sentence], preds)
    kept = evaluate(combiner("majority"), index, choose(combiner("majority"), None, index.systems, "none"))[1]
    assert kept == {"s": [a]}


@pytest.mark.parametrize(("name", "options"), COMBINERS)
def test_fast_counts_equal_seqeval_for_random_subsets(name, options):
    sentences, labels = lener("dev", 250)
    systems = perturbed_systems(sentences, labels, 6, seed=1)
    index = build_index(sentences, systems)
    comb = combiner(name, **options)
    comb.fit(index)
    rng = random.Random(0)
    subsets = {tuple(sorted(rng.sample(index.systems, rng.randint(1, 6)))) for _ in range(15)}
    for subset in subsets:
        matrix = index.subset_matrix([subset])
        for params in comb.settings(len(subset))[:2]:
            keep, priority = comb.select(index, matrix, params)
            kept = resolve(index, keep, priority)
            fast = count(index, kept).metrics(0, index.labels)
            slow = score(sentences, materialise(index, kept[:, 0]))
            assert fast["precision"] == slow["precision"]
            assert fast["recall"] == slow["recall"]
            assert fast["f1"] == pytest.approx(slow["f1"], abs=1e-12)
            assert fast["macro_f1"] == pytest.approx(slow["macro_f1"], abs=1e-12)
            assert fast["per_type"].keys() == slow["per_type"].keys()
            for label, row in slow["per_type"].items():
                assert fast["per_type"][label] == pytest.approx(row, abs=1e-12)
            if name in ("majority", "vote", "union", "intersection"):
                k = params["k"]
                for sid, spans in materialise(index, kept[:, 0]).items():
                    assert sorted(spans) == reference_vote([systems[s].get(sid, []) for s in subset], k)


def test_ensemble_of_one_resolves_the_overlap_its_system_left():
    """A combiner's output never overlaps (resolving is part of it), so an
    ensemble of one system scores as the system does under the old
    longest-first rule, and as the system itself (span-set) only where the
    system gave no overlapping spans. best_single is the system's own score."""
    from nerbench.index.search import best_single
    from nerbench.score.strict import LONGEST_FIRST

    sentences, labels = lener("dev", 300)
    systems = perturbed_systems(sentences, labels, 3, seed=2)
    index = build_index(sentences, systems)
    differ = 0
    for name in index.systems:
        counts = combine_counts(combiner("union"), index, index.subset_matrix([[name]]), {"k": 1})
        ensemble_f1 = counts.metrics(0, index.labels)["f1"]
        assert ensemble_f1 == pytest.approx(score(sentences, systems[name], rule=LONGEST_FIRST)["f1"], abs=1e-12)
        differ += ensemble_f1 != score(sentences, systems[name])["f1"]
    assert differ  # these systems overlap somewhere
    best = best_single(index)
    own = score(sentences, systems[best["system"]])
    assert {k: best["metrics"][k] for k in ("precision", "recall", "f1")} == pytest.approx(
        {k: own[k] for k in ("precision", "recall", "f1")}, abs=1e-12)
    assert best["metrics"]["per_type"].keys() == own["per_type"].keys()
    assert best["metrics"]["f1"] == max(score(sentences, systems[s])["f1"] for s in index.systems)
    old = best_single(index, LONGEST_FIRST)  # a run configured with the old rule compares with it
    assert old["metrics"]["f1"] == pytest.approx(
        max(score(sentences, systems[s], rule=LONGEST_FIRST)["f1"] for s in index.systems), abs=1e-12)


@pytest.mark.parametrize("name", ["majority", "vote", "weighted"])
def test_exhaustive_search_finds_the_best_subset_by_brute_force(name):
    sentences, labels = lener("dev", 100)
    systems = perturbed_systems(sentences, labels, 5, seed=3)
    index = build_index(sentences, systems)
    comb = combiner(name)
    choice = choose(comb, index, index.systems, "exhaustive")
    brute = 0.0
    for r in range(1, 6):
        for subset in itertools.combinations(index.systems, r):
            for params in comb.settings(r):
                keep, priority = comb.select(index, index.subset_matrix([subset]), params)
                kept = resolve(index, keep, priority)
                brute = max(brute, score(sentences, materialise(index, kept[:, 0]))["f1"])
    assert choice.dev_f1 == pytest.approx(brute, abs=1e-12)
    greedy = choose(combiner(name), index, index.systems, "greedy")
    assert greedy.dev_f1 <= choice.dev_f1 + 1e-12
    single = max(score(sentences, systems[s])["f1"] for s in index.systems)
    assert greedy.dev_f1 >= single - 1e-12


def write_predictions(path, system, dataset, split, preds):
    with open(path, "w") as out:
        for sid, spans in preds.items():
            out.write(json.dumps({"system": system, "dataset": dataset, "split": split, "sentence_id": sid,
                                  "spans": [s.to_json() for s in spans], "status": "ok"}) + "\n")
    return path


def test_ensemble_command_chooses_on_dev_and_writes_scorable_predictions(tmp_path, cli_runner):
    dataset = get_registry().get("datasets", "lener_br")
    labels = [label.name for label in dataset.labels]
    test_s = list(dataset.sentences("test"))
    dev_s = list(dataset.sentences("dev"))
    test_files, dev_files = [], []
    for name, preds in perturbed_systems(test_s, labels, 5, seed=4, drop=(0.35, 0.35)).items():
        test_files.append(str(write_predictions(tmp_path / f"t-{name}.jsonl", name, "lener_br", "test", preds)))
    for name, preds in perturbed_systems(dev_s, labels, 5, seed=5, drop=(0.35, 0.35)).items():
        dev_files.append(str(write_predictions(tmp_path / f"d-{name}.jsonl", name, "lener_br", "dev", preds)))
    out = tmp_path / "ens.jsonl"
    args = ["ensemble", "--gold", "lener_br:test", *test_files, "--combiner", "vote", "--dev", "lener_br:dev",
            "--dev-limit", "100", "--search", "greedy", "--output", str(out), "--json"]
    for f in dev_files:
        args += ["--dev-predictions", f]
    result = cli_runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["dev_sentences"] == 100 and doc["search"] == "greedy" and "k" in doc["params"]
    assert doc["system"].startswith("vote[") and doc["systems"]
    assert doc["metrics"]["f1"] > doc["best_single"]["metrics"]["f1"]  # voting beats the best perturbed system
    scored = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(out), "--json"])
    assert json.loads(scored.output)[doc["system"]]["f1"] == pytest.approx(doc["metrics"]["f1"], abs=1e-12)
    bad = cli_runner.invoke(cli, ["ensemble", "--gold", "lener_br:test", *test_files, "--combiner", "per-type"])
    assert bad.exit_code == 2 and "needs dev predictions" in bad.output
    bad = cli_runner.invoke(cli, ["ensemble", "--gold", "lener_br:test", *test_files, "--combiner", "majorty"])
    assert bad.exit_code == 2 and "Did you mean 'majority'" in bad.output


#: pt-two-families' published run, and the four 3-shot systems whose union taught pt-distill's students.
PT_TWO_FAMILIES = REPO / "leaderboards" / "pt-two-families"
TEACHER = ("embedded/smollm2-135m/json-3shot", "embedded/smollm2-135m/json-grouped-3shot",
           "embedded/gemma3-270m/json-3shot", "embedded/gemma3-270m/json-grouped-3shot")


def page_rows(path):
    """The ranked table of a leaderboard page (its first): system name → its cells (rank first)."""
    rows = {}
    for line in path.read_text(encoding="utf-8").split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit():
            rows[cells[1].replace("\\", "")] = cells
    return rows


def test_a_union_of_stored_predictions_is_a_ranked_row_beside_the_systems_it_combines(tmp_path, cli_runner):
    members = tmp_path / "members.jsonl"
    with open(PT_TWO_FAMILIES / "predictions.jsonl", encoding="utf-8") as src, open(members, "w") as out:
        for line in src:
            row = json.loads(line)
            if row["system"] in TEACHER and (row["dataset"], row["split"]) == ("lener_br", "test"):
                out.write(line)
    union = tmp_path / "union.jsonl"
    made = cli_runner.invoke(cli, ["ensemble", "--gold", "lener_br:test", str(members), "--combiner", "union",
                                   "--output", str(union), "--json"])
    assert made.exit_code == 0, made.output
    ensemble = json.loads(made.stdout)
    assert sorted(ensemble["systems"]) == sorted(TEACHER)
    results = tmp_path / "union" / "results.json"
    scored = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(union), "--results", str(results)])
    assert scored.exit_code == 0, scored.output
    (entry,) = read_results(results)["systems"]
    # seqeval over the written file gives what the combiner's exact counts gave
    assert entry["system"] == ensemble["system"] and entry["sentences"] == ensemble["sentences"]
    assert entry["metrics"]["f1"] == pytest.approx(ensemble["metrics"]["f1"], abs=1e-12)
    assert entry["per_sentence"] == ensemble["per_sentence"]

    board = tmp_path / "board"
    rendered = cli_runner.invoke(cli, ["leaderboard", str(PT_TWO_FAMILIES / "results.json"), str(results),
                                       "-o", str(board)])
    assert rendered.exit_code == 0, rendered.output
    rows = page_rows(board / "lener_br-test.md")
    run = read_results(PT_TWO_FAMILIES / "results.json")
    others = [e for e in run["systems"] + run["ensembles"] if (e["dataset"], e["split"]) == ("lener_br", "test")]
    assert len(rows) == len(others) + 1  # one table: the run's systems and ensembles, and the union
    row, f1 = rows[ensemble["system"]], ensemble["metrics"]["f1"]
    assert int(row[0]) == 1 + sum(e["metrics"]["f1"] > f1 or (e["metrics"]["f1"] == f1 and e["system"] < row[1])
                                  for e in others)
    assert row[4] == f"{100 * f1:.1f}"
    low, high = f1_interval(entry["per_sentence"])
    assert low < f1 < high and row[5] == f"{100 * low:.1f}–{100 * high:.1f}"
    # failure rates, latency, tokens/s, tokens: a predictions file does not say them
    assert row[7:] == ["–"] * 8
    assert rows[TEACHER[0]][12] != "–"  # (the run's systems do say theirs)
    page = (board / "lener_br-test.md").read_text(encoding="utf-8").replace("\\", "")
    assert f"scored from stored predictions\n  - stored predictions: {union} (sha256 " in page
    assert ensemble["system"] in (board / "explorer.html").read_text(encoding="utf-8")
