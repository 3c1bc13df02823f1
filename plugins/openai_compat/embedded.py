"""llama.cpp's own server started in-process (xllamacpp): no server to install.

Models are the packaged ones nerbench knows by name (SmolLM2-135M-Instruct,
Gemma 3 270M: `nerbench.api.PACKAGED_MODELS`) or paths to GGUF files.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from nerbench import api
from nerbench.api import PACKAGED_MODELS

from .client import CACHE_PROMPT, OpenAIBackend, prompt_cache


def model_path(model: str, base_dir: Path | None = None) -> Path:
    """The GGUF file of a packaged model's name, or of a path (relative to
    `base_dir`, the config's folder)."""
    if model in PACKAGED_MODELS:
        return PACKAGED_MODELS[model].locate()
    path = Path(model).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise api.NerbenchError(
            f"embedded backend: model {model!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) "
            "nor a GGUF file")
    return path


class EmbeddedBackend(api.Backend):
    """Options: `n_parallel` (slots per model, default 2), `n_ctx` (per slot,
    default 2048), `threads` (default: all cores), `cache_ram_mib` (llama.cpp's
    prompt cache in host memory, default 256), `chat_template` (one of
    llama.cpp's built-in template names, for a GGUF that carries none or a
    wrong one; part of the cache key), `cache_prompt` (as the `llamacpp`
    kind's), plus the `openai` options `timeout` and `retries`. Models:
    packaged names ("smollm2-135m", "gemma3-270m") or paths to GGUF files;
    each gets its own server, started on first use and asked through an
    `openai` backend of its own (nerbench asks one model after another).
    With `[run] executor = "ray"`, `serve` starts the servers in replica
    actors on a Ray cluster instead."""

    OPTIONS: ClassVar[dict[str, Any]] = {
        "n_parallel": {"type": "integer", "minimum": 1},
        "n_ctx": {"type": "integer", "minimum": 64},
        "threads": {"type": "integer", "minimum": 1},
        "chat_template": {"type": "string", "minLength": 1},
        "log_verbosity": {"type": "integer", "minimum": 0},
        "cache_ram_mib": {"type": "integer", "minimum": 0},
        "cache_prompt": CACHE_PROMPT,
        "timeout": OpenAIBackend.OPTIONS["timeout"],
    }

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._servers: dict[str, api.LlamaServer] = {}
        self._clients: dict[str, OpenAIBackend] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self._digests: dict[str, str] = {}

    @property
    def default_concurrency(self) -> int:  # type: ignore[override]
        return int(self.options.get("n_parallel", 2))

    @property
    def endpoint(self) -> str:
        return f"embedded:{self.name}"

    def answer_options(self) -> dict[str, Any]:
        template = self.options.get("chat_template")
        return {**({"chat_template": template} if template else {}), **prompt_cache(self.options)}

    def _start(self, model: str, host: str = "127.0.0.1") -> api.LlamaServer:
        return api.start_llama_server(
            model_path(model, self.base_dir),
            model,
            slots=int(self.options.get("n_parallel", 2)),
            ctx_per_slot=int(self.options.get("n_ctx", 2048)),
            threads=self.options.get("threads"),
            verbosity=int(self.options.get("log_verbosity", 1)),
            chat_template=self.options.get("chat_template"),
            cache_ram_mib=int(self.options.get("cache_ram_mib", 256)),
            host=host,
        )

    def serve(self, model: str, host: str) -> str:
        server = self._start(model, host)
        self._servers[model] = server
        self._clients[model] = self.client_for(server.url)
        return server.url

    def client_for(self, url: str) -> OpenAIBackend:
        return OpenAIBackend(self.name, {**self.options, "url": url})

    async def _client(self, model: str) -> OpenAIBackend:
        """The client of `model`'s server, started on first use (once, however
        many requests arrive at the same time)."""
        async with self._starting.setdefault(model, asyncio.Lock()):
            if model not in self._clients:
                server = await asyncio.to_thread(self._start, model)
                self._servers[model] = server
                self._clients[model] = self.client_for(server.url)
        return self._clients[model]

    def check_model(self, model: str) -> None:
        if model in PACKAGED_MODELS:
            packaged = PACKAGED_MODELS[model]
            if not packaged.installed():
                raise api.NerbenchError(
                    f"the model {model} ({packaged.title}) is not installed; run: {packaged.install}")
        else:
            model_path(model, self.base_dir)

    async def generate(self, request: api.Request) -> api.Generation:
        return await (await self._client(request.model)).generate(request)

    async def describe(self, model: str) -> dict[str, Any]:
        path = model_path(model, self.base_dir)
        if model not in self._digests:
            self._digests[model] = "sha256:" + await asyncio.to_thread(api.checked_sha256, path)
        info = await (await self._client(model)).describe(model)
        info.update(
            endpoint=self.endpoint,
            # In-process: where it ran is no part of the answer's identity.
            endpoint_identity="embedded",
            digest=self._digests[model],
            file=path.name,
            file_bytes=path.stat().st_size,
        )
        if model in PACKAGED_MODELS:
            info.update(title=PACKAGED_MODELS[model].title, license=PACKAGED_MODELS[model].license)
        if self.options.get("chat_template"):
            info["chat_template"] = self.options["chat_template"]
        return info

    async def models(self) -> list[str]:
        return list(self._servers) or list(PACKAGED_MODELS)

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "models": await self.models(), "started": bool(self._servers)}

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self._servers.clear()  # a server stops when its last reference goes
