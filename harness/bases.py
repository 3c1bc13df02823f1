"""The abstract base of each plugin kind. Subclass one and register it."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict

from nerbench.errors import NerbenchError
from nerbench.records import Example, Failure, Generation, Label, ParseResult, Prompt, Request, Sentence, Span

if TYPE_CHECKING:
    import numpy as np

    from nerbench.index.candidates import CandidateIndex


class ModelInfo(TypedDict, total=False):
    """What `Backend.describe` says of a model. Every key is optional; a
    backend may add its own (they are recorded as provenance)."""

    #: Identifies the weights; part of every cache key (a changed model never
    #: hits stale answers).
    digest: str
    #: Where requests go, as shown to people.
    endpoint: str
    #: Replaces `endpoint` in cache keys when where the model runs is no part
    #: of its answers' identity (an in-process server on a free port).
    endpoint_identity: str
    quantization: str
    context_length: int
    parameters: int


class Configurable:
    """What every configurable plugin kind shares: declared options.

    `OPTIONS` maps each option a config entry may give to its JSON Schema
    (e.g. ``{"timeout": {"type": "number", "exclusiveMinimum": 0}}``);
    `REQUIRED_OPTIONS` names those it must give. nerbench checks both when
    the config loads (before any request, and in ``--dry-run``): an unknown
    or ill-typed option is a one-line error naming the file and field.
    `OPTIONS = None` (the default) declares nothing and accepts anything.
    `check_options` is for what a schema cannot say (raise `NerbenchError`
    with the message; nerbench adds where)."""

    OPTIONS: ClassVar[dict[str, Any] | None] = None
    REQUIRED_OPTIONS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any) -> None:
        """The declaration is the constructor: each declared option, as
        given or else its schema's ``"default"`` (None without one), becomes
        an attribute of its name, and all of them `self.options`. A plugin
        with more to set up calls this first. With `OPTIONS = None` what is
        given is kept in `self.options` alone. (A backend is made with its
        entry's name and options instead: `Backend.__init__`.)"""
        declared = type(self).OPTIONS
        if declared is None:
            self.options = dict(options)
            return
        unknown = sorted(set(options) - set(declared))
        if unknown:
            raise TypeError(f"unexpected option {unknown[0]!r}")
        self.options = {name: options[name] if name in options else copy.deepcopy(schema.get("default"))
                        for name, schema in declared.items()}
        for name, value in self.options.items():
            if callable(getattr(type(self), name, None)):
                raise TypeError(f"option {name!r} would hide the method of that name")
            setattr(self, name, value)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Checks beyond the schema, at config load; the default checks nothing."""


class Backend(Configurable, ABC):
    """A way to reach LLMs (a server, or one started in-process).

    One instance serves one `[[backend]]` entry of a config. `options` are that
    entry's keys other than name/kind/models/urls (see `Configurable`;
    `concurrency` is every kind's). Instances are async context
    managers: `start()` runs before the first request, `aclose()` after the last.
    """

    #: Requests in flight per endpoint unless the config says otherwise (where
    #: the server's capacity is not `known_capacity`: where adapting starts).
    default_concurrency: ClassVar[int] = 1
    #: Whether `concurrency` is the server's own capacity (llama.cpp's slots,
    #: the embedded server's `n_parallel`). Where it is not (an
    #: OpenAI-compatible server, vLLM, Ollama) and the config sets no
    #: `concurrency`, nerbench adapts the requests in flight while the run goes.
    known_capacity: ClassVar[bool] = True
    #: The prompt formats this kind answers, for a kind that cannot answer
    #: chat prompts (a trained student reads the sentence itself): the plan
    #: pairs it with these formats alone, and no other kind with them. None:
    #: any format no kind claims so.
    prompt_formats: ClassVar[tuple[str, ...] | None] = None

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
        """Requests in flight: the config's number, else the default (for an
        adaptive endpoint: where it starts)."""
        setting = self.options.get("concurrency")
        return setting if isinstance(setting, int) else int(self.default_concurrency)

    @property
    def adaptive(self) -> bool:
        """Whether nerbench finds the concurrency while running: the config
        says `concurrency = "adaptive"`, or gives none for a server whose
        capacity is not known."""
        setting = self.options.get("concurrency")
        return setting == "adaptive" or (setting is None and not self.known_capacity)

    async def start(self) -> None:
        """Acquire resources (start a server, open connections)."""

    async def aclose(self) -> None:
        """Release what `start` acquired."""

    @abstractmethod
    async def generate(self, request: Request) -> Generation:
        """Answer one request; raise `nerbench.api.BackendError` on failure."""

    async def models(self) -> list[str]:
        """Names of the models this backend serves."""
        return []

    def check_model(self, model: str) -> None:
        """Check, without a request, that `model` can be served (a file that
        must exist, a package that must be installed); raise `NerbenchError`.
        Called when the config loads; the default checks nothing."""

    def answer_options(self) -> dict[str, Any]:
        """Options of this backend that change what a model answers (a
        grammar, a context size, thinking on or off). They join every cache
        key; the default, nothing, leaves keys as they are."""
        return {}

    async def describe(self, model: str) -> ModelInfo | dict[str, Any]:
        """Provenance of `model`: digest, quantization, context length, ...
        (see `ModelInfo`; its `digest` is part of every cache key). A backend
        that adds keys of its own returns a plain dict with them: a TypedDict
        cannot say "and any other key"."""
        return {}

    async def health(self) -> dict[str, Any]:
        """A small status report; raise `BackendError` when unreachable."""
        return {"ok": True}

    @classmethod
    def serves(cls) -> bool:
        """Whether the kind starts its own server (`serve`)."""
        return cls.serve is not Backend.serve

    def serve(self, model: str, host: str) -> str:
        """For kinds that start their own server (embedded llama.cpp): start
        one serving `model` in this process, listening on `host`, and return
        its URL (http://HOST:PORT). With `[run] executor = "ray"`, nerbench
        calls it in replica actors on the cluster's nodes and sends requests
        to each URL through `client_for(url)`. The default: no server of its own."""
        raise NotImplementedError(f"{type(self).__name__} starts no server of its own")

    def client_for(self, url: str) -> Backend:
        """A backend of this kind's dialect asking the server `serve` started at `url`."""
        raise NotImplementedError(f"{type(self).__name__} starts no server of its own")

    async def queued(self) -> int | None:
        """Requests waiting in the server's own queue, where it says so (vLLM's
        /metrics); adaptive concurrency holds below the level where a server
        starts queueing. The default: None, not known."""
        return None


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

    def check_split(self, split: str) -> str:
        """`split`, or the one-line error every command gives for a split the dataset lacks."""
        if split not in self.splits:
            raise NerbenchError(f"dataset {self.id!r} has no split {split!r}; splits: {', '.join(self.splits)}")
        return split

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


class PromptFormat(Configurable, ABC):
    """How a sentence becomes requests, and how answers become spans.

    Constructed with the keyword options of its `[[format]]` entry (less the
    ones nerbench handles: name, alias, shots, demos, demo_split, demo_seed)."""

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


class Combiner(Configurable, ABC):
    """Combines several systems' entities into one set.

    Combiners work on a `nerbench.api.CandidateIndex` (every distinct
    entity any system predicted, with who predicted it), for many system
    subsets at once, so subset search scores thousands of ensembles exactly
    and fast. nerbench then drops overlapping survivors by priority and scores.
    Constructed with the keyword options of the config / command line.
    """

    #: Whether `fit` needs labelled dev predictions (e.g. per-type).
    needs_dev: ClassVar[bool] = False
    #: Whether the combiner may give a span another label than its systems
    #: did: the candidate index then holds, for every predicted token range,
    #: a candidate (with no votes) for each of the dataset's labels.
    retypes: ClassVar[bool] = False

    def fit(self, dev: CandidateIndex) -> None:
        """Learn from the dev candidate index (weights, best system per type)."""

    def note(self, systems: int) -> str | None:
        """Something the user should know about combining `systems` systems
        with these options (e.g. an option that cannot apply to so few), or
        None. nerbench prints it once, before combining; it does not stop."""
        return None

    def settings(self, size: int) -> list[dict[str, Any]]:
        """Parameter settings to try for a subset of `size` systems; the
        first is the default when there is no dev data to choose on."""
        return [{}]

    @abstractmethod
    def select(
        self, index: CandidateIndex, subsets: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """For `subsets` (a bool array subsets × systems, all of one size),
        return `(keep, priority)`: arrays candidates × subsets saying which
        candidates each subset keeps and how strongly (higher wins overlaps)."""


class Judges(Protocol):
    """The models an LLM-judged combiner asks, handed to it by the run: every
    question goes through the run's cache, concurrency limits and retries."""

    async def ask_all(
        self, kit: str, version: str, questions: Sequence[tuple[str, Prompt]]
    ) -> list[Generation | Failure]:
        """The answers to `(judge, prompt)` questions, in their order; `judge`
        is "BACKEND/MODEL"; `kit` and `version` name the questions' wording
        (part of the cache key, like a prompt format's name and version)."""
        ...


class JudgedCombiner(Combiner):
    """A combiner that asks LLMs about the candidates before it selects."""

    @abstractmethod
    def asks(self) -> list[str]:
        """Every "BACKEND/MODEL" it will ask (checked against the config
        before any request)."""

    @abstractmethod
    async def judge(self, index: CandidateIndex, dataset: Dataset, judges: Judges) -> None:
        """Ask `judges` about `index`'s candidates; called once per index
        (dev and evaluated splits) before `select` sees it."""


class Student(Configurable, ABC):
    """A small classical NER model that nerbench trains on annotated
    sentences (silver from a teacher, gold, or both) and scores as a system.

    Constructed with the keyword options of `nerbench train --option`. The
    library it needs is an optional extra: `missing()` says when it is not
    installed (nerbench then prints `install` and exits 2). A trained model
    is a folder; nerbench writes `student.json` (labels, language, how it
    was trained) beside what `train` writes."""

    #: The command that installs what `missing()` reports missing.
    install: ClassVar[str] = "pip install 'nerbench[train]'"
    #: Whether `train` after `load` continues from the loaded model
    #: (fine-tuning: silver first, then gold); else it starts afresh.
    continues: ClassVar[bool] = False
    #: Whether `doubt` says how unsure the loaded model is of each sentence
    #: (the loop's `doubt` and `hybrid` picks need it; a kind without it is refused there).
    doubts: ClassVar[bool] = False
    #: How `nerbench loop` spends the silver and the reviewed gold on this
    #: kind unless told (`--use`, `--unlabelled`; see `nerbench train`): the
    #: recipe measured best for it (leaderboards/pt-distill).
    recipe: ClassVar[tuple[str, str]] = ("mixed", "missing")
    #: Set by nerbench while `train` runs, to draw a progress bar (see `progress`).
    on_progress: Callable[[int, int], None] | None = None

    @classmethod
    def missing(cls) -> str | None:
        """The library this student needs that is not installed, or None."""
        return None

    def progress(self, done: int, total: int) -> None:
        """Call it from `train` after each step (an epoch, an optimiser
        iteration): `done` steps of at most `total`. nerbench shows it as a
        progress bar while a person waits; it does nothing otherwise."""
        if self.on_progress is not None:
            self.on_progress(done, total)

    def doubt(self, sentences: Sequence[Sentence]) -> list[float]:
        """Where `doubts`: the loaded model's doubt about each sentence, in
        [0, 1], higher where it is less sure of its own tags (the sentences a
        person should review first)."""
        raise NotImplementedError(f"{type(self).__name__} does not say its doubt")

    @abstractmethod
    def train(self, examples: Sequence[Example], dev: Sequence[Sentence], labels: Sequence[str], language: str,
              out_dir: Path, seed: int) -> dict[str, Any]:
        """Learn from `examples` (spans taught; `missing` tokens unlabelled),
        stopping early on the gold `dev` sentences — from the model `load`
        loaded, where `continues` — and write the model under `out_dir`.
        Return what happened, JSON-ready (e.g. epochs run, the best epoch,
        dev F1 per epoch, features used); nerbench records it."""

    @classmethod
    def verify(cls, model_dir: Path) -> None:
        """Check a model folder from a stranger before `load` reads it: its
        files are already known to be regular files inside it, with the
        sizes and digests `student.json` records. Refuse (`NerbenchError`)
        what the loader would follow out of the folder, or a native file
        that could crash or hang the process. The default checks nothing."""

    @abstractmethod
    def load(self, model_dir: Path) -> None:
        """Load a model `train` wrote to `model_dir`."""

    @abstractmethod
    def predict(self, sentences: Sequence[Sentence]) -> list[list[Span]]:
        """The loaded model's entities for each sentence, on its tokens."""

    def to_spacy(self, out_dir: Path, language: str) -> tuple[list[Path], list[str]]:
        """Write the loaded model as a spaCy pipeline (`nlp.to_disk`) into
        `out_dir` for `nerbench ship`, its language `language` (the
        dataset's); return the Python files its components need, which
        travel inside the package (`spacy package --code`; they must not
        import nerbench), and the pip requirements they add. A student that
        cannot be shipped keeps this default: a one-line error."""
        raise NerbenchError(f"student {type(self).__name__} cannot be shipped as a spaCy package (it has no to_spacy)")


class Reporter(ABC):
    """Turns a results JSON document into artefacts."""

    @abstractmethod
    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        """Write files under `out_dir` from results documents alone; return them."""
