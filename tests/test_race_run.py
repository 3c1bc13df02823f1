"""`[run] race` inside `nerbench run`: systems of known quality (a stand-in
backend answering from gold, each model dropping entities at its own rate)
race on a split; the clearly worse ones stop being asked, the results say
where and why, the pages say the samples differ, a rerun asks for nothing
and a later full run reuses every answer."""

from __future__ import annotations

import json

from nerbench.cli import cli
from nerbench_plugins.reporters import explorer

from . import configs
from .conftest import write
from .test_run_ensembles import BACKEND, LENER, gold_echo  # noqa: F401  (the fixture)


def race_config(tmp_path, race, limit=200, ensemble=None):
    extra = {"ensemble": ensemble} if ensemble else {}
    return write(tmp_path / "c.toml", configs.config(BACKEND, datasets=[LENER], run={"limit": limit, "race": race},
                                                     **extra))


def test_a_race_drops_the_clearly_worse_and_says_where_and_why(tmp_path, cli_runner, gold_echo):  # noqa: F811
    cfg = race_config(tmp_path, {"rounds": 5, "alpha": 0.05, "seed": 0})
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    by = {s["model"]: s for s in results["systems"]}
    assert results["race"]["settings"]["rounds"] == 5 and results["race"]["splits"] == ["lener_br:test"]
    # "good" drops 20% of the gold entities, "poor" 60%: poor is worse with confidence long before 200.
    poor, fair, good = by["poor"]["race"], by["fair"]["race"], by["good"]["race"]
    assert poor["status"] == fair["status"] == "dropped" and poor["p"] < poor["level"] and fair["p"] < fair["level"]
    assert poor["against"] == fair["against"] == by["good"]["system"]
    # The race ends when one system is left: good answered no more than the last dropped one.
    assert good == {"status": "finished", "round": good["round"], "sentences": max(poor["sentences"],
                                                                                 fair["sentences"]),
                    "why": "one system left"}
    assert good["sentences"] < 200
    # Each system is scored on the sentences it answered (a prefix of the race's seeded order), and was
    # asked about nothing else.
    for entry in results["systems"]:
        assert entry["sentences"] == entry["race"]["sentences"] == len(entry["per_sentence"]["tp"])
        assert entry["counts"]["requests"] == entry["sentences"]
    order = [s["id"] for s in results["sentences"]["lener_br:test"]]
    assert order != sorted(order)  # the seeded race order, not the file's
    page = (tmp_path / "o" / "lener_br-test.md").read_text()
    assert "**Raced**" in page and "## Racing" in page and "dropped" in page
    # Resumes from the cache like any run: the same command asks for nothing.
    again = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "again"), "--no-progress"])
    rerun = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again.exit_code == 0 and all(s["counts"]["backend_calls"] == 0 for s in rerun["systems"])
    assert [s["race"] for s in rerun["systems"]] == [s["race"] for s in results["systems"]]
    # A later full run reuses every answer the race paid for.
    full = write(tmp_path / "full.toml", configs.config(BACKEND, datasets=[LENER], run={"limit": 200}))
    done = cli_runner.invoke(cli, ["run", str(full), "-o", str(tmp_path / "full"), "--no-progress"])
    assert done.exit_code == 0, done.output
    systems = json.loads((tmp_path / "full" / "results.json").read_text())["systems"]
    complete = {s["model"]: s["counts"] for s in systems}
    for model, entry in by.items():
        # (a sentence whose text repeats an earlier one's is a hit too)
        assert complete[model]["cache_hits"] >= entry["sentences"] and complete[model]["requests"] == 200


def test_ensembles_of_a_raced_split_are_scored_on_what_all_their_members_answered(tmp_path, cli_runner,
                                                                                 gold_echo):  # noqa: F811
    cfg = race_config(tmp_path, {"rounds": 5}, ensemble={"combiners": ["union"], "search": "none",
                                                          "dev_limit": 20})
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    shortest = min(s["sentences"] for s in results["systems"] if s["split"] == "test")
    union = next(e for e in results["ensembles"] if e["split"] == "test")
    assert shortest < 200 and union["sentences"] == shortest == union["race"]["sentences"]
    # The dev sample is not raced: every system answers all of it (search needs every member's answers).
    assert all(s["sentences"] == 20 and "race" not in s for s in results["systems"] if s["split"] == "dev")


def test_a_raced_run_rescores_to_the_same_document_and_explores_every_system(tmp_path, cli_runner,
                                                                            gold_echo):  # noqa: F811
    """`nerbench rescore` scores each raced system on the prefix of the race's
    seeded order it answered — not on the split's first sentences — also when
    the limit came from the command line rather than the config; the
    explorer shows every system, survivors too, on what all answered."""
    cfg = race_config(tmp_path, {"rounds": 5, "alpha": 0.05, "seed": 0})
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--limit", "150", "--no-progress"])
    assert result.exit_code == 0, result.output
    published = json.loads((tmp_path / "o" / "results.json").read_text())
    assert published["race"]["sentences"] == {"lener_br:test": 150}
    assert len({s["sentences"] for s in published["systems"]}) > 1  # some were dropped: prefixes differ
    shown = explorer.payload([published])["splits"][0]
    assert {s["name"] for s in shown["systems"]} == {s["system"] for s in published["systems"]}
    assert len(shown["sentences"]) == min(s["sentences"] for s in published["systems"])
    again = cli_runner.invoke(cli, ["rescore", str(tmp_path / "o")])
    assert again.exit_code == 0, again.output
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    assert doc.pop("rescored")["rule"] == published["scoring"]["rule"]
    assert doc == published
