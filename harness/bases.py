"""The abstract base of each plugin kind. Subclass one and register it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from .types import Generation, Label, ParseResult, Prompt, Request, Sentence


class Backend(ABC):
    """A way to reach LLMs (a server, or one started in-process).

    One instance serves one `[[backend]]` entry of a config. `options` are that
    entry's keys other than name/kind/models. Instances are async context
    managers: `start()` runs before the first request, `aclose()` after the last.
    """

    #: Requests in flight per endpoint unless the config says otherwise.
    default_concurrency: ClassVar[int] = 1

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.options = dict(options)
        #: Where relative paths in `options` point from: the config's folder
        #: once nerbench built the backend from a config (read it in `start`).
        self.base_dir = Path.cwd()

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """Where requests go (a URL, or a description for in-process servers)."""

    @property
    def concurrency(self) -> int:
        return int(self.options.get("concurrency", self.default_concurrency))

    async def start(self) -> None:
        """Acquire resources (start a server, open connections)."""

    async def aclose(self) -> None:
        """Release what `start` acquired."""

    @abstractmethod
    async def generate(self, request: Request) -> Generation:
        """Answer one request; raise `nerbench.BackendError` on failure."""

    async def models(self) -> list[str]:
        """Names of the models this backend serves."""
        return []

    def answer_options(self) -> dict[str, Any]:
        """Options of this backend that change what a model answers (a
        grammar, a context size, thinking on or off). They join every cache
        key; the default, nothing, leaves keys as they are."""
        return {}

    async def describe(self, model: str) -> dict[str, Any]:
        """Provenance of `model`: digest, quantization, context length, ...

        The `digest` key, when present, is part of every cache key.
        """
        return {}

    async def health(self) -> dict[str, Any]:
        """A small status report; raise `BackendError` when unreachable."""
        return {"ok": True}


class Dataset(ABC):
    """A labelled corpus with named splits."""

    id: str
    language: str
    labels: tuple[Label, ...]

    @property
    @abstractmethod
    def splits(self) -> tuple[str, ...]:
        """Split names, e.g. ("train", "dev", "test")."""

    @abstractmethod
    def sentences(self, split: str) -> Iterator[Sentence]:
        """Yield the split's sentences, gold spans included, in a stable order."""

    @property
    def fingerprint(self) -> str:
        """A hash that changes when the data or its definition changes."""
        return ""

    def describe(self) -> dict[str, Any]:
        """License, citation and the like, for `datasets list` and provenance."""
        return {}

    def fetch(self, data_dir: Path, progress: bool = True) -> list[Path]:
        """Download what the dataset needs into `data_dir`; return the files."""
        return []


class PromptFormat(ABC):
    """How a sentence becomes requests, and how answers become spans."""

    #: Bump when rendering or parsing changes: it is part of the cache key.
    version: ClassVar[str] = "1"

    @abstractmethod
    def render(
        self,
        sentence: Sentence,
        labels: Sequence[Label],
        language: str,
        demos: Sequence[Sentence] = (),
    ) -> list[Prompt]:
        """Return the requests a sentence needs (one `Prompt` each).

        `demos` are few-shot examples (with gold spans) chosen by nerbench
        from another split; render them as earlier turns of the chat.
        """

    @abstractmethod
    def parse(
        self,
        outputs: Sequence[Generation],
        sentence: Sentence,
        labels: Sequence[Label],
    ) -> ParseResult:
        """Turn the answers (in `render` order) into grounded spans + counts."""

    def gold_answer(self, sentence: Sentence, labels: Sequence[Label], language: str) -> list[str]:
        """The answer text a perfect model would give to each of `render`'s
        prompts: used to write few-shot demonstrations and round-trip tests."""
        raise NotImplementedError(f"{type(self).__name__} cannot write a gold answer")


class Combiner(ABC):
    """Combines several systems' entities into one set.

    Combiners work on a `nerbench.ensemble.CandidateIndex` (every distinct
    entity any system predicted, with who predicted it), for many system
    subsets at once, so subset search scores thousands of ensembles exactly
    and fast. nerbench then drops overlapping survivors by priority and scores.
    Constructed with the keyword options of the config / command line.
    """

    #: Whether `fit` needs labelled dev predictions (e.g. per-type).
    needs_dev: ClassVar[bool] = False

    def fit(self, dev: Any) -> None:
        """Learn from the dev candidate index (weights, best system per type)."""

    def settings(self, size: int) -> list[dict[str, Any]]:
        """Parameter settings to try for a subset of `size` systems; the
        first is the default when there is no dev data to choose on."""
        return [{}]

    @abstractmethod
    def select(self, index: Any, subsets: Any, params: dict[str, Any]) -> tuple[Any, Any]:
        """For `subsets` (a bool array subsets × systems, all of one size),
        return `(keep, priority)`: arrays candidates × subsets saying which
        candidates each subset keeps and how strongly (higher wins overlaps)."""


class Reporter(ABC):
    """Turns a results JSON document into artefacts."""

    @abstractmethod
    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        """Write files under `out_dir` from results documents alone; return them."""
