"""Files written whole or not at all: a full disk leaves the old file (or
none) and no temporary behind, and says so in one line."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from nerbench.errors import NerbenchError


@contextmanager
def atomic_write(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle (text, or bytes when `binary`) whose content replaces `path`
    once the block ends. The temporary file beside it has a name of its own,
    so two processes never write into one. Whatever ends the block early —
    an OS error (no space, no permission; then a one-line `NerbenchError`
    names the file) or an error the block raises (a checksum that does not
    match) — the temporary file is removed and `path` is left as it was."""
    path = Path(path)
    try:
        # A missing parent folder is made, as `leaderboard -o` makes its own: never a traceback.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
        os.replace(tmp, path)
    except OSError as exc:
        raise NerbenchError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
