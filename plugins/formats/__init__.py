"""Prompt formats: json, json-grouped, inline-xml, inline-bracket, per-type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerbench import api

from .inline import InlineBracketFormat, InlineXmlFormat, PerTypeFormat
from .json_formats import JsonFormat, JsonGroupedFormat


@api.hookimpl
def register_prompt_formats(register: Callable[[str, Any], None]) -> None:
    register("json", JsonFormat)
    register("json-grouped", JsonGroupedFormat)
    register("inline-xml", InlineXmlFormat)
    register("inline-bracket", InlineBracketFormat)
    register("per-type", PerTypeFormat)
