"""`nerbench models`: each configured backend's health, the models it serves
and what it says of the configured ones — without running anything."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from nerbench.config.settings import ModelRef, RunConfig
from nerbench.errors import NerbenchError
from nerbench.infer.backends import make_backends
from nerbench.plugin_system.manager import Registry
from nerbench.redaction import redact

#: What `describe` may say of a model, in the order `nerbench models` shows it.
MODEL_FIELDS = ("digest", "quantization", "context_length", "parameters", "server_build", "slots", "file")


async def _check(name: str, backend: Any, models: Sequence[ModelRef]) -> dict[str, Any]:
    report: dict[str, Any] = {"backend": name, "kind": None, "endpoint": None, "ok": False, "error": None,
                              "served": [], "models": {}}
    try:
        await backend.start()
        report["endpoint"] = backend.endpoint
        health = await backend.health()
        report["ok"] = bool(health.get("ok", True))
        down = []  # a pool still serves with the others: say which are down and go on
        for url, replica in health.get("replicas", {}).items():
            if not replica.get("ok", True):
                error = str(replica.get("error"))
                down.append(error if error.startswith(url) else f"{url}: {error}")
        if down:
            report["error"] = "; ".join(down)
        report["served"] = list(await backend.models())
        for ref in models:
            try:
                info = await backend.describe(ref.id)
                report["models"][ref.name] = {k: info.get(k) for k in MODEL_FIELDS if info.get(k) is not None}
            except NerbenchError as exc:
                report["models"][ref.name] = {"error": redact(str(exc))}
                report["ok"] = False
    except NerbenchError as exc:
        report["ok"] = False
        report["error"] = redact(str(exc))
    finally:
        try:
            await backend.aclose()
        except Exception:  # closing a backend that never started must not hide the report
            pass
    return report


def probe_backends(config: RunConfig, registry: Registry) -> list[dict[str, Any]]:
    """One report per `[[backend]]`: ok, error, served models, and per
    configured model its provenance (or why it could not be described)."""
    backends = make_backends(config, registry)

    async def run() -> list[dict[str, Any]]:
        reports = await asyncio.gather(*(
            _check(entry.name, backends[entry.name], entry.models) for entry in config.backends))
        for entry, report in zip(config.backends, reports):
            report["kind"] = entry.kind
        return list(reports)

    return asyncio.run(run())
