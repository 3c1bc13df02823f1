"""Backends that speak the OpenAI chat-completions API: `openai` (any server),
`llamacpp` (a llama.cpp server, read through /props too), `vllm`, and
`embedded` (llama.cpp's server started in-process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerbench import api

from .client import OpenAIBackend
from .embedded import EmbeddedBackend
from .llamacpp import LlamaCppBackend
from .vllm import VllmBackend


@api.hookimpl
def register_backends(register: Callable[[str, Any], None]) -> None:
    register("openai", OpenAIBackend)
    register("llamacpp", LlamaCppBackend)
    register("vllm", VllmBackend)
    register("embedded", EmbeddedBackend)
