"""Ensembles inside `nerbench run`: dev samples, in-domain ensembles, the
transfer matrix, and the leaderboard — with a stand-in backend that answers
from gold with seeded noise (this tests the combine stage, not a backend)."""

from __future__ import annotations

import json
import random

import pytest

from nerbench import api
from nerbench.cli import cli
from nerbench.plugin_system.manager import get_registry

from . import configs
from .conftest import write


class GoldEcho(api.Backend):
    """Finds the sentence the request is about and answers the json format with its gold
    entities, each dropped with a probability set by the model name, plus a
    spurious first-token entity in 30% of sentences."""

    endpoint = "gold-echo"
    default_concurrency = 8
    #: "dataset:split:id" → sentence, and the model of every judge request in
    #: the order the backend got them: set per test by the `gold_echo` fixture.
    by_id: dict[str, api.Sentence]
    judged: list[str]
    #: (model, "KIND DATASET:SPLIT" of the question, messages) of every judge request, in the order they came
    asked: list[tuple[str, str, tuple[dict[str, str], ...]]]

    async def generate(self, request):
        # Judges' questions and extraction prompts are told apart by the
        # request's key (what it is about), never by their wording.
        if request.key.startswith(("verify ", "verify-all ", "type ", "choose ")):
            self.judged.append(request.model)
            kind, about = request.key.split(" ", 2)[:2]
            self.asked.append((request.model, f"{kind} {about.rpartition(':')[0]}", request.messages))
            return self.judge(request.key)
        sentence = self.by_id[request.about]
        rng = random.Random(f"{request.model}:{sentence.id}")
        drop = {"good": 0.2, "fair": 0.4, "poor": 0.6}[request.model]
        items = [{"text": sentence.text[s.start : s.end], "label": s.label}
                 for s in sentence.spans if rng.random() > drop]
        if sentence.tokens and rng.random() < 0.3:  # and some noise
            items.append({"text": sentence.tokens[0].text, "label": rng.choice(["PESSOA", "LOCAL", "TEMPO"])})
        return api.Generation(json.dumps({"entities": items}, ensure_ascii=False), "stop", 10, 10, 0.001)

    def judge(self, key):
        """Answers the judges' questions from gold: a (mention, type) is right
        when the sentence has a gold entity of that surface and type."""
        kind, where, about = key.split(" ", 2)
        sentence = self.by_id[where]
        gold = {(sentence.text[s.start : s.end], s.label) for s in sentence.spans}

        def right(item):
            start, end, label = item.split(":")
            return (sentence.text[int(start) : int(end)], label) in gold

        if kind == "verify":
            answer = {"answer": "sim" if right(about) else "não"}
        elif kind == "verify-all":
            answer = {"answers": ["sim" if right(item) else "não" for item in about.split(" ")]}
        elif kind == "type":
            start, end = (int(x) for x in about.split(":"))
            answer = {"type": next((lb for m, lb in sorted(gold) if m == sentence.text[start:end]), "nenhum")}
        else:
            readings = [reading.split(" ") for reading in about.split(" | ")]
            answer = {"choice": next((i for i, r in enumerate(readings, 1) if all(map(right, r))), 0)}
        return api.Generation(json.dumps(answer, ensure_ascii=False), "stop", 10, 3, 0.001)


@pytest.fixture
def gold_echo():
    """A stand-in backend registered for one test: its sentences (dev and
    test of every dataset it answers) and its judge log are its own."""
    registry = get_registry()
    backend = type("GoldEchoForATest", (GoldEcho,), {"by_id": {}, "judged": [], "asked": []})
    for dataset_id in ("lener_br", "harem-selective"):
        for split in ("dev", "test"):
            backend.by_id.update({f"{dataset_id}:{split}:{s.id}": s
                                  for s in registry.get("datasets", dataset_id).sentences(split)})

    class Plugin:
        @api.hookimpl
        def register_backends(self, register):
            register("gold-echo", backend)

    registry.add_plugin(Plugin(), "gold-echo-test")
    return backend


BACKEND = configs.backend("echo", "gold-echo", ["good", "fair", "poor"])
LENER, HAREM = configs.dataset("lener_br"), configs.dataset("harem-selective")


