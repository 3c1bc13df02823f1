"""Who annotates: a system or an ensemble named as a leaderboard names it,
resolved against the config that defines its members (a run's config, or the
one a results file records)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.config.load import config_from_raw, load_config
from nerbench.config.settings import RunConfig
from nerbench.errors import NerbenchError
from nerbench.files.results import read_results

#: "LABEL[A+B]" or "LABEL@SEARCH[A+B]": an ensemble's name on the leaderboard.
_ENSEMBLE = re.compile(r"^(?P<label>[^\[\]@]+)(?:@(?P<search>[^\[\]]+))?\[(?P<members>.+)\]$")


@dataclass(frozen=True)
class Teacher:
    """A system (`combiner` None, one member) or an ensemble: the combiner
    (plugin name and options), its members and the parameters it was chosen
    with (None: its first setting, or chosen on dev for a fitted combiner)."""

    name: str
    members: tuple[str, ...]
    combiner: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    params: dict[str, Any] | None = field(default=None, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "members": list(self.members), "combiner": self.combiner,
                "options": self.options, "params": self.params}


def load_source(path: Path) -> tuple[RunConfig, dict[str, Any] | None]:
    """The config that defines the systems: `path` itself (TOML), or the one
    a results JSON records (with the results, for its ensembles' choices)."""
    if path.suffix == ".json":
        results = read_results(path)
        recorded = results["config"]
        return config_from_raw(recorded["content"], path.parent / Path(recorded["path"]).name,
                               recorded["sha256"]), results
    return load_config(path), None


def system_names(config: RunConfig) -> list[str]:
    return [f"{b.name}/{ref.name}/{f.label}" for b in config.backends for ref in b.models for f in config.formats]


def resolve_teacher(name: str, config: RunConfig, results: dict[str, Any] | None = None) -> Teacher:
    """The teacher called `name`: one of `config`'s systems, an ensemble the
    results file lists, or COMBINER[A+B+...] over `config`'s systems."""
    systems = system_names(config)
    if name in systems:
        return Teacher(name, (name,))
    for entry in (results or {}).get("ensembles", []):
        if entry["system"] == name:
            label = entry["combiner"].partition("@")[0]
            plugin = next((s.name for s in (config.ensemble.combiners if config.ensemble else ()) if s.label == label),
                          label)
            return Teacher(name, tuple(entry["systems"]), plugin, dict(entry.get("options") or {}),
                           dict(entry.get("params") or {}))
    match = _ENSEMBLE.match(name)
    if match is None:
        raise NerbenchError(f"--teacher {name!r}: not a system of {config.path} ({', '.join(systems)}), "
                            "nor COMBINER[SYSTEM+SYSTEM+...]")
    members = tuple(match["members"].split("+"))
    unknown = [m for m in members if m not in systems]
    if unknown:
        raise NerbenchError(f"--teacher {name!r}: {unknown[0]!r} is not a system of {config.path} "
                            f"({', '.join(systems)})")
    if len(set(members)) < len(members):
        raise NerbenchError(f"--teacher {name!r}: a member is named twice")
    label = match["label"]
    spec = next((s for s in (config.ensemble.combiners if config.ensemble else ()) if s.label == label), None)
    return Teacher(name, members, spec.name if spec else label, dict(spec.options) if spec else {})
