"""The run config as typed objects, parsed once from the validated TOML.
Every default a run uses is written here and nowhere else; stages read
these attributes, never the raw tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.files.paths import contained
from nerbench.score.strict import SPAN_SET

#: Keys of a `[[backend]]` that say how its replicas are placed on a Ray cluster
#: (`[run] executor = "ray"`; their schema is in config.schema.json).
PLACEMENT_KEYS = ("replicas", "num_cpus", "num_gpus", "resources", "max_restarts")
#: Keys of a `[[backend]]` that nerbench reads itself, not the kind.
BACKEND_KEYS = ("name", "kind", "models", "urls", *PLACEMENT_KEYS)
#: Format options nerbench handles itself, before the format sees the rest.
DEMO_OPTIONS = ("shots", "demos", "demo_split", "demo_seed")

DEFAULT_REPORTERS = ("markdown",)
DEFAULT_SCORING = SPAN_SET
DEFAULT_EXECUTOR = "local"
#: Ray's own default: a running cluster, else a local one.
DEFAULT_ADDRESS = "auto"
#: Attempts per request (transient failures), unless a backend sets `retries`.
DEFAULT_RETRIES = 4
#: The most requests in flight adaptive concurrency may reach, unless `max_concurrency` says.
DEFAULT_MAX_CONCURRENCY = 256
#: Requests in a row that get no answer from an endpoint before its work stops.
DEFAULT_CIRCUIT_BREAKER = 3
DEFAULT_COMBINERS = ("majority",)
DEFAULT_SEARCH = "greedy"
DEFAULT_DEV_SPLIT = "dev"
DEFAULT_DEV_LIMIT = 100
DEFAULT_DEMO_SPLIT = "train"
DEFAULT_DEMOS = "random"


@dataclass(frozen=True)
class ModelRef:
    """A configured model: `name` is what systems and judges call it, `id` what
    the backend is asked for (and what the cache keys on)."""

    name: str
    id: str


@dataclass(frozen=True)
class GenerationSettings:
    """`[generation]`: what every request asks for. Values keep the type the
    file gave (recorded as written in results)."""

    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 256

    def to_json(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "seed": self.seed, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class BackendEntry:
    """One `[[backend]]`: `options` are its keys other than nerbench's own
    (the kind's options and the per-backend ones every kind shares)."""

    index: int
    name: str
    kind: str
    models: tuple[ModelRef, ...]
    options: Mapping[str, Any]
    urls: tuple[str, ...] = ()
    placement: Mapping[str, Any] = field(default_factory=dict)

    @property
    def field(self) -> str:
        return f"backend[{self.index}]"

    @property
    def retries(self) -> int:
        return int(self.options.get("retries", DEFAULT_RETRIES))

    @property
    def circuit_breaker(self) -> int:
        return int(self.options.get("circuit_breaker", DEFAULT_CIRCUIT_BREAKER))


@dataclass(frozen=True)
class DatasetEntry:
    """One `[[dataset]]`."""

    index: int
    id: str
    splits: tuple[str, ...]
    limit: int | None = None

    @property
    def field(self) -> str:
        return f"dataset[{self.index}]"


@dataclass(frozen=True)
class FormatEntry:
    """One `[[format]]`: `label` is what its systems carry; `options` are
    every key but name and alias (demonstration options included)."""

    index: int
    name: str
    label: str
    options: Mapping[str, Any]

    @property
    def field(self) -> str:
        return f"format[{self.index}]"

    @property
    def shots(self) -> int:
        return int(self.options.get("shots", 0))

    @property
    def demo_split(self) -> str:
        return str(self.options.get("demo_split", DEFAULT_DEMO_SPLIT))


@dataclass(frozen=True)
class CombinerEntry:
    """One combiner of `[ensemble] combiners`: the plugin, the label its
    ensembles carry (its alias, else its name) and its options."""

    name: str
    label: str
    options: Mapping[str, Any] = field(default_factory=dict)
    #: its index in `[ensemble] combiners`
    position: int = 0

    @property
    def field(self) -> str:
        return f"ensemble.combiners[{self.position}]"


@dataclass(frozen=True)
class EnsembleSettings:
    """`[ensemble]`: combiners chosen on each dataset's dev sample."""

    combiners: tuple[CombinerEntry, ...] = tuple(CombinerEntry(n, n, position=i)
                                                 for i, n in enumerate(DEFAULT_COMBINERS))
    #: with more than one, ensembles are named COMBINER@SEARCH
    searches: tuple[str, ...] = (DEFAULT_SEARCH,)
    dev_split: str = DEFAULT_DEV_SPLIT
    dev_limit: int = DEFAULT_DEV_LIMIT


@dataclass(frozen=True)
class RaceSettings:
    """`[run] race`: evaluated splits answered in rounds over a seeded order
    of their sentences; a system worse than the leader with confidence
    1 − `alpha` stops being asked (docs/racing.md)."""

    rounds: int = 10
    alpha: float = 0.05
    #: F1 (0–1) within which every survivor of the leader ends the race
    delta: float = 0.0
    seed: int = 0
    method: str = "default"


@dataclass(frozen=True)
class RunSettings:
    """`[run]`."""

    name: str | None = None
    limit: int | None = None
    reporters: tuple[str, ...] = DEFAULT_REPORTERS
    registry: tuple[str, ...] = ()
    scoring: str = DEFAULT_SCORING
    executor: str = DEFAULT_EXECUTOR
    #: None when the file gives none (Ray's default, `DEFAULT_ADDRESS`, applies)
    address: str | None = None
    #: None: every system answers every sentence
    race: RaceSettings | None = None


@dataclass
class RunConfig:
    """A whole config: where it came from (`path`, its `raw` tables and
    `sha256`, recorded in results) and what it says, typed."""

    path: Path
    raw: dict[str, Any]
    sha256: str
    run: RunSettings
    generation: GenerationSettings
    backends: tuple[BackendEntry, ...]
    datasets: tuple[DatasetEntry, ...]
    formats: tuple[FormatEntry, ...]
    ensemble: EnsembleSettings | None = None

    @property
    def models(self) -> dict[str, tuple[ModelRef, ...]]:
        """Backend name → its models."""
        return {b.name: b.models for b in self.backends}

    @property
    def registry_files(self) -> list[Path]:
        """The extra manifests `[run] registry` names, inside the config's folder."""
        return [contained(self.path.parent, p, f"{self.path}: field run.registry[{i}]").resolve()
                for i, p in enumerate(self.run.registry)]

    @property
    def address(self) -> str:
        return self.run.address or DEFAULT_ADDRESS


def combiner_entries(items: list[Any]) -> tuple[CombinerEntry, ...]:
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(CombinerEntry(item, item, position=i))
        else:
            options = {k: v for k, v in item.items() if k not in ("name", "alias")}
            out.append(CombinerEntry(item["name"], item.get("alias", item["name"]), options, i))
    return tuple(out)


def ensemble_settings(raw: Mapping[str, Any]) -> EnsembleSettings:
    search = raw.get("search", DEFAULT_SEARCH)
    return EnsembleSettings(
        combiners=combiner_entries(raw.get("combiners", list(DEFAULT_COMBINERS))),
        searches=(search,) if isinstance(search, str) else tuple(search),
        dev_split=raw.get("dev_split", DEFAULT_DEV_SPLIT),
        dev_limit=raw.get("dev_limit", DEFAULT_DEV_LIMIT),
    )
