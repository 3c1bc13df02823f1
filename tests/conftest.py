"""Shared fixtures: the real corpora in ../shared/datasets, an isolated cache
and data dir per test, and a real llama.cpp server (xllamacpp + SmolLM2)."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

import nerbench.plugin_system.manager

# Hypothesis's 200 ms per-example deadline measures the machine's load, not the
# code (a fast-path property failed at 283 ms on these 2 busy cores): off.
settings.register_profile("nerbench", deadline=None)
settings.load_profile("nerbench")

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
    # Hermetic: third-party plugins a developer has installed do not load
    # (tests that want some name them); nerbench's own always do.
    monkeypatch.setenv("NERBENCH_LOAD_PLUGINS", "")
    monkeypatch.delenv("NERBENCH_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("NERBENCH_TRACE_PLUGINS", raising=False)
    nerbench.plugin_system.manager.reset_registry()
    yield
    nerbench.plugin_system.manager.reset_registry()


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def llama_server(nerbench_llama_server):
    """The URL of a real llama.cpp server serving SmolLM2 as "smollm2", 2 slots
    (the `nerbench.testing` fixture plugin authors get)."""
    return nerbench_llama_server.url


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def pytest_addoption(parser):
    parser.addoption("--vllm", action="store_true",
                     help="also run the tests against a real vLLM server (heavy; see .ci/vllm)")
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files (tests/fixtures/*/expected) from what the code renders now; "
                          "review them with git diff")


@pytest.fixture
def golden(request):
    """`golden(rendered_dir, expected_dir)`: the rendered files are exactly the
    expected ones, byte for byte. With --update-golden the expected folder is
    first rewritten from the rendered one (and a warning says so)."""
    update = request.config.getoption("--update-golden")

    def check(rendered: Path, expected: Path) -> None:
        if update:
            shutil.rmtree(expected, ignore_errors=True)
            shutil.copytree(rendered, expected)
            warnings.warn(f"--update-golden rewrote {expected}; review the change with git diff", stacklevel=2)
        names = sorted(p.name for p in expected.iterdir())
        assert sorted(p.name for p in rendered.iterdir()) == names
        for name in names:
            assert (rendered / name).read_bytes() == (expected / name).read_bytes(), \
                f"{name} differs from {expected / name} (if the change is intended: pytest --update-golden)"

    return check


def pytest_collection_modifyitems(config, items):
    # Opt-in: without --vllm the vLLM tests are deselected (not skipped).
    if config.getoption("--vllm"):
        return
    selected = [item for item in items if "vllm" not in item.keywords]
    if len(selected) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if "vllm" in item.keywords])
        items[:] = selected
