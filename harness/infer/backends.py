"""The configured backends: one per `[[backend]]`, a pool for several urls,
replicas on a Ray cluster for servers nerbench starts (`[run] executor = "ray"`)."""

from __future__ import annotations

from typing import Any

from nerbench.bases import Backend
from nerbench.config.options import BACKEND_OPTIONS
from nerbench.config.settings import BackendEntry, RunConfig
from nerbench.infer.pool import BackendPool
from nerbench.infer.ray_cluster import Cluster, Placement, RayBackend
from nerbench.plugin_system.factory import Where, make
from nerbench.plugin_system.manager import Registry
from nerbench.redaction import notice


def make_backends(config: RunConfig, registry: Registry) -> dict[str, Backend]:
    """One backend per `[[backend]]`; an entry with `urls` becomes a pool of
    one backend per URL; with the Ray executor, an entry whose kind starts its
    own server becomes replicas on the cluster. The config is checked
    (`nerbench.plan.checks`)."""
    backends: dict[str, Backend] = {}
    base_dir = config.path.parent.resolve()
    cluster = Cluster(config.address) if config.run.executor == "ray" else None
    if cluster is not None:
        cluster.check()
        if not any(registry.get("backends", entry.kind).serves() for entry in config.backends):
            notice('[run] executor = "ray": no backend here starts servers of its own to place on the cluster; '
                   "its requests go to the urls configured")

    for entry in config.backends:
        cls = registry.get("backends", entry.kind)
        options = dict(entry.options)
        name = entry.name

        def build(options: dict[str, Any], entry: BackendEntry = entry) -> Backend:
            backend = make(registry, "backends", entry.kind, options, Where(str(config.path), entry.field),
                           instance=entry.name, core=BACKEND_OPTIONS)
            backend.base_dir = base_dir
            return backend

        if cluster is not None and cls.serves():
            backends[name] = RayBackend(name, cls, options, [ref.id for ref in entry.models],
                                        Placement.of(entry), cluster, base_dir)
        elif entry.urls:
            backends[name] = BackendPool(name, [build({**options, "url": url}) for url in entry.urls])
        else:
            backends[name] = build(options)
    return backends


def execution(config: RunConfig, backends: dict[str, Backend], concurrency: dict[str, Any]) -> dict[str, Any]:
    """Where a run's requests were served: the executor, each endpoint's
    concurrency limit and, on a Ray cluster, its nodes and what each replica
    answered (provenance for results)."""
    placed = {name: b.report() for name, b in backends.items() if isinstance(b, RayBackend)}
    # What served the requests, not what was asked for: Ray only where something was placed on it.
    report: dict[str, Any] = {"executor": "ray" if placed else "local", "concurrency": concurrency}
    if config.run.executor != report["executor"]:
        report["executor_configured"] = config.run.executor
    if placed:
        report["cluster"] = next(iter(placed.values()))["cluster"]
        report["replicas"] = {name: {"per_replica": p["placement"], "replicas": p["replicas"]}
                              for name, p in placed.items()}
    return report
