"""Ollama through its official client (`ollama.AsyncClient`), native `/api/chat`.

Ollama's traps, handled: sampling options go inside `options` (top-level ones
are silently ignored); the JSON Schema goes in `format`; a model that is not
pulled is a 404 (we say `ollama pull NAME`, or pull it with `pull = true`);
thinking models may answer only in `thinking` (reported, never parsed as "no
entities"); `done_reason == "length"` is a truncated answer; and a prompt
longer than the context is cut silently — visible only as a `prompt_eval_count`
far below the prompt's size, which we report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import ollama

from nerbench import api
from nerbench.api import BackendError, Generation, Request

DEFAULT_URL = "http://127.0.0.1:11434"
#: Prompts shorter than this (estimated tokens) are never called truncated.
MIN_TOKENS_FOR_TRUNCATION_CHECK = 128


def estimated_tokens(messages: tuple[dict[str, str], ...]) -> int:
    """A low estimate of the prompt's tokens (≈ 4 characters per token)."""
    return sum(len(m.get("content", "")) for m in messages) // 4


class OllamaBackend(api.Backend):
    """Options: `url` (default http://127.0.0.1:11434), `num_ctx` (context
    tokens; Ollama's default is small), `think` (true/false, sent only when
    set, for models that accept it), `keep_alive`, `pull` (pull a missing model
    before using it), `timeout` (s, default 300), `retries`. Without
    `concurrency`, nerbench adapts the requests in flight from 1 up (Ollama
    serves OLLAMA_NUM_PARALLEL per model, which its API does not tell)."""

    default_concurrency = 1
    known_capacity = False
    OPTIONS: ClassVar[dict[str, Any]] = {
        "url": {"type": "string", "minLength": 1},
        "num_ctx": {"type": "integer", "minimum": 1},
        "think": {"type": "boolean"},
        "keep_alive": {"type": ["string", "number"]},
        "pull": {"type": "boolean"},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
    }

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._client: ollama.AsyncClient | None = None

    @property
    def endpoint(self) -> str:
        return str(self.options.get("url", DEFAULT_URL)).rstrip("/")

    @property
    def client(self) -> ollama.AsyncClient:
        if self._client is None:
            self._client = ollama.AsyncClient(host=self.endpoint, timeout=float(self.options.get("timeout", 300)))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _call(self, what: str, coro: Any) -> Any:
        """Await a client call, turning its failures into BackendErrors."""
        try:
            return await coro
        except ollama.ResponseError as exc:
            status = exc.status_code
            if status == 404 and "not found" in str(exc.error):
                raise BackendError(f"{self.endpoint}: {exc.error}; run: ollama pull {what} (or set pull = true)",
                                   cause="model_not_found") from None
            transient = status == 429 or status >= 500 or status == -1
            raise BackendError(f"{self.endpoint}: HTTP {status}: {api.redact(str(exc.error))[:300]}",
                               transient=transient, cause=f"http_{status}") from None
        except ConnectionError as exc:  # the client's own "Failed to connect to Ollama"
            raise BackendError(f"{self.endpoint}: {exc}", transient=True, cause="connection") from None
        except httpx.TimeoutException as exc:
            raise BackendError(f"{self.endpoint}: timed out: {exc!r}", transient=True, cause="timeout") from None
        except httpx.HTTPError as exc:  # e.g. a body cut short: the server is up, the answer was lost
            raise BackendError(f"{self.endpoint}: {type(exc).__name__}: {exc}", transient=True,
                               cause="incomplete_response") from None
        # json's JSONDecodeError and the client's pydantic ValidationError are ValueErrors; the rest:
        # not UTF-8, nested too deep, or not Ollama's shape
        except (ValueError, RecursionError, TypeError, AttributeError, KeyError) as exc:
            raise BackendError(f"{self.endpoint}: the answer is not Ollama's JSON: {type(exc).__name__}",
                               transient=True, cause="garbage") from None

    def answer_options(self) -> dict[str, Any]:
        return {k: self.options[k] for k in ("num_ctx", "think") if k in self.options}

    def options_for(self, request: Request) -> dict[str, Any]:
        options: dict[str, Any] = {"temperature": request.temperature, "num_predict": request.max_tokens}
        if request.seed is not None:
            options["seed"] = request.seed
        if "num_ctx" in self.options:
            options["num_ctx"] = int(self.options["num_ctx"])
        return options

    async def generate(self, request: Request) -> Generation:
        extra: dict[str, Any] = {}
        if "think" in self.options:
            extra["think"] = bool(self.options["think"])
        if "keep_alive" in self.options:
            extra["keep_alive"] = self.options["keep_alive"]
        started = time.perf_counter()
        response = await self._call(request.model, self.client.chat(
            model=request.model, messages=list(request.messages), format=request.schema,
            options=self.options_for(request), stream=False, **extra))
        message = response.message
        content = message.content or ""
        if not content.strip() and (message.thinking or "").strip():
            raise BackendError(f"{request.model} answered only in its thinking, with no content "
                               "(set think = false, or raise max_tokens)", cause="thinking_only")
        estimate = estimated_tokens(request.messages)
        seen = response.prompt_eval_count
        if seen is not None and estimate >= MIN_TOKENS_FOR_TRUNCATION_CHECK and seen < estimate / 2:
            raise BackendError(f"Ollama read {seen} prompt tokens of about {estimate}: the prompt was cut to fit "
                               "the context; raise num_ctx", cause="context_truncated")
        return Generation(
            text=content,
            finish_reason="length" if response.done_reason == "length" else (response.done_reason or "stop"),
            prompt_tokens=seen,
            completion_tokens=response.eval_count,
            latency_s=round(time.perf_counter() - started, 4),
        )

    async def models(self) -> list[str]:
        listing = await self._call("", self.client.list())
        return [m.model for m in listing.models if m.model]

    async def _listed(self, model: str) -> Any:
        listing = await self._call(model, self.client.list())
        return next((m for m in listing.models if m.model in (model, f"{model}:latest")), None)

    async def describe(self, model: str) -> dict[str, Any]:
        entry = await self._listed(model)
        if entry is None and self.options.get("pull"):
            await self._call(model, self.client.pull(model))
            entry = await self._listed(model)
        if entry is None:
            raise BackendError(f"{self.endpoint}: model {model!r} is not pulled; run: ollama pull {model} "
                               "(or set pull = true)", cause="model_not_found")
        shown = await self._call(model, self.client.show(model))
        context = next((v for k, v in (shown.modelinfo or {}).items() if k.endswith(".context_length")), None)
        try:  # the client has no call for /api/version
            async with httpx.AsyncClient(base_url=self.endpoint, timeout=10) as http:
                version = (await http.get("/api/version")).json().get("version")
        except (httpx.HTTPError, ValueError, AttributeError):
            version = None
        details = entry.details
        return {
            "endpoint": self.endpoint,
            "server": "ollama",
            "server_version": version,
            "digest": f"sha256:{entry.digest}" if entry.digest and ":" not in entry.digest else entry.digest,
            "size": int(entry.size) if entry.size is not None else None,
            "quantization": details.quantization_level if details else None,
            "parameters": details.parameter_size if details else None,
            "context_length": context,
            "num_ctx": self.options.get("num_ctx"),
        }

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "models": await self.models()}


@api.hookimpl
def register_backends(register: Callable[[str, Any], None]) -> None:
    register("ollama", OllamaBackend)
