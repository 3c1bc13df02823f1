"""Long async work that SIGTERM stops as Ctrl-C does: the work is cancelled
where it waits (requests in flight are abandoned, every completion received
is already in the cache) and `Terminated` is raised once the event loop has
wound down, instead of an exception landing in whatever callback was running."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from nerbench.errors import Terminated

T = TypeVar("T")


async def _cancelled_by_sigterm(work: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    previous = signal.getsignal(signal.SIGTERM)
    terminated: list[bool] = []

    def on_sigterm() -> None:
        terminated.append(True)
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no signals here
        return await work
    try:
        return await work
    except asyncio.CancelledError:
        if terminated:
            raise Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)  # asyncio leaves the default (kill) behind


def run(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)`, stopped by SIGTERM as by Ctrl-C."""
    return asyncio.run(_cancelled_by_sigterm(work))
