"""nerbench: benchmark zero-shot NER by local LLMs and ensembles of them.

The public API for plugin authors: the abstract bases, the data types, the
`hookimpl` marker, errors, and the helpers a plugin needs (grounding, retries,
manifest datasets).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nerbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

from .alignment import NormalisedText, TokenIndex, ground, normalise
from .bases import Backend, Combiner, Dataset, PromptFormat, Reporter
from .datasets import ManifestDataset, bundled_manifests, checked_sha256, sha256_file
from .errors import BackendError, NerbenchError, UnknownNameError
from .hookspecs import hookimpl
from .retry import with_retries
from .types import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_TRUNCATED,
    STATUS_UNPARSEABLE,
    STATUSES,
    Generation,
    Label,
    ParseResult,
    Prediction,
    Prompt,
    Request,
    Sentence,
    Span,
    Token,
)

__all__ = [
    "__version__",
    "Backend",
    "BackendError",
    "Combiner",
    "Dataset",
    "Generation",
    "Label",
    "ManifestDataset",
    "NerbenchError",
    "NormalisedText",
    "ParseResult",
    "Prediction",
    "Prompt",
    "PromptFormat",
    "Reporter",
    "Request",
    "STATUSES",
    "STATUS_ERROR",
    "STATUS_OK",
    "STATUS_TRUNCATED",
    "STATUS_UNPARSEABLE",
    "Sentence",
    "Span",
    "Token",
    "TokenIndex",
    "UnknownNameError",
    "bundled_manifests",
    "checked_sha256",
    "ground",
    "hookimpl",
    "normalise",
    "sha256_file",
    "with_retries",
]
