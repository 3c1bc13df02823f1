"""The checks every benchmark's `--smoke` mode ends with: a few seconds on a
tiny input through the same code as the real measurement, exiting non-zero
(naming what broke) when a number is not what a working run gives — so a
benchmark that no longer runs against the current API fails CI instead of
rotting until someone needs it."""

from __future__ import annotations

import math
from typing import Any


def check(ok: bool, what: str) -> None:
    """`assert`, except that it survives `python -O`."""
    if not ok:
        raise SystemExit(f"smoke check failed: {what}")


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def positive(x: Any) -> bool:
    return finite(x) and x > 0
