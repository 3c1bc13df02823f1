"""vLLM's OpenAI-compatible server. Structured output goes in
`response_format` (json_schema) or, with `structured = "structured_outputs"`,
in vLLM's own `structured_outputs` field — never `guided_json`, which vLLM
≥ 0.12 ignores silently (HTTP 200, unconstrained)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from nerbench.api import BackendError, Request

from .client import OpenAIBackend

STRUCTURED = ("response_format", "structured_outputs")
WAITING = "vllm:num_requests_waiting"


def waiting_requests(metrics: str) -> int | None:
    """Requests waiting in vLLM's queue, from its Prometheus text (summed over
    models); None when the gauge is not there."""
    values = []
    for line in metrics.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name == WAITING:
            try:
                values.append(float(line.rsplit(" ", 1)[1]))
            except (IndexError, ValueError):
                continue
    return int(sum(values)) if values else None


class VllmBackend(OpenAIBackend):
    """Options as `openai`, plus `structured` ("response_format", default, or
    "structured_outputs"). Without `concurrency`, nerbench adapts the requests
    in flight from 4 up (vLLM batches them), holding below the level where
    vLLM's /metrics shows requests waiting. `max_model_len` and the server
    version are recorded with the model."""

    default_concurrency = 4
    OPTIONS: ClassVar[dict[str, Any]] = {**OpenAIBackend.OPTIONS, "structured": {"enum": list(STRUCTURED)}}

    def payload(self, request: Request) -> dict[str, Any]:
        body = super().payload(request)
        if request.schema is not None and self.options.get("structured") == "structured_outputs":
            del body["response_format"]
            body["structured_outputs"] = {"json": request.schema}
        return body

    async def queued(self) -> int | None:
        try:
            resp = await self.client.get("/metrics")
            resp.raise_for_status()
        except httpx.HTTPError:
            return None
        return waiting_requests(resp.text)

    async def describe(self, model: str) -> dict[str, Any]:
        info = await super().describe(model)
        data = await self._get("/v1/models")
        entry = next((m for m in data.get("data") or [] if isinstance(m, dict) and m.get("id") == model), {})
        try:
            version = (await self._get("/version")).get("version")
        except BackendError:
            version = None
        info.update(server="vllm", server_version=version, context_length=entry.get("max_model_len"),
                    model_path=entry.get("root"))
        if "digest" not in info:
            # vLLM says nothing of the weights' hash: identify them by what it serves and from where.
            info["digest"] = f"vllm:{entry.get('root') or model}:{entry.get('max_model_len')}"
        return info
