"""Why a system wins: nervaluate's partial-match schemes (against its own
documentation, and its strict counts against seqeval), the error taxonomy,
headroom on the candidate index (against sets computed by hand), and
re-scoring a published leaderboard from its stored predictions."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nerbench.api import Sentence, Span, Token
from nerbench.cli import cli
from nerbench.index.candidates import build_index
from nerbench.files.results import dumps
from nerbench.plugin_system.manager import get_registry
from nerbench.score.details import details
from nerbench.index.headroom import headroom
from nerbench.score.partial import partial_scores
from nerbench.score.strict import LONGEST_FIRST, entities, overlapping, per_sentence, score
from nerbench.score.taxonomy import classify, error_counts
from nerbench.testing import perturbed_systems

REPO = Path(__file__).resolve().parents[1]


def sentence(sid: str, text: str, gold: list[tuple[str, str]]) -> Sentence:
    tokens, pos = [], 0
    for word in text.split(" "):
        tokens.append(Token(word, pos, pos + len(word)))
        pos += len(word) + 1
    return Sentence(sid, text, tuple(tokens), tuple(span(text, m, label) for m, label in gold))


def span(text: str, mention: str, label: str) -> Span:
    start = text.index(mention)
    return Span(start, start + len(mention), label)


# nervaluate's README, "These five errors and four evaluation schema interact
# in the following ways": scenario, gold, prediction, then the outcome under
# the type, partial, exact and strict schemes — and our taxonomy's class of
# the prediction (or of the gold entity, for III).
SCENARIOS = [
    ("III", ("tikosyn", "BRAND"), None, ("MIS", "MIS", "MIS", "MIS"), "missed"),
    ("II", None, ("healthy", "BRAND"), ("SPU", "SPU", "SPU", "SPU"), "spurious"),
    ("V", ("warfarin", "DRUG"), ("of warfarin", "DRUG"), ("COR", "PAR", "INC", "INC"), "boundary"),
    ("IV", ("propranolol", "DRUG"), ("propranolol", "BRAND"), ("INC", "COR", "COR", "INC"), "type"),
    ("I", ("phenytoin", "DRUG"), ("phenytoin", "DRUG"), ("COR", "COR", "COR", "COR"), "exact"),
    ("VI", ("contraceptives", "GROUP"), ("oral contraceptives", "DRUG"), ("INC", "PAR", "INC", "INC"),
     "boundary_type"),
]
NAMES = {"COR": "correct", "INC": "incorrect", "PAR": "partial", "MIS": "missed", "SPU": "spurious"}
TEXT = "the patient took tikosyn was healthy of warfarin and propranolol or phenytoin with oral contraceptives"


@pytest.mark.parametrize(("scenario", "gold", "pred", "outcomes", "taxonomy"), SCENARIOS)
def test_nervaluate_documented_scenarios(scenario, gold, pred, outcomes, taxonomy):
    s = sentence(scenario, TEXT, [gold] if gold else [])
    predicted = {scenario: [span(TEXT, *pred)] if pred else []}
    result = details([s], predicted)
    for scheme, outcome in zip(("ent_type", "partial", "exact", "strict"), outcomes):
        counts = result["partial"]["overall"][scheme]
        assert {k for k in NAMES.values() if counts[k]} == {NAMES[outcome]}, (scenario, scheme, counts)
        assert counts[NAMES[outcome]] == 1
    side = result["errors"]["gold" if taxonomy == "missed" else "predicted"]
    assert {k for k, v in side.items() if v} == {taxonomy}


def test_nervaluate_documented_formulas_over_the_scenarios():
    """All six scenarios in one sentence: P and R by the README's formulas
    (exact match: COR / ACT; partial match: (COR + 0.5 PAR) / ACT), with the
    counts the scenario rows add up to. (The README's "Putting all together"
    table does not add up its own rows — 3 correct under type where the rows
    give 2 — so the rows are the reference.)"""
    s = sentence("all", TEXT, [g for _, g, _, _, _ in SCENARIOS if g])
    result = details([s], {"all": [span(TEXT, *p) for _, _, p, _, _ in SCENARIOS if p]})["partial"]["overall"]
    for i, scheme in enumerate(("ent_type", "partial", "exact", "strict")):
        expected = {name: sum(1 for row in SCENARIOS if NAMES[row[3][i]] == name) for name in NAMES.values()}
        assert {k: result[scheme][k] for k in NAMES.values()} == expected, scheme
        act = sum(expected[k] for k in ("correct", "incorrect", "partial", "spurious"))
        hit = expected["correct"] + (0.5 * expected["partial"] if scheme in ("partial", "ent_type") else 0)
        assert result[scheme]["precision"] == pytest.approx(hit / act)
    assert result["strict"]["precision"] == pytest.approx(1 / 5) and result["partial"]["recall"] == pytest.approx(3 / 5)


def test_nervaluate_readme_spans_example():
    """The README's prodigy-spans example (inclusive token ends): everything correct."""
    gold = [[(2, 5, "PER")], [(1, 3, "LOC"), (3, 5, "LOC")]]
    result = partial_scores(gold, gold)
    for scheme in ("strict", "exact", "partial", "ent_type"):
        assert result["overall"][scheme]["correct"] == 3 and result["overall"][scheme]["precision"] == 1.0
        assert result["per_type"]["LOC"][scheme]["correct"] == 2 and result["per_type"]["PER"][scheme]["correct"] == 1


