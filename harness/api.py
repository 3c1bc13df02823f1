"""nerbench's public API: everything a plugin (or a script) may import.

Plugins import this module and nothing else of nerbench (their tests may
use `nerbench.testing` too); the rest of the package is internal and free to
change. `docs/architecture.md` draws the line; a test keeps `plugins/`,
`examples/` and the scaffold templates on this side of it.
"""

from __future__ import annotations

from typing import Any

from nerbench import __version__
from nerbench.bases import (
    Backend,
    Combiner,
    Dataset,
    JudgedCombiner,
    Judges,
    ModelInfo,
    PromptFormat,
    Reporter,
    Student,
)
from nerbench.index.candidates import CandidateIndex, build_index, count, materialise, resolve
from nerbench.files.paths import contained
from nerbench.index.search import choose, evaluate
from nerbench.data.manifest import ManifestDataset, bundled_manifests, checked_sha256
from nerbench.data.tags import Repairs
from nerbench.errors import BackendError, NerbenchError
from nerbench.llama import PACKAGED_MODELS, LlamaServer
from nerbench.llama import start as start_llama_server
from nerbench.parse.answers import loads_tolerant
from nerbench.parse.alignment import (
    OCCURRENCE_POLICIES,
    TokenIndex,
    align_rewrite,
    ground,
    normalise,
)
from nerbench.students import STUDENT_FORMAT, StudentBackend, StudentFormat
from nerbench.prompt_templates import choose_language, fill, labels_block
from nerbench.plugin_system.hookspecs import hookimpl
from nerbench.board import Board, Row, Split, failure_rates, flat_row, slug
from nerbench.board import build as build_board
from nerbench.score.bootstrap import f1_interval, paired_p_value
from nerbench.score.prf import prf
from nerbench.redaction import redact, register_secret
from nerbench.score.taxonomy import classify
from nerbench.records import (
    STATUS_OK,
    STATUS_TRUNCATED,
    STATUS_UNPARSEABLE,
    Failure,
    Example,
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


def lookup(kind: str, name: str) -> Any:
    """What a plugin registered as `name` ("backends", "datasets",
    "prompt_formats", "combiners", "reporters", "students"), or a one-line
    error suggesting close names."""
    from nerbench.plugin_system.manager import get_registry

    return get_registry().get(kind, name)


__all__ = [
    "OCCURRENCE_POLICIES",
    "PACKAGED_MODELS",
    "STATUS_OK",
    "STUDENT_FORMAT",
    "STATUS_TRUNCATED",
    "STATUS_UNPARSEABLE",
    "Backend",
    "BackendError",
    "Board",
    "CandidateIndex",
    "Combiner",
    "Dataset",
    "Example",
    "Failure",
    "Generation",
    "JudgedCombiner",
    "Judges",
    "Label",
    "LlamaServer",
    "ManifestDataset",
    "ModelInfo",
    "NerbenchError",
    "ParseResult",
    "Prediction",
    "Prompt",
    "PromptFormat",
    "Repairs",
    "Reporter",
    "Request",
    "Row",
    "Sentence",
    "Span",
    "Split",
    "Student",
    "StudentBackend",
    "StudentFormat",
    "Token",
    "TokenIndex",
    "__version__",
    "align_rewrite",
    "build_board",
    "build_index",
    "bundled_manifests",
    "checked_sha256",
    "choose",
    "choose_language",
    "classify",
    "contained",
    "count",
    "evaluate",
    "f1_interval",
    "failure_rates",
    "fill",
    "flat_row",
    "ground",
    "hookimpl",
    "labels_block",
    "loads_tolerant",
    "lookup",
    "materialise",
    "normalise",
    "paired_p_value",
    "prf",
    "redact",
    "register_secret",
    "resolve",
    "slug",
    "start_llama_server",
]
