"""Files written whole or not at all: a full disk leaves the old file (or
none) and no temporary behind, and says so in one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from nerbench.errors import NerbenchError


@contextmanager
def atomic_write(path: Path) -> Iterator[TextIO]:
    """A text handle whose content replaces `path` once the block ends; on an
    OS error (no space, no permission) the temporary file is removed and a
    one-line `NerbenchError` names the file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            yield out
        os.replace(tmp, path)
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink(missing_ok=True)
