"""OpenAI-compatible chat completions over httpx (llama.cpp server dialect:
`response_format` = json_schema)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, ClassVar

import httpx

from nerbench import api
from nerbench.api import BackendError, Generation, NerbenchError, Request


def check_url(url: str) -> None:
    """An http(s) URL with a host and a port in range, or a one-line error."""
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise NerbenchError(f"url {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NerbenchError(f"url {url!r}: expected http://HOST:PORT or https://HOST:PORT")
    if port is not None and not 0 < port < 65536:
        raise NerbenchError(f"url {url!r}: port {port} is out of range (1-65535)")


def garbage(message: str) -> BackendError:
    """A server that answered something unreadable: worth asking again."""
    return BackendError(message, transient=True, cause="garbage")


def classify(exc: httpx.HTTPError) -> BackendError:
    """Transient: no connection, timeouts, 429 and 5xx. Permanent: other 4xx.
    The message names the URL asked: a user with several servers must see which one failed."""
    try:
        where = f"{exc.request.url.copy_with(query=None)}: "
    except RuntimeError:  # an error raised before any request was made
        where = ""
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(f"{where}timed out: {exc!r}", transient=True, cause="timeout")
    if isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)):
        return BackendError(f"{where}cannot connect: {exc}", transient=True, cause="connection")
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        # Redacted before it is cut: a server may echo the key back, and half a key is still a leak.
        body = api.redact(exc.response.text)[:300].strip()
        transient = status == 429 or status >= 500
        return BackendError(f"{where}HTTP {status}: {body}", transient=transient, cause=f"http_{status}")
    return BackendError(f"{where}{type(exc).__name__}: {exc}", transient=True, cause="transport")


#: llama.cpp's `cache_prompt` (the llamacpp and embedded kinds; the server's default is true).
CACHE_PROMPT: dict[str, Any] = {"type": "boolean"}


def prompt_cache(options: dict[str, Any]) -> dict[str, Any]:
    """What `cache_prompt = false` adds to a request and to its cache key: a
    recomputed prompt is other arithmetic than a reused prefix, and can give
    another answer (docs/racing.md). Nothing when it is on, so the keys of
    every run that never set it stay as they were."""
    return {"cache_prompt": False} if options.get("cache_prompt") is False else {}


class OpenAIBackend(api.Backend):
    """Any server with `/v1/chat/completions` (llama.cpp server, vLLM, LM Studio…).

    Options: `url` (base URL, with or without /v1), `api_key_env` (name of an
    environment variable holding the key; the key itself is never recorded),
    `timeout` (seconds, default 120), `retries` (attempts, default 4),
    `concurrency` (requests in flight; without it nerbench adapts them,
    starting at 1: this API does not say how many the server serves at once).
    """

    known_capacity = False

    OPTIONS: ClassVar[dict[str, Any]] = {
        "url": {"type": "string", "minLength": 1},
        "api_key_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        "digest": {"type": "string", "minLength": 1},
    }
    REQUIRED_OPTIONS: ClassVar[tuple[str, ...]] = ("url",)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        if "url" in options:
            check_url(str(options["url"]))
        env = options.get("api_key_env")
        if env and not os.environ.get(env):
            raise NerbenchError(f"option api_key_env: the environment variable {env} is not set (or empty)")

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._client: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        url = str(self.options.get("url", "")).rstrip("/")
        if not url:
            raise api.NerbenchError(f"backend {self.name!r}: option 'url' is required for kind openai")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    @property
    def endpoint(self) -> str:
        return self.base_url

    def _headers(self) -> dict[str, str]:
        env = self.options.get("api_key_env")
        if not env:
            return {}
        key = os.environ.get(env)
        if not key:
            raise api.NerbenchError(f"backend {self.name!r}: environment variable {env} is not set")
        api.register_secret(key)
        return {"Authorization": f"Bearer {key}"}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = float(self.options.get("timeout", 120))
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=self._headers())
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _get(self, path: str) -> dict[str, Any]:
        try:
            resp = await self.client.get(path)
            resp.raise_for_status()
            data = resp.json()
        except httpx.HTTPError as exc:
            raise classify(exc) from None
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
            raise garbage(f"{self.base_url}{path} answered with a body that is not JSON") from None
        if not isinstance(data, dict):
            raise garbage(f"{self.base_url}{path} answered with JSON that is not an object")
        return data

    def payload(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        body.update(prompt_cache(self.options))  # the embedded kind's clients are plain openai ones
        if request.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "entities", "strict": True, "schema": request.schema},
            }
        return body

    async def generate(self, request: Request) -> Generation:
        started = time.perf_counter()
        try:
            resp = await self.client.post("/v1/chat/completions", json=self.payload(request))
            resp.raise_for_status()
            data = resp.json()
        except httpx.HTTPError as exc:
            raise classify(exc) from None
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
            raise garbage("the server answered with a body that is not JSON") from None
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            finish = choice.get("finish_reason") or "stop"
            usage = data.get("usage") or {}
            prompt_tokens, completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise garbage("the server's answer has no choices[0].message.content") from None
        if not isinstance(text, str) or not isinstance(finish, str):
            raise garbage("the server's answer has a content or finish_reason that is not a string")
        return Generation(
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt_tokens if type(prompt_tokens) is int else None,
            completion_tokens=completion_tokens if type(completion_tokens) is int else None,
            latency_s=round(time.perf_counter() - started, 4),
        )

    async def models(self) -> list[str]:
        data = await self._get("/v1/models")
        return [str(m["id"]) for m in data.get("data") or [] if isinstance(m, dict) and "id" in m]

    async def describe(self, model: str) -> dict[str, Any]:
        listed = [m for m in (await self._get("/v1/models")).get("data") or [] if isinstance(m, dict)]
        entry = next((m for m in listed if m.get("id") == model), None)
        if entry is None and listed:
            served = ", ".join(str(m.get("id", "?")) for m in listed)
            raise BackendError(f"backend {self.name!r} does not serve model {model!r}; it serves: {served}")
        meta = (entry or {}).get("meta") or {}
        if not isinstance(meta, dict):
            meta = {}
        info: dict[str, Any] = {"endpoint": self.endpoint, "model_meta": meta}
        if "digest" in self.options:
            info["digest"] = self.options["digest"]
        elif meta:
            # No digest over this API: fingerprint what the server says of the model.
            info["digest"] = "meta:" + hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
        for key, src in (("quantization", "ftype"), ("context_length", "n_ctx_train"), ("parameters", "n_params")):
            if key not in info and src in meta:
                info[key] = meta[src]
        return info

    async def health(self) -> dict[str, Any]:
        return {"ok": True, "models": await self.models()}
