"""Run configuration: TOML validated by the JSON Schema shipped in the package."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError
from nerbench.config.validation import load_schema, validate

DEFAULT_GENERATION = {"temperature": 0.0, "seed": 0, "max_tokens": 256}
DEFAULT_REPORTERS = ["markdown"]


@dataclass(frozen=True)
class ModelRef:
    """A configured model: `name` is what systems and judges call it, `id` what
    the backend is asked for (and what the cache keys on)."""

    name: str
    id: str


def model_refs(path: Path, index: int, entry: dict[str, Any]) -> list[ModelRef]:
    """A backend entry's models: "id", or {name = "...", model = "id"}; a
    path to a .gguf file is called by its file stem."""
    refs = []
    for item in entry["models"]:
        if isinstance(item, dict):
            refs.append(ModelRef(item["name"], item["model"]))
        elif item.lower().endswith(".gguf"):
            refs.append(ModelRef(Path(item).stem, item))
        else:
            refs.append(ModelRef(item, item))
    names = [ref.name for ref in refs]
    for name in names:
        if names.count(name) > 1:
            raise NerbenchError(f"{path}: field backend[{index}].models: two models are called {name!r}; "
                                "give one a name: {name = \"...\", model = \"...\"}")
    return refs


@dataclass
class RunConfig:
    path: Path
    raw: dict[str, Any]
    sha256: str
    backends: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    formats: list[dict[str, Any]] = field(default_factory=list)
    generation: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    ensemble: dict[str, Any] | None = None
    #: backend name → its models
    models: dict[str, list[ModelRef]] = field(default_factory=dict)

    @property
    def reporters(self) -> list[str]:
        return list(self.run.get("reporters", DEFAULT_REPORTERS))

    @property
    def scoring(self) -> str:
        """How overlapping predictions are scored: a rule of `nerbench.score.strict.RULES`."""
        return str(self.run.get("scoring", "span-set"))

    @property
    def registry_files(self) -> list[Path]:
        return [(self.path.parent / p).resolve() for p in self.run.get("registry", [])]


def default_config_path() -> Path:
    return Path(str(resources.files("nerbench.config").joinpath("quickstart.toml")))


def load_config(path: Path) -> RunConfig:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise NerbenchError(f"{path}: invalid TOML: {exc}") from None
    return config_from_raw(raw, path, hashlib.sha256(data).hexdigest())


def config_from_raw(raw: dict[str, Any], path: Path, sha256: str) -> RunConfig:
    """A config from its parsed TOML (as a results file records it), checked
    as a file is; relative paths in it point from `path`'s folder."""
    validate(raw, load_schema("nerbench.config", "config.schema.json"), str(path))
    names = [b["name"] for b in raw["backend"]]
    for name in names:
        if names.count(name) > 1:
            raise NerbenchError(f"{path}: field backend: the name {name!r} is used twice")
    for i, entry in enumerate(raw["backend"]):
        if "url" in entry and "urls" in entry:
            raise NerbenchError(f"{path}: field backend[{i}]: give url or urls, not both")
    return RunConfig(
        path=path,
        raw=raw,
        sha256=sha256,
        backends=raw["backend"],
        datasets=raw["dataset"],
        formats=raw["format"],
        generation={**DEFAULT_GENERATION, **raw.get("generation", {})},
        run=raw.get("run", {}),
        ensemble=raw.get("ensemble"),
        models={entry["name"]: model_refs(path, i, entry) for i, entry in enumerate(raw["backend"])},
    )
