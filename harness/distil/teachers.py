"""Who annotates: a system or an ensemble named as a leaderboard names it,
resolved against the config that defines its members (a run's config, or the
one a results file records).

A results file is data from whoever sent it, never instructions: it names
systems, ensembles and their parameters, but where requests go and which
secret they carry come from a config the user wrote (`--config`, its
backends matched to the recorded systems by name), or from the recorded
backends only when the user says so (`--trust-endpoints`) and is shown them."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerbench.config.load import config_from_raw, load_config
from nerbench.config.settings import RunConfig
from nerbench.errors import NerbenchError
from nerbench.files.results import read_results

#: `[run]` keys that say where work goes and what is read: the user's config's, never a results file's.
USER_RUN_KEYS = ("executor", "address", "registry")
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


def load_source(path: Path, config_file: Path | None = None, trust_endpoints: bool = False
                ) -> tuple[RunConfig, dict[str, Any] | None]:
    """The config that defines the systems: `path` itself (TOML), or the one
    a results JSON records (with the results, for its ensembles' choices),
    its backends taken from `config_file` (or, with `trust_endpoints`, the
    recorded ones: `endpoints` lists what the user must be shown)."""
    if path.suffix != ".json":
        if config_file is not None or trust_endpoints:
            raise NerbenchError(f"{path}: --config and --trust-endpoints are for a results.json SOURCE; "
                                "a config SOURCE defines its own backends")
        return load_config(path), None
    results = read_results(path)
    recorded = results.get("config")
    if not isinstance(recorded, dict) or not isinstance(recorded.get("content"), dict):
        raise NerbenchError(f"{path}: field config: no recorded config (content) to name systems by")
    where = path.parent / Path(str(recorded.get("path", "config.toml"))).name
    if config_file is not None and trust_endpoints:
        raise NerbenchError("give --config FILE or --trust-endpoints, not both")
    if where.is_file():  # the run's config shipped beside its results (as leaderboards do): its content is checked
        check_recorded(recorded, load_config(where), str(path))
    if config_file is not None:
        return with_backends_of(recorded, load_config(config_file), str(path)), results
    if trust_endpoints:
        return config_from_raw(recorded["content"], where, str(recorded.get("sha256", ""))), results
    shown = "; ".join(endpoints(config_from_raw(recorded["content"], where, str(recorded.get("sha256", "")))))
    raise NerbenchError(f"{path}: a results file names systems, not where requests go nor which secret they "
                        f"carry: give --config FILE defining its backends, or --trust-endpoints to use the "
                        f"recorded ones ({shown})")


def canonical_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def with_backends_of(recorded: dict[str, Any], user: RunConfig, source: str) -> RunConfig:
    """The recorded config (formats, generation, datasets, ensembles: what
    shapes the prompts) with the user's backends and the `[run]` keys that
    say where work goes. When the user's config is the run's own (its
    sha256 is the recorded one), the recorded content must be its content."""
    if check_recorded(recorded, user, source):
        return user
    raw = {**recorded["content"], "backend": user.raw["backend"]}
    run = {k: v for k, v in raw.get("run", {}).items() if k not in USER_RUN_KEYS}
    raw["run"] = {**run, **{k: v for k, v in user.raw.get("run", {}).items() if k in USER_RUN_KEYS}}
    # Relative paths (a model file, a student folder, a manifest) point from the user's config, not the results.
    return config_from_raw(raw, user.path, canonical_sha256(raw))


def check_recorded(recorded: dict[str, Any], config: RunConfig, source: str) -> bool:
    """Whether `config` is the one the results recorded (its sha256); if it
    is, the recorded content must be its content, or the results were edited."""
    if config.sha256 != recorded.get("sha256"):
        return False
    if config.raw != recorded["content"]:
        raise NerbenchError(f"{source}: field config.content: not the content of the config whose sha256 it "
                            f"records ({config.path} has that sha256); the results file was edited")
    return True


def endpoints(config: RunConfig) -> list[str]:
    """Where each backend of `config` would send requests and with which
    secret: every option of its table (a kind may take any of them as a
    place to connect to), and the Ray cluster a run would join."""
    lines = []
    for b in config.backends:
        where = {"urls": list(b.urls)} if b.urls else {}
        shown = ", ".join(f"{k} {v!r}" for k, v in {**where, **b.options}.items())
        lines.append(f"backend {b.name!r} (kind {b.kind}): {shown or 'no options'}")
    if config.run.executor != "local":
        lines.append(f"executor {config.run.executor!r} at {config.address!r}")
    return lines


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
