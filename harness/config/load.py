"""Run configuration: TOML validated by the JSON Schema shipped in the
package, then parsed once into the typed `RunConfig` of `settings`."""

from __future__ import annotations

import hashlib
import tomllib
from importlib import resources
from dataclasses import replace
from pathlib import Path
from typing import Any

from nerbench.config.settings import (BACKEND_KEYS, PLACEMENT_KEYS, BackendEntry, DatasetEntry, FormatEntry,
                                      GenerationSettings, ModelRef, RaceSettings, RunConfig, RunSettings,
                                      ensemble_settings)
from nerbench.errors import NerbenchError
from nerbench.files.schema import load_schema, validate
from nerbench.score.racing import settings_problem


def model_refs(path: Path, index: int, entry: dict[str, Any]) -> tuple[ModelRef, ...]:
    """A backend entry's models: "id", or {name = "...", model = "id"}; a
    path to a .gguf file is called by its file stem, an absolute path (a
    student's folder) by its folder name: a system name is no place for a
    machine's directory layout (`students//home/.../seed-0/student`)."""
    refs = []
    for item in entry["models"]:
        if isinstance(item, dict):
            refs.append(ModelRef(item["name"], item["model"]))
        elif item.lower().endswith(".gguf"):
            refs.append(ModelRef(Path(item).stem, item))
        elif Path(item).expanduser().is_absolute() and Path(item).name:
            refs.append(ModelRef(Path(item).name, item))
        else:
            refs.append(ModelRef(item, item))
    names = [ref.name for ref in refs]
    for name in names:
        if names.count(name) > 1:
            raise NerbenchError(f"{path}: field backend[{index}].models: two models are called {name!r}; "
                                "give one a name: {name = \"...\", model = \"...\"}")
    return tuple(refs)


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
    run: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("run", {}).items()}
    if "race" in run:
        run["race"] = RaceSettings(**({} if run["race"] is True else run["race"])) if run["race"] else None
        race = run["race"]
        problem = race and settings_problem(race.rounds, race.alpha, race.delta, race.method)
        if problem:
            raise NerbenchError(f"{path}: field run.race.{problem[0]}: {problem[1]}")
    return RunConfig(
        path=path,
        raw=raw,
        sha256=sha256,
        run=RunSettings(**run),
        generation=GenerationSettings(**raw.get("generation", {})),
        backends=tuple(
            BackendEntry(i, b["name"], b["kind"], model_refs(path, i, b),
                         {k: v for k, v in b.items() if k not in BACKEND_KEYS}, tuple(b.get("urls", ())),
                         {k: b[k] for k in PLACEMENT_KEYS if k in b})
            for i, b in enumerate(raw["backend"])),
        datasets=tuple(DatasetEntry(i, d["id"], tuple(d["splits"]), d.get("limit"))
                       for i, d in enumerate(raw["dataset"])),
        formats=tuple(FormatEntry(i, f["name"], f.get("alias", f["name"]),
                                  {k: v for k, v in f.items() if k not in ("name", "alias")})
                      for i, f in enumerate(raw["format"])),
        ensemble=ensemble_settings(raw["ensemble"]) if "ensemble" in raw else None,
    )


def with_overrides(config: RunConfig, limit: int | None = None, race: bool | None = None) -> RunConfig:
    """`config` as the command line amends it: `limit` (`--limit`) becomes
    `[run] limit` and wins over every `[[dataset]] limit`; `race` True races
    the evaluated splits (the config's settings, else the defaults), False
    races none. The recorded file (`raw`, `sha256`) is unchanged: results
    record the sample each split was evaluated on."""
    run = config.run
    if race is not None:
        run = replace(run, race=(run.race or RaceSettings()) if race else None)
    datasets = config.datasets
    if limit is not None:
        run = replace(run, limit=limit)
        datasets = tuple(replace(d, limit=None) for d in datasets)
    return replace(config, run=run, datasets=datasets)
