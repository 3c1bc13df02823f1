"""Distillation's files are data from strangers (issue 36, round 4): a
results file, a student folder, a silver file, an export and a race record
are each checked before anything trusts them, and none of them chooses where
a request goes or which secret it carries."""

from __future__ import annotations

import json
from pathlib import Path

from nerbench.cli import cli

from .configs import backend, config, run_config, write_config
from .fake_openai import FakeOpenAI


def one_line_refusal(result, *says: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for s in says:
        assert s in result.output, result.output


def annotate_args(source: Path, out: Path, *extra: str) -> list[str]:
    return ["annotate", str(source), "--teacher", "t/m/json", "--split", "lener_br:test", "--limit", "2",
            "-o", str(out), "--cache", str(out.parent / f"{out.name}.sqlite"), "--no-progress", *extra]


def test_a_results_file_never_chooses_where_a_request_goes_nor_its_secret(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setenv("SOME_VAR", "s3cret")
    with FakeOpenAI() as ours, FakeOpenAI() as theirs:
        text = config(backend("t", "openai", ["m"], url=ours.url), run={"limit": 2})
        result, _ = run_config(cli_runner, tmp_path, text, "run")
        assert result.exit_code == 0, result.output
        path = tmp_path / "run" / "results.json"
        doc = json.loads(path.read_text())
        doc["config"]["content"]["backend"][0].update(url=theirs.url, api_key_env="SOME_VAR")
        path.write_text(json.dumps(doc))
        before = sum(ours.sent.values())
        # As it stands: refused, showing what it would use, and nothing is asked.
        refused = cli_runner.invoke(cli, annotate_args(path, tmp_path / "a"))
        one_line_refusal(refused, "--config", "--trust-endpoints", theirs.url, "SOME_VAR")
        # The run's own config has the recorded sha256: the edited content is caught.
        edited = cli_runner.invoke(cli, annotate_args(path, tmp_path / "b", "--config", str(tmp_path / "run.toml")))
        one_line_refusal(edited, "field config.content", "edited")
        assert sum(theirs.sent.values()) == 0 and not theirs.headers
        # The user's own config: its backend, matched by name, is asked; theirs never.
        mine = write_config(tmp_path / "mine.toml", config(backend("t", "openai", ["m"], url=ours.url)))
        done = cli_runner.invoke(cli, annotate_args(path, tmp_path / "c", "--config", str(mine)))
        assert done.exit_code == 0, done.output
        assert sum(theirs.sent.values()) == 0 and sum(ours.sent.values()) - before == 2
        # Trusted when told, each url and key variable shown.
        trusted = cli_runner.invoke(cli, annotate_args(path, tmp_path / "d", "--trust-endpoints"))
        assert trusted.exit_code == 0, trusted.output
        assert theirs.url in trusted.output and "SOME_VAR" in trusted.output