@pytest.mark.parametrize("dataset_id", ["lener_br", "harem-selective"])
def test_nervaluate_strict_counts_equal_seqeval_without_overlap(dataset_id):
    """On a real corpus, gold and perturbed systems (made overlap-free by the
    longest-first rule): nervaluate's strict correct / actual / possible are
    seqeval's true positives / predicted / gold, overall and per type."""
    dataset = get_registry().get("datasets", dataset_id)
    sentences = list(dataset.sentences("test"))[:400]
    systems = perturbed_systems(sentences, [label.name for label in dataset.labels], 3, seed=11)
    for predicted in [{s.id: s.spans for s in sentences}, *systems.values()]:
        gold, pred = entities(sentences, predicted, LONGEST_FIRST)
        assert not any(map(overlapping, pred))
        strict = partial_scores(gold, pred)
        counts = per_sentence(sentences, predicted, LONGEST_FIRST)
        overall = strict["overall"]["strict"]
        assert overall["correct"] == sum(counts["tp"])
        assert overall["correct"] + overall["incorrect"] + overall["spurious"] == sum(counts["predicted"])
        assert overall["correct"] + overall["incorrect"] + overall["missed"] == sum(counts["gold"])
        seqeval = score(sentences, predicted, LONGEST_FIRST)
        assert overall["precision"] == pytest.approx(seqeval["precision"], abs=1e-12)
        assert overall["recall"] == pytest.approx(seqeval["recall"], abs=1e-12)
        for label, row in seqeval["per_type"].items():
            theirs = strict["per_type"][label]["strict"]
            assert (theirs["precision"], theirs["recall"]) == pytest.approx((row["precision"], row["recall"]))
            assert theirs["correct"] + theirs["incorrect"] + theirs["missed"] == row["support"]


def nervaluate_reference(gold, predicted) -> dict:
    """nervaluate's own Evaluator over the same entities: what partial_scores re-implements."""
    from nervaluate import Evaluator

    def docs(ranges):
        return [[{"label": label, "start": first, "end": last - 1} for first, last, label in sent] for sent in ranges]

    def row(result):
        return {**{name: int(getattr(result, name)) for name in ("correct", "incorrect", "partial", "missed",
                                                                 "spurious")},
                "precision": float(result.precision), "recall": float(result.recall), "f1": float(result.f1)}

    labels = sorted({label for sent in (*gold, *predicted) for _, _, label in sent})
    result = Evaluator(docs(gold), docs(predicted), tags=labels, loader="dict").evaluate()
    schemes = ("strict", "exact", "partial", "ent_type")
    return {"overall": {scheme: row(result["overall"][scheme]) for scheme in schemes},
            "per_type": {label: {scheme: row(result["entities"][label][scheme]) for scheme in schemes}
                         for label in labels}}


def hedged(sentences, labels, seed):
    """Predictions that overlap on purpose: every gold span also under another
    label, a span one token wider, a one-token span inside, and one over two
    neighbouring gold spans (equally close to both: the tie ent_type breaks),
    in a seeded order."""
    rng = random.Random(seed)
    out = {}
    for s in sentences:
        gold = sorted(s.spans)
        spans = [Span(a.start, b.end, a.label) for a, b in zip(gold, gold[1:])]
        for g in s.spans:
            spans.append(g)
            spans.append(Span(g.start, g.end, rng.choice([x for x in labels if x != g.label])))
            wider = next((t.end for t in s.tokens if t.start > g.end), g.end)
            spans.append(Span(g.start, wider, g.label))
            inner = next(t for t in s.tokens if t.start >= g.start)
            spans.append(Span(inner.start, inner.end, rng.choice(labels)))
        rng.shuffle(spans)
        out[s.id] = [x for x in spans if rng.random() < 0.7]
    return out


