"""nerbench: benchmark zero-shot NER by local LLMs and ensembles of them.

Plugin authors: import `nerbench.api` (the whole public API) and, in tests,
`nerbench.testing`. Everything else in the package is internal.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nerbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
