"""Loads plugins from entry points and keeps what they register.

Each entry point is loaded and each plugin's hooks called on their own
(through pluggy, which passes a hook implementation only the arguments it
takes), so one broken plugin is reported (``nerbench plugins``) while the rest
keep working.

Environment controls (names are entry-point names, comma-separated):

- ``NERBENCH_LOAD_PLUGINS``: when set, only these third-party plugins load
  (empty: none); nerbench's own plugins are not affected by it.
- ``NERBENCH_DISABLE_PLUGINS``: these plugins do not load, built-in ones too.
- ``NERBENCH_TRACE_PLUGINS``: when set (non-empty, not ``0``), pluggy's tracer
  prints each plugin decision (tag ``load``) and hook call (tag ``hook``, with
  what it registered) to stderr.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import pluggy

from nerbench import bases
from nerbench.plugin_system import hookspecs
from nerbench.plugin_system.hookspecs import singular
from nerbench.errors import NerbenchError, UnknownNameError

ENTRY_POINT_GROUP = "nerbench"

_BASES: dict[str, type] = {
    "backends": bases.Backend,
    "datasets": bases.Dataset,
    "prompt_formats": bases.PromptFormat,
    "combiners": bases.Combiner,
    "reporters": bases.Reporter,
    "students": bases.Student,
}


@dataclass
class PluginInfo:
    name: str
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in hookspecs.KINDS})
    error: str | None = None
    builtin: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "hooks": self.hooks,
            "registered": self.registered,
            "error": self.error,
        }


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _tracing() -> bool:
    return os.environ.get("NERBENCH_TRACE_PLUGINS", "") not in ("", "0")


def _write_trace(line: str) -> None:
    sys.stderr.write(f"nerbench plugins: {line}")


def _skip_reason(name: str, builtin: bool) -> str | None:
    if name in (_names_from_env("NERBENCH_DISABLE_PLUGINS") or ()):
        return "NERBENCH_DISABLE_PLUGINS"
    allowed = _names_from_env("NERBENCH_LOAD_PLUGINS")
    if not builtin and allowed is not None and name not in allowed:
        return "not in NERBENCH_LOAD_PLUGINS"
    return None


def _describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _add_error(info: PluginInfo, message: str) -> None:
    info.error = f"{info.error}; {message}" if info.error else message


class _Register:
    """The ``register`` callback one plugin's ``register_*`` hook gets: what it
    registers is that plugin's, and so are the errors."""

    def __init__(self, registry: Registry, info: PluginInfo, kind: str) -> None:
        self.registry, self.info, self.kind = registry, info, kind
        self.done: list[str] = []

    def __call__(self, item_name: str, item: Any) -> None:
        try:
            self.registry._register(self.info, self.kind, item_name, item)
        except (TypeError, ValueError) as exc:
            _add_error(self.info, str(exc))
            self.registry._hook_trace(f"{self.info.name}: {exc}")
        else:
            self.done.append(item_name)