@pytest.mark.parametrize("dataset_id", ["lener_br", "harem-selective"])
def test_partial_scores_are_nervaluates_own_on_real_corpora_with_overlaps(dataset_id):
    """Every count and float of the four schemes, overall and per type, equal
    to nervaluate's Evaluator: gold itself, perturbed systems, and hedged
    predictions (a mention under two labels, nested and wider spans: where
    its greedy order decides)."""
    dataset = get_registry().get("datasets", dataset_id)
    sentences = list(dataset.sentences("test"))[:400]
    labels = [label.name for label in dataset.labels]
    systems = perturbed_systems(sentences, labels, 2, seed=5)
    cases = [{s.id: s.spans for s in sentences}, *systems.values(), hedged(sentences, labels, 1),
             hedged(sentences, labels, 2), {}]
    for predicted in cases:
        gold, pred = entities(sentences, predicted)
        assert partial_scores(gold, pred) == nervaluate_reference(gold, pred)
    assert any(map(overlapping, entities(sentences, cases[3])[1]))


def test_nervaluate_strict_differs_from_seqeval_on_a_hedge_by_definition():
    """nervaluate lets a gold entity be matched once, greedily in the order
    of the predictions: the first of two labels for one mention takes it as
    incorrect and the right label, after it, is spurious. seqeval (and our
    strict scores) count the right one."""
    s = sentence("h", "O STF decidiu", [("STF", "ORG")])
    hedged = {"h": [span(s.text, "STF", "LEGISLACAO"), span(s.text, "STF", "ORG")]}
    result = details([s], hedged)
    assert score([s], hedged)["precision"] == 0.5
    strict = result["partial"]["overall"]["strict"]
    assert (strict["correct"], strict["incorrect"], strict["spurious"]) == (0, 1, 1)
    assert result["overlaps"] == {"predictions": 2, "sentences": 1, "dropped": 0}
    assert result["errors"]["predicted"] == {"exact": 1, "type": 1, "boundary": 0, "boundary_type": 0, "spurious": 0}


def test_taxonomy_sums_to_predictions_and_gold_on_a_real_corpus():
    dataset = get_registry().get("datasets", "lener_br")
    sentences = list(dataset.sentences("test"))
    systems = perturbed_systems(sentences, [label.name for label in dataset.labels], 3, seed=4)
    for predicted in systems.values():
        gold, pred = entities(sentences, predicted)
        errors = error_counts(gold, pred)
        counts = per_sentence(sentences, predicted)
        assert sum(errors["predicted"].values()) == sum(counts["predicted"])
        assert sum(errors["gold"].values()) == sum(counts["gold"])
        assert errors["predicted"]["exact"] == errors["gold"]["exact"] == sum(counts["tp"])
        for label, per in errors["per_type"].items():
            assert sum(per["gold"].values()) == sum(1 for sent in gold for r in sent if r[2] == label)
            assert sum(per["predicted"].values()) == sum(1 for sent in pred for r in sent if r[2] == label)
        assert all(errors["predicted"][k] for k in ("type", "boundary", "spurious"))  # the perturbations show


def test_taxonomy_precedence():
    gold = [(0, 2, "PER"), (5, 7, "LOC")]
    # the same range under another label wins over an overlap of the right label
    assert classify(gold, [(0, 2, "ORG"), (0, 1, "PER")]) == (["type", "boundary"], ["type", "missed"])
    assert classify(gold, [(1, 6, "ORG")]) == (["boundary_type"], ["boundary_type", "boundary_type"])
    assert classify([], [(0, 1, "X")]) == (["spurious"], [])


def test_headroom_against_sets_computed_by_hand():
    dataset = get_registry().get("datasets", "lener_br")
    sentences = list(dataset.sentences("dev"))[:200]
    systems = perturbed_systems(sentences, [label.name for label in dataset.labels], 4, seed=9)
    room = headroom(build_index(sentences, systems))
    gold = {(s.id, g.start, g.end, g.label) for s in sentences for g in s.spans}
    predicted = {name: {(sid, p.start, p.end, p.label) for sid, spans in preds.items() for p in spans}
                 for name, preds in systems.items()}
    found = {name: predicted[name] & gold for name in systems}
    names = sorted(systems)
    assert room["systems"] == names and room["gold"] == len(gold)
    union = set().union(*found.values())
    assert room["found_by_any"] == len(union) and room["oracle_recall"] == len(union) / len(gold)
    assert room["found_by_all"] == len(set.intersection(*found.values()))
    assert room["found"] == [len(found[n]) for n in names]
    for i, a in enumerate(names):
        others = set().union(*(found[b] for b in names if b != a))
        assert room["unique"][i] == len(found[a] - others)
        for j, b in enumerate(names):
            assert room["only"][i][j] == len(found[a] - found[b])
            either = predicted[a] | predicted[b]
            assert room["agreement"][i][j] == pytest.approx(len(predicted[a] & predicted[b]) / len(either))
    for label, part in room["per_type"].items():
        typed = {g for g in gold if g[3] == label}
        assert part["gold"] == len(typed) and part["found_by_any"] == len(union & typed)
    # the union's recall bounds every system's (the ceiling of any voting combiner)
    assert room["oracle_recall"] >= max(score(sentences, systems[n])["recall"] for n in names)