def test_run_with_ensembles_and_transfer(tmp_path, cli_runner, gold_echo):
    cfg = write(tmp_path / "c.toml", configs.config(
        BACKEND, datasets=[LENER, HAREM], run={"limit": 40},
        ensemble={"combiners": ["majority", {"name": "vote", "k": 1}, "weighted"], "search": "exhaustive",
                  "dev_limit": 30}))
    dry = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert "lener_br:dev" in dry.output and "12 jobs" in dry.output
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    ensembles = {(e["combiner"], e["dataset"]): e for e in results["ensembles"]}
    assert set(ensembles) == {(c, d) for c in ("majority", "vote", "weighted") for d in ("lener_br", "harem-selective")}
    majority = ensembles[("majority", "lener_br")]
    assert majority["chosen_on"] == "lener_br:dev" and majority["dev_sentences"] == 30
    assert majority["sentences"] == 40 and majority["search"] == "exhaustive"
    assert ensembles[("vote", "lener_br")]["params"] == {"k": 1}
    # vote k=1 is the union of its members: it finds every entity any member finds.
    union = ensembles[("vote", "lener_br")]
    members = {s["system"]: s["metrics"]["recall"] for s in results["systems"]
               if s["dataset"] == "lener_br" and s["split"] == "test" and s["system"] in union["systems"]}
    assert len(members) == len(union["systems"]) and union["metrics"]["recall"] >= max(members.values())
    assert set(results["transfer"]["majority"]) == {"lener_br", "harem-selective"}
    assert set(results["transfer"]["majority"]["lener_br"]) == {"lener_br", "harem-selective"}
    assert results["transfer"]["majority"]["lener_br"]["lener_br"] == majority["metrics"]["f1"]
    # The ensembles' predictions are in predictions.jsonl and score as reported.
    scored = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(tmp_path / "o" / "predictions.jsonl"),
                                     "--limit", "40", "--json"])
    assert json.loads(scored.output)[majority["system"]]["f1"] == majority["metrics"]["f1"]
    board = (tmp_path / "o" / "lener_br-test.md").read_text()
    escaped = majority["system"].replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
    assert f"| {escaped} " in board and "## Ensembles" in board
    assert "## majority" in (tmp_path / "o" / "transfer.md").read_text()
    # Why: partial matches, errors and headroom for systems and ensembles, and the explorer.
    for entry in results["systems"] + results["ensembles"]:
        assert {"partial", "errors", "overlaps", "spans"} <= set(entry), entry["system"]
        assert len(entry["spans"]) == entry["sentences"]
        assert sum(entry["errors"]["gold"].values()) == sum(entry["per_sentence"]["gold"])
        assert sum(entry["errors"]["predicted"].values()) == sum(entry["per_sentence"]["predicted"])
    room = {(h["dataset"], h["split"]): h for h in results["headroom"]}[("lener_br", "test")]
    assert room["oracle_recall"] >= union["metrics"]["recall"]  # no voting combiner beats the union
    assert len(results["sentences"]["lener_br:test"]) == 40
    for section in ("## Partial matches", "## Errors", "## Headroom", "### Complementarity",
                    "(explorer.html#split=lener_br-test)"):
        assert section in board, section
    page = (tmp_path / "o" / "explorer.html").read_text()
    assert majority["system"] in page and "lener_br:test" in page


