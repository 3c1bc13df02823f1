"""One `[[backend]]` entry served by several endpoints (`urls = [...]`).

Every replica is a backend of the entry's kind with one of the URLs; each
request goes to the replica with the most free slots, and a replica that
stops accepting connections is dropped for the rest of the run while the
others take its work. All replicas must serve the same model (same digest),
or their answers could not share one cache identity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from nerbench.bases import Backend
from nerbench.errors import BackendError, NerbenchError
from nerbench.redaction import notice
from nerbench.infer.concurrency import InFlightCap, bound, make_cap
from nerbench.records import Generation, Request


class BackendPool(Backend):
    """Replicas of one backend kind behind one name. Each replica has its own
    limit (its option, the server's report, or adapted); the pool's
    concurrency is the sum of what they may take."""

    def __init__(self, name: str, replicas: Sequence[Backend]) -> None:
        super().__init__(name, {k: v for k, v in replicas[0].options.items() if k != "url"})
        self.replicas = list(replicas)
        self.lost: dict[str, str] = {}
        self._busy = [0] * len(replicas)
        self._slots: list[InFlightCap] = []

    @property
    def endpoint(self) -> str:
        # The set, not the order: it is part of every cache key.
        return " + ".join(sorted(r.endpoint for r in self.replicas))

    @property
    def concurrency(self) -> int:
        return sum(bound(r) for r in self.replicas)

    @property
    def adaptive(self) -> bool:
        return False  # each replica adapts its own limit

    def answer_options(self) -> dict[str, Any]:
        return self.replicas[0].answer_options()

    def _live(self) -> list[int]:
        return [i for i, r in enumerate(self.replicas) if r.endpoint not in self.lost]

    async def start(self) -> None:
        failures = await asyncio.gather(*(r.start() for r in self.replicas), return_exceptions=True)
        for replica, failure in zip(self.replicas, failures):
            if isinstance(failure, BackendError) and failure.cause == "connection":
                self._drop(replica, str(failure))
            elif isinstance(failure, BaseException):
                raise failure
        if not self._live():
            raise self._all_gone()
        self._slots = [make_cap(r) for r in self.replicas]

    async def aclose(self) -> None:
        await asyncio.gather(*(r.aclose() for r in self.replicas), return_exceptions=True)

    def _drop(self, replica: Backend, why: str) -> None:
        if replica.endpoint not in self.lost:
            self.lost[replica.endpoint] = why
            notice(f"backend {self.name!r}: dropped {replica.endpoint} ({why}); the other urls take its requests")

    def readmit(self, replica: Backend) -> None:
        """Take a dropped replica back (its server answers again: an actor Ray restarted)."""
        if self.lost.pop(replica.endpoint, None) is not None:
            notice(f"backend {self.name!r}: {replica.endpoint} is back and takes requests again")

    def _all_gone(self) -> BackendError:
        return BackendError(f"backend {self.name!r}: none of its {len(self.replicas)} urls answers: "
                            + "; ".join(self.lost.values()), cause="connection")

    def _pick(self) -> int:
        live = self._live()
        if not live:
            raise self._all_gone()
        return min(live, key=lambda i: (self._busy[i] / self._slots[i].limit, self._busy[i]))

    async def generate(self, request: Request) -> Generation:
        while True:
            i = self._pick()
            self._busy[i] += 1
            try:
                async with self._slots[i]:
                    return await self._slots[i].observe(self.replicas[i].generate(request))
            except BackendError as exc:
                if exc.cause != "connection":
                    raise
                self._drop(self.replicas[i], str(exc))
            finally:
                self._busy[i] -= 1

    def limits(self) -> dict[str, dict[str, Any]]:
        """Each replica's limit as the run left it."""
        return {r.endpoint: slot.report() for r, slot in zip(self.replicas, self._slots)}

    async def _on_live(self, call: Any) -> tuple[list[Backend], list[Any]]:
        """`call(replica)` on every live replica; one that cannot be reached is
        dropped, and when none is left the error is raised."""
        live = [self.replicas[i] for i in self._live()]
        answers = await asyncio.gather(*(call(r) for r in live), return_exceptions=True)
        kept = []
        for replica, answer in zip(live, answers):
            if isinstance(answer, BackendError) and answer.cause == "connection":
                self._drop(replica, str(answer))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                kept.append((replica, answer))
        if not kept:
            raise self._all_gone()
        return [r for r, _ in kept], [a for _, a in kept]

    async def models(self) -> list[str]:
        _, served = await self._on_live(lambda r: r.models())
        return [m for m in served[0] if all(m in s for s in served[1:])]

    async def describe(self, model: str) -> dict[str, Any]:
        live, infos = await self._on_live(lambda r: r.describe(model))
        digests = {info.get("digest") for info in infos}
        if len(digests) > 1:
            seen = ", ".join(f"{r.endpoint} has {info.get('digest')}" for r, info in zip(live, infos))
            raise NerbenchError(f"backend {self.name!r}: its urls serve different {model!r}: {seen}")
        # Replicas that say where they run does not matter (in-process servers) keep that.
        shared = {info.get("endpoint_identity") for info in infos}
        info = dict(infos[0])
        info.update(endpoint=self.endpoint, replicas=[r.endpoint for r in self.replicas],
                    endpoint_identity=shared.pop() if len(shared) == 1 and None not in shared else self.endpoint)
        return info

    async def health(self) -> dict[str, Any]:
        reports = await asyncio.gather(*(r.health() for r in self.replicas), return_exceptions=True)
        per = {r.endpoint: ({"ok": False, "error": str(h)} if isinstance(h, BaseException) else h)
               for r, h in zip(self.replicas, reports)}
        return {"ok": all(h.get("ok", True) for h in per.values()), "replicas": per}