def test_results_json_keeps_per_sentence_arrays_on_one_line():
    doc = {"systems": [{"per_sentence": {"tp": [1, 0, 2]}, "spans": [[[0, 3, "PER"]], []],
                        "metrics": {"f1": 0.5, "per_type": {"PER": {"f1": 1.0}}}}], "x": {}, "y": []}
    text = dumps(doc)
    assert json.loads(text) == doc
    assert '"tp": [1, 0, 2]' in text and '[[0, 3, "PER"]],' in text and '"PER": {"f1": 1.0}' in text


def copy_board(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(REPO / "leaderboards" / name, target)
    return target


def test_rescoring_a_published_leaderboard(tmp_path, cli_runner):
    """formats-smollm2 scored again from its stored predictions gives back
    the committed results exactly (and so its pages: see the test below); its
    scores are `nerbench score`'s on the same predictions, under either rule."""
    board = copy_board("formats-smollm2", tmp_path)
    published = json.loads((board / "results.json").read_text(encoding="utf-8"))
    assert published["format_version"] == 2 and published["scoring"] == {"rule": "span-set"}
    old = cli_runner.invoke(cli, ["rescore", str(board), "--scoring", "longest-first",
                                  "-o", str(tmp_path / "old.json")])
    assert old.exit_code == 0, old.output
    assert cli_runner.invoke(cli, ["rescore", str(board)]).exit_code == 0
    doc = json.loads((board / "results.json").read_text(encoding="utf-8"))
    assert doc["rescored"]["created"] >= published["rescored"]["created"]
    assert {**doc, "rescored": None} == {**published, "rescored": None}
    for rule, results in (("span-set", doc), ("longest-first", json.loads((tmp_path / "old.json").read_text()))):
        scored = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(board / "predictions.jsonl"),
                                         "--limit", "100", "--scoring", rule, "--json"])
        direct = json.loads(scored.output)
        for entry in (e for e in results["systems"] if e["dataset"] == "lener_br"):
            assert entry["metrics"] == direct[entry["system"]], (rule, entry["system"])
    hedging = [e for e in doc["systems"] if e["overlaps"]["predictions"]]
    assert hedging and all(e["overlaps"]["dropped"] == 0 for e in hedging)


def test_the_published_raced_run_rescores_to_its_own_results(tmp_path, cli_runner):
    """pt-raced was run before results recorded how many sentences a split
    raced over: rescore draws the race's order of the limit its config gave,
    and scores each system on the prefix it answered, giving back the
    committed results exactly."""
    board = copy_board("pt-raced", tmp_path)
    published = json.loads((board / "results.json").read_text(encoding="utf-8"))
    assert "sentences" not in published["race"] and published["config"]["content"]["run"]["limit"] == 300
    assert len({s["sentences"] for s in published["systems"]}) > 2
    result = cli_runner.invoke(cli, ["rescore", str(board)])
    assert result.exit_code == 0, result.output
    doc = json.loads((board / "results.json").read_text(encoding="utf-8"))
    assert {**doc, "rescored": None} == {**published, "rescored": None}