class Registry:
    """Everything the plugins registered, by kind and name."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._items: dict[str, dict[str, tuple[Any, str]]] = {k: {} for k in hookspecs.KINDS}
        self._load_trace = self.pm.trace.root.get("load")
        self._hook_trace = self.pm.trace.root.get("hook")
        if _tracing():
            self.pm.trace.root.setwriter(_write_trace)
            self.pm.add_hookcall_monitoring(*self._call_tracers())

    def _call_tracers(self) -> tuple[Any, Any]:
        """pluggy's before/after monitors: each hook call as the plugin's
        implementation took it, what it registered or raised, and its time."""
        started: list[float] = []

        def before(hook_name: str, impls: list[pluggy.HookImpl], kwargs: dict[str, Any]) -> None:
            started.append(time.perf_counter())

        def after(outcome: pluggy.Result[Any], hook_name: str, impls: list[pluggy.HookImpl],
                  kwargs: dict[str, Any]) -> None:
            ms = 1000 * (time.perf_counter() - started.pop())
            for impl in impls:  # one: each plugin is called on its own
                call = f"{impl.plugin_name}.{hook_name}({', '.join(impl.argnames)})"
                if outcome.exception is not None:
                    self._hook_trace(f"{call} raised {_describe_error(outcome.exception)}")
                elif isinstance(kwargs.get("register"), _Register):
                    self._hook_trace(f"{call} -> {', '.join(kwargs['register'].done) or 'nothing'} ({ms:.1f} ms)")
                else:
                    self._hook_trace(f"{call} ({ms:.1f} ms)")

        return before, after

    # -- loading ---------------------------------------------------------
    def load_entry_points(self) -> None:
        # Built-ins first, so a third-party plugin cannot take a built-in name
        # by loading earlier; then a stable order.
        eps = sorted(
            md.entry_points(group=ENTRY_POINT_GROUP),
            key=lambda ep: (ep.dist is None or ep.dist.name != "nerbench", ep.name),
        )
        for ep in eps:
            version = ep.dist.version if ep.dist is not None else None
            builtin = ep.dist is not None and ep.dist.name == "nerbench"
            skip = _skip_reason(ep.name, builtin)
            if skip:
                self._load_trace(f"{ep.name}: not loaded ({skip})")
                continue
            info = self.plugins.setdefault(ep.name, PluginInfo(ep.name, version))
            info.builtin = builtin
            self._load_trace(f"{ep.name}: loading {ep.value}" + (f" ({ep.dist.name} {version})" if ep.dist else ""))
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not take the CLI down
                info.error = f"import failed: {_describe_error(exc)}"
                self._load_trace(f"{ep.name}: {info.error}")
                continue
            self.add_plugin(module, ep.name, version)

    def add_plugin(self, plugin: object, name: str, version: str | None = None) -> None:
        """Register a plugin object (module or instance) and call its hooks."""
        info = self.plugins.setdefault(name, PluginInfo(name, version))
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            info.error = f"registration failed: {_describe_error(exc)}"
            return
        info.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
        for kind, hook_name in hookspecs.KINDS.items():
            if hook_name in info.hooks:
                self._call(info, plugin, hook_name, register=_Register(self, info, kind))

    def _call(self, info: PluginInfo, plugin: object, hook_name: str, **kwargs: Any) -> None:
        """Call one plugin's implementation of a hook, through pluggy (it passes
        the implementation only the arguments it takes); what it raises is
        recorded as that plugin's error, and the other plugins go on."""
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        try:
            self.pm.subset_hook_caller(hook_name, others)(**kwargs)
        except Exception as exc:
            _add_error(info, f"{hook_name} failed: {_describe_error(exc)}")

    def _register(self, info: PluginInfo, kind: str, item_name: str, item: Any) -> None:
        base = _BASES[kind]
        ok = isinstance(item, base) if kind == "datasets" else isinstance(item, type) and issubclass(item, base)
        if not ok:
            raise TypeError(f"{singular(kind)} {item_name!r} is not a nerbench.api.{base.__name__}")
        existing = self._items[kind].get(item_name)
        if existing is not None:
            raise ValueError(
                f"{singular(kind)} {item_name!r} is already registered by plugin "
                f"{existing[1]!r}; plugin {info.name!r} cannot register it again"
            )
        self._items[kind][item_name] = (item, info.name)
        info.registered[kind].append(item_name)

    # -- lookup ----------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    @overload
    def get(self, kind: Literal["backends"], name: str) -> type[bases.Backend]: ...
    @overload
    def get(self, kind: Literal["datasets"], name: str) -> bases.Dataset: ...
    @overload
    def get(self, kind: Literal["prompt_formats"], name: str) -> type[bases.PromptFormat]: ...
    @overload
    def get(self, kind: Literal["combiners"], name: str) -> type[bases.Combiner]: ...
    @overload
    def get(self, kind: Literal["reporters"], name: str) -> type[bases.Reporter]: ...
    @overload
    def get(self, kind: Literal["students"], name: str) -> type[bases.Student]: ...
    @overload
    def get(self, kind: str, name: str) -> Any: ...  # a kind named at run time (`nerbench.api.lookup`)
    def get(self, kind: str, name: str) -> Any:
        """The item registered as `name` (a dataset instance; for the other
        kinds, the class), or an error suggesting close names."""
        try:
            return self._items[kind][name][0]
        except KeyError:
            pass
        known = self.names(kind)
        label = singular(kind)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        available = ", ".join(known) if known else "none"
        raise UnknownNameError(f"unknown {label} {name!r}.{hint} Available: {available}")

    def provider(self, kind: str, name: str) -> str:
        return self._items[kind][name][1]

    def add_dataset(self, dataset: bases.Dataset, source: str) -> None:
        """Register a dataset that comes from the user (a manifest file), not a plugin."""
        existing = self._items["datasets"].get(dataset.id)
        if existing is not None and existing[1] == source:
            return  # the same manifest named twice (e.g. --registry and the config)
        info = self.plugins.setdefault(source, PluginInfo(source))
        try:
            self._register(info, "datasets", dataset.id, dataset)
        except (TypeError, ValueError) as exc:
            raise NerbenchError(f"{source}: {exc}") from None

    def call_register_commands(self, cli: Any) -> None:
        for impl in self.pm.hook.register_commands.get_hookimpls():
            info = self.plugins.setdefault(impl.plugin_name, PluginInfo(impl.plugin_name))
            self._call(info, impl.plugin, "register_commands", cli=cli)


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built from entry points on first use."""
    global _registry
    if _registry is None:
        _registry = Registry()
        _registry.load_entry_points()
    return _registry


def reset_registry() -> None:
    """Forget the registry so the next `get_registry()` reloads (tests use it)."""
    global _registry
    _registry = None
