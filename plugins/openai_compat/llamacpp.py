"""llama.cpp's own server (`llama-server`): OpenAI chat completions with
`response_format` json_schema or a GBNF `grammar`, plus what only llama.cpp
tells: `/props`."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import PurePath
from typing import Any, ClassVar

from nerbench import api
from nerbench.api import BackendError, NerbenchError, Request

from .client import CACHE_PROMPT, OpenAIBackend, prompt_cache


class LlamaCppBackend(OpenAIBackend):
    """Options as `openai`, plus `grammar`: a GBNF file (relative to the
    config) sent with every request instead of the prompt format's JSON
    Schema — it constrains every answer, so pair it with formats whose answers
    it describes; and `cache_prompt` (default true, the server's own): false
    makes the server recompute every prompt instead of reusing a cached
    prefix — answers that do not depend on the cache's state (with one
    request in flight) for about 3.7x the prompt tokens judges evaluate
    (docs/racing.md). Concurrency defaults to the server's slots (`/props`
    total_slots); server build, slots and per-slot context size are recorded
    with the model's provenance."""

    OPTIONS: ClassVar[dict[str, Any]] = {**OpenAIBackend.OPTIONS, "grammar": {"type": "string", "minLength": 1},
                                         "cache_prompt": CACHE_PROMPT}
    known_capacity = True  # its slots, from /props

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._props: dict[str, Any] | None = None

    def check_model(self, model: str) -> None:
        # Offline, when the config loads (and in --dry-run): a grammar that cannot be read is found here.
        super().check_model(model)
        _ = self.grammar

    @cached_property
    def grammar(self) -> str | None:
        if not self.options.get("grammar"):
            return None
        # The grammar's text joins every request: a config from a stranger must not read any file it names.
        path = api.contained(self.base_dir, str(self.options["grammar"]), f"backend {self.name!r}: option grammar")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NerbenchError(f"backend {self.name!r}: option grammar: cannot read {path}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None

    @cached_property
    def _answer_options(self) -> dict[str, Any]:
        grammar = self.grammar
        return {**({"grammar_sha256": hashlib.sha256(grammar.encode()).hexdigest()} if grammar else {}),
                **prompt_cache(self.options)}

    def answer_options(self) -> dict[str, Any]:
        return self._answer_options  # part of every request's cache key: hashed once

    def payload(self, request: Request) -> dict[str, Any]:
        body = super().payload(request)
        if self.grammar:
            # llama.cpp refuses a grammar and a schema together.
            body.pop("response_format", None)
            body["grammar"] = self.grammar
        return body

    async def props(self) -> dict[str, Any]:
        if self._props is None:
            try:
                self._props = await self._get("/props")
            except BackendError as exc:
                raise BackendError(f"backend {self.name!r}: {self.base_url}/props: {exc}",
                                   transient=exc.transient, cause=exc.cause) from None
        return self._props

    async def start(self) -> None:
        await super().start()
        self.answer_options()  # reads the grammar: a missing file fails before any request
        await self.props()

    @property
    def default_concurrency(self) -> int:  # type: ignore[override]
        slots = (self._props or {}).get("total_slots")
        return slots if type(slots) is int and slots > 0 else 1

    async def describe(self, model: str) -> dict[str, Any]:
        info = await super().describe(model)
        props = await self.props()
        settings = props.get("default_generation_settings")
        settings = settings if isinstance(settings, dict) else {}
        info.update(
            server="llama.cpp",
            server_build=props.get("build_info"),
            slots=props.get("total_slots"),
            slot_context=settings.get("n_ctx"),
            file=PurePath(props["model_path"]).name if isinstance(props.get("model_path"), str) else None,
        )
        if self.grammar:
            info["grammar"] = {"file": str(self.options["grammar"]), **self.answer_options()}
        return info

    async def health(self) -> dict[str, Any]:
        status = await self._get("/health")
        return {"ok": status.get("status") == "ok", **await super().health()}