#: Every published folder, nested ones included (leaderboards/pt-distill/test, ...).
PUBLISHED = sorted(str(p.parent.relative_to(REPO / "leaderboards"))
                   for p in (REPO / "leaderboards").rglob("results.json"))


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_leaderboard_is_what_its_results_render(name, tmp_path, cli_runner):
    """Rendered twice from its results.json alone: byte-identical, and the
    committed pages and explorer are exactly what the code renders."""
    board = REPO / "leaderboards" / name
    for out in ("r1", "r2"):
        result = cli_runner.invoke(cli, ["leaderboard", str(board / "results.json"), "-o", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(tmp_path / "r1") for p in (tmp_path / "r1").rglob("*") if p.is_file())
    assert Path("explorer.html") in files and Path("leaderboard.md") in files
    for f in files:
        assert (tmp_path / "r1" / f).read_bytes() == (tmp_path / "r2" / f).read_bytes(), f
        if f.suffix in (".md", ".html"):
            assert (tmp_path / "r1" / f).read_bytes() == (board / f).read_bytes(), f


def test_ensembles_score_the_same_under_either_rule(tmp_path, cli_runner):
    """An ensemble's output never overlaps, so both rules give its scores
    alike; its best single system is the systems' best under the rule."""
    board = copy_board("ensembles-smollm2", tmp_path)
    published = json.loads((board / "results.json").read_text(encoding="utf-8"))
    assert cli_runner.invoke(cli, ["rescore", str(board), "--scoring", "longest-first"]).exit_code == 0
    doc = json.loads((board / "results.json").read_text(encoding="utf-8"))
    assert doc["scoring"] == {"rule": "longest-first"} and published["scoring"] == {"rule": "span-set"}
    for before, after in zip(published["ensembles"], doc["ensembles"]):
        assert after["metrics"] == before["metrics"] and after["overlaps"]["predictions"] == 0
        for d in (published, doc):
            entry = next(e for e in d["ensembles"]
                         if e["system"] == after["system"] and e["dataset"] == after["dataset"])
            peers = [s["metrics"]["f1"] for s in d["systems"]
                     if (s["dataset"], s["split"]) == (entry["dataset"], entry["split"])]
            assert entry["best_single"]["metrics"]["f1"] == max(peers)
    # ... while a hedging system's do not: json-grouped on LeNER-Br test
    single = [(b["metrics"]["f1"], a["metrics"]["f1"]) for b, a in zip(published["systems"], doc["systems"])
              if b["system"].endswith("/json-grouped") and (b["dataset"], b["split"]) == ("lener_br", "test")]
    assert single == [(pytest.approx(2 * 0.25 * (1 / 33) / (0.25 + 1 / 33)), 0.0)]
    assert doc["transfer"] == published["transfer"]


def test_rescore_errors_are_one_line(tmp_path, cli_runner):
    result = cli_runner.invoke(cli, ["rescore", str(tmp_path)])
    assert result.exit_code == 2 and "no results.json" in result.output
    board = copy_board("porting-yo", tmp_path)
    doc = json.loads((board / "results.json").read_text(encoding="utf-8"))
    doc["datasets"]["masakhaner2_yor"]["manifest_sha256"] = "0" * 64
    (board / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    # A manifest that changed elsewhere (a split added) leaves the recorded gold as the corpus has it.
    result = cli_runner.invoke(cli, ["rescore", str(board), "-o", str(tmp_path / "same.json")])
    assert result.exit_code == 0, result.output
    ref = next(key for key in doc["sentences"] if key.startswith("masakhaner2_yor:"))
    doc["sentences"][ref][0]["gold"].append([0, 1, "PER"])
    (board / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    result = cli_runner.invoke(cli, ["rescore", str(board)])
    assert result.exit_code == 2 and "manifest changed since the run" in result.output


def test_scoring_rule_in_the_config_is_checked(tmp_path, cli_runner):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nscoring = "loose"\n[[backend]]\nname = "b"\nkind = "openai"\nurl = "http://127.0.0.1:9"\n'
                   'models = ["m"]\n[[dataset]]\nid = "lener_br"\nsplits = ["test"]\n[[format]]\nname = "json"\n',
                   encoding="utf-8")
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2 and "scoring" in result.output and "Traceback" not in result.output



@pytest.mark.parametrize("results, section", [("results", "## Learning curves"),
                                              ("results-spacy", "## The spaCy student")])
def test_pt_loop_readme_holds_what_its_analyse_prints(results, section):
    """pt-loop's curves, goal and stopping tables are re-derived from the
    committed per-round results by its analyse.py, as its README says."""
    board = REPO / "leaderboards" / "pt-loop"
    printed = subprocess.run([sys.executable, str(board / "analyse.py"), "--results", str(board / results),
                              "--no-stress"], capture_output=True, text=True, check=True).stdout
    readme = (board / "README.md").read_text(encoding="utf-8")
    readme = readme[readme.index(section):]
    blocks = [b for b in printed.split("\n\n") if b.startswith(("| reviewed | random", "random at 400", "- random:",
                                                                  "| strategy | seed |", "The loop said stop"))]
    assert len(blocks) >= 4
    for block in blocks:
        assert block.strip() in readme, block[:80]
