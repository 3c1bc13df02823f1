"""Capped exponential backoff for transient backend failures."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nerbench.errors import BackendError

T = TypeVar("T")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    on_retry: Callable[[BackendError], bool] | None = None,
) -> T:
    """Await `call()`, retrying a transient `BackendError` up to `attempts` times
    in all with jittered, capped exponential delays; permanent errors at once.
    `on_retry(error)` is told of each failure about to be retried, and may
    veto the retry by returning False (the error is then raised)."""
    for attempt in range(attempts):
        try:
            return await call()
        except BackendError as exc:
            if not exc.transient or attempt == attempts - 1:
                raise
            if on_retry is not None and not on_retry(exc):
                raise
            delay = min(max_delay, base_delay * 2**attempt)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
    raise AssertionError("unreachable")  # pragma: no cover
