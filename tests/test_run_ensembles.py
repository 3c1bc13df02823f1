"""Ensembles inside `nerbench run`: dev samples, in-domain ensembles, the
transfer matrix, and the leaderboard — with a stand-in backend that answers
from gold with seeded noise (this tests the combine stage, not a backend)."""

from __future__ import annotations

import json
import random

import nerbench
from nerbench.cli import cli
from nerbench.registry import get_registry

from .conftest import write


class GoldEcho(nerbench.Backend):
    """Finds the sentence by its text and answers the json format with its gold
    entities, each dropped with a probability set by the model name."""

    endpoint = "gold-echo"
    default_concurrency = 8

    async def generate(self, request):
        text = request.messages[-1]["content"].split(": ", 1)[1]
        sentence = SENTENCES[text]
        rng = random.Random(f"{request.model}:{sentence.id}")
        drop = {"good": 0.2, "fair": 0.4, "poor": 0.6}[request.model]
        items = [{"text": sentence.text[s.start : s.end], "label": s.label}
                 for s in sentence.spans if rng.random() > drop]
        return nerbench.Generation(json.dumps({"entities": items}, ensure_ascii=False), "stop", 10, 10, 0.001)


class Plugin:
    @nerbench.hookimpl
    def register_backends(self, register):
        register("gold-echo", GoldEcho)


SENTENCES: dict = {}

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
    board = (tmp_path / "o" / "leaderboard.md").read_text()
    escaped = majority["system"].replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
    assert "## Transfer, majority" in board and f"| {escaped} " in board