def test_llm_judged_pipeline_keeps_what_the_judges_accept(tmp_path, cli_runner, gold_echo):
    cfg = write(tmp_path / "c.toml", configs.config(
        BACKEND, datasets=[LENER], run={"limit": 40},
        ensemble={"combiners": [{"name": "llm-judge", "judges": ["echo/good", "echo/fair"]}, "union",
                                {"name": "el4ner", "judges": ["echo/good"]},
                                {"name": "llm-judge", "alias": "llm-judge-good", "judges": ["echo/good"]},
                                {"name": "llm-judge", "alias": "llm-judge-batch", "judges": ["echo/good"],
                                 "batch": True}],
                  "search": "none", "dev_limit": 30}))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    by = {e["combiner"]: e for e in results["ensembles"]}
    judged, union = by["llm-judge"]["metrics"], by["union"]["metrics"]
    # These judges accept a (mention, type) when the sentence has such a gold
    # entity: the pipeline must keep exactly those of the pooled candidates.
    rows = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]
    texts = {key.rpartition(":")[2]: s for key, s in gold_echo.by_id.items() if key.startswith("lener_br:test:")}

    def spans_of(system):
        return {(r["sentence_id"], s["start"], s["end"], s["label"]) for r in rows
                if r["system"] == system and r["split"] == "test" for s in r["spans"]}

    def accepted(c):
        sentence = texts[c[0]]
        return (sentence.text[c[1] : c[2]], c[3]) in {(sentence.text[g.start : g.end], g.label) for g in sentence.spans}

    pooled = spans_of(by["union"]["system"])
    assert spans_of(by["llm-judge"]["system"]) == {c for c in pooled if accepted(c)}
    # The same combiner again under an alias, with one judge: its own entry and
    # options; these judges both answer from gold, so it keeps the same spans.
    alone = by["llm-judge-good"]
    assert alone["options"] == {"judges": ["echo/good"]} and alone["system"].startswith("llm-judge-good[")
    assert spans_of(alone["system"]) == spans_of(by["llm-judge"]["system"])
    # Batched: one question per sentence listing its candidates, read one answer each — the same keeps.
    assert spans_of(by["llm-judge-batch"]["system"]) == spans_of(alone["system"])
    batched = [a for a in gold_echo.asked if a[1].startswith("verify-all ")]
    assert 0 < len(batched) < len([a for a in gold_echo.asked if a[1].startswith("verify ") and a[0] == "good"])
    # Each step's questions about a split reach a judge in prefix order: sorted by their text, so
    # neighbours share the longest prefix a server can reuse.
    runs: list[list[tuple]] = [[]]
    for model, kind, messages in gold_echo.asked:
        if runs[-1] and (runs[-1][-1][0], runs[-1][-1][1]) != (model, kind):
            runs.append([])
        runs[-1].append((model, kind, [(m["role"], m["content"]) for m in messages]))
    assert sum(len(r) for r in runs) == len(gold_echo.asked) and len(runs) > 3
    for run in runs:
        texts_sent = [r[2] for r in run]
        assert texts_sent == sorted(texts_sent)
    assert judged["recall"] == union["recall"] and judged["precision"] > union["precision"]
    # EL4NER: every pooled span, retyped by the judges (here: its gold type, if its surface is gold).
    retyped = set()
    for sid, start, end, _ in pooled:
        sentence = texts[sid]
        types = sorted(lb for m, lb in {(sentence.text[g.start : g.end], g.label) for g in sentence.spans}
                       if m == sentence.text[start:end])
        if types:
            retyped.add((sid, start, end, types[0]))
    assert spans_of(by["el4ner"]["system"]) == retyped
    assert results["judging"]["backend_calls"] > 0
    # The judged ensembles are analysed and explorable like any other.
    assert by["llm-judge"]["errors"]["predicted"]["spurious"] <= by["union"]["errors"]["predicted"]["spurious"]
    assert by["llm-judge"]["system"] in (tmp_path / "o" / "explorer.html").read_text()
    # One judge model after another on the server, not alternating per question.
    # llm-judge asks both judges twice per index (dev, test): at most one switch
    # inside each of those 4 batches and one between batches. Interleaved,
    # this run switched 1,790 times in 1,939 requests.
    judged_models = gold_echo.judged
    switches = sum(1 for a, b in zip(judged_models, judged_models[1:]) if a != b)
    assert len(judged_models) > 100 and switches <= 8, (len(judged_models), switches)
    # Judging went through the cache: a rerun asks nothing.
    again = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "p"), "--no-progress"])
    assert again.exit_code == 0, again.output
    rerun = json.loads((tmp_path / "p" / "results.json").read_text())
    assert rerun["judging"]["backend_calls"] == 0
    assert rerun["judging"]["cache_hits"] == results["judging"]["requests"]
