"""Which sentences a run evaluates is decided once (`nerbench.data.sample`)
and recorded: `--limit` and `[run] limit` take the same samples, the dev
sample included; `--limit` wins over `[[dataset]] limit`; results record each
split's sample, so `rescore` redraws it without reconstructing it."""

from __future__ import annotations

import json

from nerbench.cli import cli

from . import configs
from .conftest import write
from .test_run_ensembles import BACKEND, gold_echo  # noqa: F401  (the fixture)

ENSEMBLE = {"combiners": ["majority"], "dev_limit": 20}


def run(cli_runner, tmp_path, name, run_table, dataset, *args):
    cfg = write(tmp_path / f"{name}.toml", configs.config(BACKEND, datasets=[dataset], run=run_table,
                                                          ensemble=ENSEMBLE))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / name), "--no-progress", *args])
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / name / "results.json").read_text())


def test_limit_on_the_command_line_and_in_the_config_take_the_same_samples(tmp_path, cli_runner,
                                                                           gold_echo):  # noqa: F811
    lener = configs.dataset("lener_br")
    by_flag = run(cli_runner, tmp_path, "flag", {}, lener, "--limit", "6")
    by_config = run(cli_runner, tmp_path, "config", {"limit": 6}, lener)
    # the dataset's own limit loses to --limit
    over = run(cli_runner, tmp_path, "over", {}, configs.dataset("lener_br", limit=3), "--limit", "6")
    for doc in (by_flag, by_config, over):
        assert doc["samples"] == {"lener_br:dev": {"limit": 6}, "lener_br:test": {"limit": 6}}
        assert {e["dev_sentences"] for e in doc["ensembles"]} == {6}
        assert {s["sentences"] for s in doc["systems"]} == {6}
    assert [s["metrics"] for s in by_flag["systems"]] == [s["metrics"] for s in by_config["systems"]]
    alone = run(cli_runner, tmp_path, "alone", {}, configs.dataset("lener_br", limit=3))
    assert alone["samples"] == {"lener_br:dev": {"limit": 20}, "lener_br:test": {"limit": 3}}


def test_rescore_redraws_a_raced_sample_from_the_record_not_from_the_config(tmp_path, cli_runner,
                                                                            gold_echo):  # noqa: F811
    """The recorded config says 200 sentences, `--limit` made it 150: the
    race's order is of those 150, and rescore must find them in `samples`
    (the race's own count deleted here, so nothing else could say it)."""
    cfg = write(tmp_path / "c.toml", configs.config(BACKEND, datasets=[configs.dataset("lener_br")],
                                                    run={"limit": 200, "race": {"rounds": 5, "seed": 0}}))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--limit", "150", "--no-progress"])
    assert result.exit_code == 0, result.output
    published = json.loads((tmp_path / "o" / "results.json").read_text())
    assert published["samples"] == {"lener_br:test": {"limit": 150}}
    del published["race"]["sentences"]
    (tmp_path / "o" / "results.json").write_text(json.dumps(published))
    again = cli_runner.invoke(cli, ["rescore", str(tmp_path / "o")])
    assert again.exit_code == 0, again.output
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    doc.pop("rescored")
    assert doc == published
