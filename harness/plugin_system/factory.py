"""The one way a plugin instance is made, whatever its kind: its class looked
up by name, the options it is given checked against what it declares
(`nerbench.bases.Configurable`), then constructed. Every error is one line
naming where the name and options came from (a file and field, or a command
and option)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal, overload

from nerbench.bases import Backend, Combiner, Configurable, Dataset, PromptFormat, Reporter, Student
from nerbench.errors import NerbenchError
from nerbench.files.schema import validate
from nerbench.plugin_system.hookspecs import singular
from nerbench.plugin_system.manager import Registry


@dataclass(frozen=True)
class Where:
    """Where a plugin's name and options were written: `source` (a file, or a
    command such as "nerbench ensemble") and the `field` in it."""

    source: str
    field: str

    def __str__(self) -> str:
        return f"{self.source}: field {self.field}"




def check_options(cls: type[Configurable], options: dict[str, Any], where: Where, what: str,
                  core: dict[str, Any] | None = None) -> None:
    """Check `options` against what `cls` declares plus the `core` options
    nerbench reads itself (a backend's concurrency, say)."""
    declared = cls.OPTIONS
    properties = {**(core or {}), **(declared or {})}
    if declared is not None:
        unknown = sorted(set(options) - set(properties))
        if unknown:
            close = difflib.get_close_matches(unknown[0], properties, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise NerbenchError(f"{where}: unknown option {unknown[0]!r} for {what}.{hint} "
                                f"Options: {', '.join(sorted(properties)) or 'none'}")
    missing = [name for name in cls.REQUIRED_OPTIONS if name not in options]
    if missing:
        raise NerbenchError(f"{where}: {what} needs option {missing[0]!r}")
    validate(options, {"type": "object", "properties": properties}, where.source, prefix=where.field)
    try:
        cls.check_options(options)
    except NerbenchError as exc:
        raise NerbenchError(f"{where}: {exc}") from None


@overload
def make(registry: Registry, kind: Literal["combiners"], name: str, options: dict[str, Any],
         where: Where, name_at: str | None = None) -> Combiner: ...
@overload
def make(registry: Registry, kind: Literal["prompt_formats"], name: str, options: dict[str, Any],
         where: Where, name_at: str | None = None) -> PromptFormat: ...
@overload
def make(registry: Registry, kind: Literal["students"], name: str, options: dict[str, Any],
         where: Where, name_at: str | None = None) -> Student: ...
@overload
def make(registry: Registry, kind: Literal["reporters"], name: str, options: dict[str, Any],
         where: Where, name_at: str | None = None) -> Reporter: ...
@overload
def make(registry: Registry, kind: Literal["backends"], name: str, options: dict[str, Any],
         where: Where, name_at: str | None = None, *, instance: str,
         core: dict[str, Any] | None = None) -> Backend: ...
def make(registry: Registry, kind: str, name: str, options: dict[str, Any], where: Where,
         name_at: str | None = None, instance: str | None = None, core: dict[str, Any] | None = None) -> Any:
    """An instance of the `kind` plugin registered as `name`, made with
    `options` (given at `where`), checked first against what the plugin
    declares plus the `core` options nerbench reads itself. An unknown name
    is an error naming `name_at` (default: `where`). A backend is also given
    its `instance` name (the config's `[[backend]] name`)."""
    try:
        cls = registry.get(kind, name)
    except NerbenchError as exc:
        raise NerbenchError(f"{name_at or where}: {exc}") from None
    what = f"{singular(kind)}{' kind' if kind == 'backends' else ''} {name!r}"
    if issubclass(cls, Configurable):
        check_options(cls, options, where, what, core)
    try:
        return cls(instance, options) if kind == "backends" else cls(**options)
    except (TypeError, NerbenchError) as exc:
        raise NerbenchError(f"{where}: {what}: {exc}") from None


def dataset_split(registry: Registry, ref: str) -> tuple[Dataset, str]:
    """The registered dataset and split named by "ID:SPLIT"."""
    dataset_id, sep, split = ref.rpartition(":")
    if not sep or not dataset_id or not split:
        raise NerbenchError("expected ID:SPLIT, e.g. lener_br:test")
    dataset = registry.get("datasets", dataset_id)
    return dataset, dataset.check_split(split)
