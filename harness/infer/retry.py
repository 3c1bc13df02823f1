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
) -> T:
    """Await `call()`, retrying a transient `BackendError` up to `attempts` times
    in all with jittered, capped exponential delays; permanent errors at once."""
    for attempt in range(attempts):
        try:
            return await call()
        except BackendError as exc:
            if not exc.transient or attempt == attempts - 1:
                raise
            delay = min(max_delay, base_delay * 2**attempt)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
    raise AssertionError("unreachable")  # pragma: no cover
