"""Backends that speak the OpenAI chat-completions API: `openai` (any server),
`llamacpp` (a llama.cpp server, read through /props too) and `embedded`
(llama.cpp's server started in-process)."""

from __future__ import annotations

import nerbench

from .client import OpenAIBackend
from .embedded import EmbeddedBackend
from .llamacpp import LlamaCppBackend


@nerbench.hookimpl
def register_backends(register):
    register("openai", OpenAIBackend)
    register("llamacpp", LlamaCppBackend)
    register("embedded", EmbeddedBackend)
