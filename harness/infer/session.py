"""A model session: the one way a command talks to models. It opens the
prediction cache, makes the configured backends, starts them in a `Runner`
for a plan, runs the command's work with Ctrl-C and SIGTERM stopping it
where it waits, and closes everything — `nerbench run`, `nerbench annotate`
and any later command that asks models go through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from nerbench.config.settings import RunConfig
from nerbench.infer import interrupt
from nerbench.infer.backends import make_backends
from nerbench.infer.cache import PredictionCache
from nerbench.infer.runner import Runner
from nerbench.plan.matrix import Plan
from nerbench.plugin_system.manager import Registry

T = TypeVar("T")


def model_session(config: RunConfig, plan: Plan, registry: Registry, cache_path: Path,
                  work: Callable[[Runner], Awaitable[T]], progress: bool = True,
                  desc: str = "nerbench run") -> T:
    """`work(runner)` with the backends of `config` up for `plan`; every
    completion is cached the moment it arrives, so after an interruption
    (KeyboardInterrupt, `Terminated`) the same command resumes."""
    cache = PredictionCache(cache_path)

    async def session() -> T:
        async with Runner(plan, make_backends(config, registry), config, cache, progress, desc=desc) as runner:
            return await work(runner)

    try:
        return interrupt.run(session())
    finally:
        cache.close()
