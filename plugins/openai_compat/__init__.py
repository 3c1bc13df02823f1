"""Backends that speak the OpenAI chat-completions API: `openai` (any server)
and `embedded` (llama.cpp's server started in-process)."""

from __future__ import annotations

import nerbench

from .client import OpenAIBackend
from .embedded import EmbeddedBackend


@nerbench.hookimpl
def register_backends(register):
    register("openai", OpenAIBackend)
    register("embedded", EmbeddedBackend)
