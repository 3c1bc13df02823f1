"""An output folder belongs to one job: a run's folder (results.json) is not
an annotation's (annotation.json), and two commands never write into one
folder at once (an advisory lock held while the command works)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nerbench.errors import NerbenchError

#: what marks a folder as the output of each kind of job
MARKERS = {"run": "results.json", "annotation": "annotation.json"}


def check_kind(folder: Path, kind: str) -> None:
    """Refuse a folder that holds another kind of job's output."""
    for other, marker in MARKERS.items():
        if other != kind and (folder / marker).is_file() and not (folder / MARKERS[kind]).is_file():
            raise NerbenchError(f"{folder}: holds the output of another kind of job ({marker}: {other}), "
                                f"not of this {kind}; give another -o or remove it")


@contextmanager
def owned_folder(folder: Path, kind: str) -> Iterator[Path]:
    """`folder` as the output of one `kind` job ("run" or "annotation"):
    refused when it holds another kind's output or another command is
    writing into it; made if missing (and removed again, still empty, when
    the job fails); locked until the block ends."""
    check_kind(folder, kind)
    made = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # the folder itself is locked: no lock file is left in what a user publishes
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise NerbenchError(f"{folder}: cannot create the output directory: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NerbenchError(f"{folder}: another nerbench command is writing into it; wait for it to end or "
                                "give another -o") from None
        yield folder
    except BaseException:
        if made and not any(folder.iterdir()):
            folder.rmdir()
        raise
    finally:
        os.close(fd)
