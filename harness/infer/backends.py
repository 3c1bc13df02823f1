"""The configured backends: one per `[[backend]]`, a pool for several urls."""

from __future__ import annotations

from typing import Any

from nerbench.bases import Backend
from nerbench.config.load import RunConfig
from nerbench.infer.pool import BackendPool
from nerbench.plan.checks import backend_options
from nerbench.plugins.manager import Registry


def make_backends(config: RunConfig, registry: Registry) -> dict[str, Backend]:
    """One backend per `[[backend]]`; an entry with `urls` becomes a pool of
    one backend per URL. The config is checked (`nerbench.plan.checks`)."""
    backends: dict[str, Backend] = {}

    def build(name: str, cls: type[Backend], options: dict[str, Any]) -> Backend:
        backend = cls(name, options)
        backend.base_dir = config.path.parent
        return backend

    for entry in config.backends:
        cls = registry.get("backends", entry["kind"])
        options = backend_options(entry)
        name = entry["name"]
        if "urls" in entry:
            backends[name] = BackendPool(name, [build(name, cls, {**options, "url": url}) for url in entry["urls"]])
        else:
            backends[name] = build(name, cls, options)
    return backends
