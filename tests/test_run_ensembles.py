"""Ensembles inside `nerbench run`: dev samples, in-domain ensembles, the
transfer matrix, and the leaderboard — with a stand-in backend that answers
from gold with seeded noise (this tests the combine stage, not a backend)."""

from __future__ import annotations

import json
import random
import re

import nerbench
from nerbench.cli import cli
from nerbench.registry import get_registry

from .conftest import write


class GoldEcho(nerbench.Backend):
    """Finds the sentence by its text and answers the json format with its gold
    entities, each dropped with a probability set by the model name, plus a
    spurious first-token entity in 30% of sentences."""

    endpoint = "gold-echo"
    default_concurrency = 8

    async def generate(self, request):
        content = request.messages[-1]["content"]
        if "Pergunta:" in content or "no máximo um está certo" in content or "De que tipo" in content:
            JUDGED.append(request.model)
            return self.judge(content)
        text = content.split(": ", 1)[1]
        sentence = SENTENCES[text]
        rng = random.Random(f"{request.model}:{sentence.id}")
        drop = {"good": 0.2, "fair": 0.4, "poor": 0.6}[request.model]
        items = [{"text": sentence.text[s.start : s.end], "label": s.label}
                 for s in sentence.spans if rng.random() > drop]
        if sentence.tokens and rng.random() < 0.3:  # and some noise
            items.append({"text": sentence.tokens[0].text, "label": rng.choice(["PESSOA", "LOCAL", "TEMPO"])})
        return nerbench.Generation(json.dumps({"entities": items}, ensure_ascii=False), "stop", 10, 10, 0.001)


    def judge(self, content):
        """Answers the verify format's questions from gold: yes/no, or which option."""
        text = content.split("\n", 1)[0].split(": ", 1)[1]
        gold = {(SENTENCES[text].text[s.start : s.end], s.label) for s in SENTENCES[text].spans}
        if "Pergunta:" in content:
            mention, label = re.search(r'"(.*)" é uma entidade do tipo (\w+)', content).groups()
            answer = {"answer": "sim" if (mention, label) in gold else "não"}
        elif "De que tipo" in content:
            mention = re.search(r'De que tipo é a entidade "(.*)" neste texto', content).group(1)
            answer = {"type": next((lb for m, lb in sorted(gold) if m == mention), "nenhum")}
        else:
            options = re.findall(r'^(\d+)\) "(.*)" como (\w+)$', content, re.M)
            answer = {"choice": next((int(i) for i, m, lb in options if (m, lb) in gold), 0)}
        return nerbench.Generation(json.dumps(answer, ensure_ascii=False), "stop", 10, 3, 0.001)


class Plugin:
    @nerbench.hookimpl
    def register_backends(self, register):
        register("gold-echo", GoldEcho)


SENTENCES: dict = {}
JUDGED: list = []  # the model of every judge request, in the order the backend got them

CONFIG = """
[run]
limit = 40

[[backend]]
name = "echo"
kind = "gold-echo"
models = ["good", "fair", "poor"]

[[dataset]]
id = "lener_br"
splits = ["test"]

[[dataset]]
id = "harem-selective"
splits = ["test"]

[[format]]
name = "json"

[ensemble]
combiners = ["majority", {name = "vote", k = 1}, "weighted"]
search = "exhaustive"
dev_limit = 30
"""


def test_run_with_ensembles_and_transfer(tmp_path, cli_runner):
    registry = get_registry()
    registry.add_plugin(Plugin(), "gold-echo-test")
    for dataset_id in ("lener_br", "harem-selective"):
        dataset = registry.get("datasets", dataset_id)
        for split in ("dev", "test"):
            SENTENCES.update({s.text: s for s in dataset.sentences(split)})
    cfg = write(tmp_path / "c.toml", CONFIG)
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
    # Three systems with independent misses: some ensemble beats the best one.
    assert max(e["metrics"]["f1"] - e["best_single"]["metrics"]["f1"] for e in ensembles.values()) > 0
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


def test_llm_judged_pipeline_keeps_what_the_judges_accept(tmp_path, cli_runner):
    registry = get_registry()
    registry.add_plugin(Plugin(), "gold-echo-test")
    for split in ("dev", "test"):
        SENTENCES.update({s.text: s for s in registry.get("datasets", "lener_br").sentences(split)})
    cfg = write(tmp_path / "c.toml", CONFIG.replace(
        'combiners = ["majority", {name = "vote", k = 1}, "weighted"]\nsearch = "exhaustive"',
        'combiners = [{name = "llm-judge", judges = ["echo/good", "echo/fair"]}, "union",\n'
        '             {name = "el4ner", judges = ["echo/good"]}]\nsearch = "none"',
    ).replace('[[dataset]]\nid = "harem-selective"\nsplits = ["test"]\n', ""))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    by = {e["combiner"]: e for e in results["ensembles"]}
    judged, union = by["llm-judge"]["metrics"], by["union"]["metrics"]
    # These judges accept a (mention, type) when the sentence has such a gold
    # entity: the pipeline must keep exactly those of the pooled candidates.
    rows = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]
    texts = {s.id: s for s in SENTENCES.values()}

    def spans_of(system):
        return {(r["sentence_id"], s["start"], s["end"], s["label"]) for r in rows
                if r["system"] == system and r["split"] == "test" for s in r["spans"]}

    def accepted(c):
        sentence = texts[c[0]]
        return (sentence.text[c[1] : c[2]], c[3]) in {(sentence.text[g.start : g.end], g.label) for g in sentence.spans}

    pooled = spans_of(by["union"]["system"])
    assert spans_of(by["llm-judge"]["system"]) == {c for c in pooled if accepted(c)}
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
    # One judge model after another on the server, not alternating per question.
    # llm-judge asks both judges twice per index (dev, test): at most one switch
    # inside each of those 4 batches and one between batches. Interleaved,
    # this run switched 1,790 times in 1,939 requests.
    switches = sum(1 for a, b in zip(JUDGED, JUDGED[1:]) if a != b)
    assert len(JUDGED) > 100 and switches <= 8, (len(JUDGED), switches)
    # Judging went through the cache: a rerun asks nothing.
    again = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "p"), "--no-progress"])
    assert again.exit_code == 0, again.output
    rerun = json.loads((tmp_path / "p" / "results.json").read_text())
    assert rerun["judging"]["backend_calls"] == 0
    assert rerun["judging"]["cache_hits"] == results["judging"]["requests"]
