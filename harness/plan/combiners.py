"""A combiner from its plugin name and options (a config's or the command line's)."""

from __future__ import annotations

from typing import Any

from nerbench.bases import Combiner
from nerbench.errors import NerbenchError
from nerbench.plugin_system.manager import Registry


def make_combiner(registry: Registry, name: str, options: dict[str, Any]) -> Combiner:
    cls = registry.get("combiners", name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise NerbenchError(f"combiner {name!r}: {exc}") from None
