"""Prompt templates in the dataset's language, shared by every prompt format
and judge: the label list, placeholders filled with one-line errors, and
`*_template` options that name a file."""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError
from nerbench.files.paths import contained
from nerbench.files.text import read_text
from nerbench.records import Label

TEMPLATE_SUFFIX = "_template"


def choose_language(language: str, available: Mapping[str, Any]) -> str:
    """The template language for a dataset: exact, then base language, then English."""
    for key in (language, language.split("-")[0], "en"):
        if key in available:
            return key
    return next(iter(available))


def labels_block(labels: Sequence[Label], language: str) -> str:
    return "\n".join(f"- {label.name}: {label.description(language)}" for label in labels)


@functools.lru_cache(maxsize=256)
def placeholders(template: str) -> frozenset[str]:
    # Cached: a run fills the same few templates for every sentence.
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def fill(template: str, where: str, **values: Any) -> str:
    """`str.format` with a one-line error naming the template on a bad placeholder."""
    unknown = sorted(placeholders(template) - set(values))
    if unknown:
        raise NerbenchError(
            f"{where}: unknown placeholder {{{unknown[0]}}}; available: "
            + ", ".join("{" + k + "}" for k in sorted(values))
        )
    return template.format(**values)


def load_templates(options: dict[str, Any], base: Path) -> dict[str, Any]:
    """Replace `*_template = "file"` options with the file's text, so the text
    (not the path) is what reaches the format, the request and the cache key."""
    out = dict(options)
    for key, value in options.items():
        if key.endswith(TEMPLATE_SUFFIX):
            try:
                out[key] = read_text(contained(base, str(value), f"format option {key}"), "template")
            except NerbenchError as exc:
                raise NerbenchError(f"format option {key}: {exc}") from None
    return out
