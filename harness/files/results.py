"""The results JSON interchange format: every number of a run with its
provenance; leaderboards render from it alone (docs/formats.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nerbench.errors import NerbenchError


def read_results(path: Path) -> dict[str, Any]:
    """A results document, or a one-line error naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NerbenchError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def write_results(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
