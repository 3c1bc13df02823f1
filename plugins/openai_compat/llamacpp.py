"""llama.cpp's own server (`llama-server`): OpenAI chat completions with
`response_format` json_schema, plus what only llama.cpp tells: `/props`."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from nerbench import BackendError

from .client import OpenAIBackend


class LlamaCppBackend(OpenAIBackend):
    """Options as `openai`. Concurrency defaults to the server's slots
    (`/props` total_slots); server build, slots and per-slot context size are
    recorded with the model's provenance."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._props: dict[str, Any] | None = None

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
        await self.props()

    @property
    def default_concurrency(self) -> int:  # type: ignore[override]
        return int((self._props or {}).get("total_slots") or 1)

    async def describe(self, model: str) -> dict[str, Any]:
        info = await super().describe(model)
        props = await self.props()
        settings = props.get("default_generation_settings") or {}
        info.update(
            server="llama.cpp",
            server_build=props.get("build_info"),
            slots=props.get("total_slots"),
            slot_context=settings.get("n_ctx"),
            file=PurePath(props["model_path"]).name if props.get("model_path") else None,
        )
        return info

    async def health(self) -> dict[str, Any]:
        status = await self._get("/health")
        return {"ok": status.get("status") == "ok", **await super().health()}
