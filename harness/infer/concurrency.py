"""How many requests nerbench keeps in flight on one endpoint.

A fixed number where it is known: the config's `concurrency`, or what the
server says it serves at once (llama.cpp's slots, the embedded server's
`n_parallel`). Where nerbench cannot read it — an OpenAI-compatible server,
vLLM, Ollama — the limit is found while the run goes (`Controller`): start
low and double while throughput keeps up with the doubling (slow start);
then hold the best level and probe a step up or down now and then, keeping
a step only when it paid: up when throughput rose, down when it did not fall
(by Little's law, in flight = throughput × latency, so more in flight
without more throughput is latency climbing for nothing). A 429/503 halves
the limit at once, and a server that reports requests waiting in its own
queue (vLLM's /metrics) caps it at what it is serving.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from nerbench.bases import Backend
from nerbench.config.settings import DEFAULT_MAX_CONCURRENCY
from nerbench.errors import BackendError

T = TypeVar("T")

#: Failures by which a server says it has more than it can take.
OVERLOAD_CAUSES = frozenset({"http_429", "http_503"})
#: How many of an adaptive limit's last changes its report keeps.
REPORTED_CHANGES = 32


@dataclass(frozen=True)
class Measure:
    """One measurement window at one limit."""

    limit: int
    throughput: float  # completions per second
    latency: float  # median seconds per completion
    error: float = 0.0  # the throughput's relative standard error (answers vary in length)


class Controller:
    """The control law, apart from asyncio so that tests drive it on a virtual
    clock: `sent` puts a request into the current window (a cohort), its
    `answered` or `failed` takes it out, and when the whole cohort is back the
    window's measure goes to `decide`, which sets `limit`.

    A window is the requests sent after the limit changed and one round
    (`limit` requests) settled the new level: `start_samples` or `limit` of
    them in slow start, else `min_samples` or `rounds` × `limit`. Waiting for
    every one keeps slow answers in; throughput is `limit` / their mean
    latency (Little's law, robust where answers arrive in bursts). A window
    counts only when requests were waiting for the limit — a run's tail, with
    fewer requests than slots, says nothing about the server.

    A step pays when throughput changed by at least `gain` times the step's
    relative size (0.25: doubling must bring +25%, a step of 1/8 up +3.1%, and
    a step down may cost at most that) and, upwards, by more than the noise
    (one standard error of the difference in slow start, where a level that
    did not pay is measured once more before slow start ends; two after).
    Steps up that pay in a row grow (×2 each, at most a doubling), and are at
    least large enough to show above the noise; a probe that did not pay is
    tried again after twice as many windows as last time (at most
    `max_wait`), so a settled limit costs less and less probing.
    """

    def __init__(self, start: int = 1, minimum: int = 1, maximum: int = DEFAULT_MAX_CONCURRENCY, *,
                 gain: float = 0.25, step: float = 0.125, rounds: int = 2, min_samples: int = 24,
                 start_samples: int = 4, max_wait: int = 32) -> None:
        self.minimum, self.maximum = minimum, max(minimum, maximum)
        self.limit = min(max(start, minimum), self.maximum)
        self.gain, self.step, self.rounds, self.max_wait = gain, step, rounds, max_wait
        self.min_samples, self.start_samples = min_samples, start_samples
        self.slow_start = True
        self.previous: Measure | None = None  # slow start: the last level that paid
        self._doubt: Measure | None = None  # slow start: a first window at this level that did not pay
        self.reference: Measure | None = None  # steady: the level held
        self.wait = {+1: 1, -1: 1}
        self.direction = +1
        self.streak = 0  # steps that paid in a row, in `direction`
        self.held = 0  # windows at the reference level since the last probe
        self.changes: list[tuple[float, int]] = []
        self.windows = 0
        self.overloads = 0
        self._cohort = self._windows_opened = self._skip = 0
        self._changed = False
        self._filling = False
        self._sent = self._out = self._waited = 0
        self._latencies: list[float] = []
        self._next_window()

    def sent(self) -> int | None:
        """A request goes out: the window (cohort) it belongs to, if any."""
        if self._skip:
            self._skip -= 1  # the first round after a change fills the new level: not its steady state yet
            return None
        if self._filling:
            self._sent += 1
            self._out += 1
            if self._sent >= (max(self.start_samples, self.limit) if self.slow_start
                              else max(self.min_samples, self.rounds * self.limit)):
                self._filling = False
            return self._cohort
        return None

    def answered(self, cohort: int | None, latency: float, waiting: bool) -> Measure | None:
        """The request sent into `cohort` was answered after `latency`
        seconds (`waiting`: others were queued for the limit then). Returns the
        window's measure once every request of the window is back; then call
        `decide`."""
        if cohort != self._cohort:
            return None
        self._latencies.append(latency)
        self._waited += waiting
        return self._back()

    def failed(self, cohort: int | None) -> Measure | None:
        """The request sent into `cohort` failed: it measures nothing."""
        return self._back() if cohort == self._cohort else None

    def _back(self) -> Measure | None:
        self._out -= 1
        if self._filling or self._out:
            return None
        n = len(self._latencies)
        mean = statistics.fmean(self._latencies) if n else 0.0
        if self._waited * 2 < n or mean <= 0:
            self._next_window()  # the limit did not bind (a run's tail): no evidence either way
            return None
        self._cohort = -1  # nothing counts until `decide`
        error = statistics.pstdev(self._latencies) / mean / n ** 0.5
        return Measure(self.limit, self.limit / mean, statistics.median(self._latencies), error)

    def _next_window(self) -> None:
        self._skip, self._changed = (self.limit if self._changed else 0), False
        self._windows_opened += 1
        self._cohort = self._windows_opened
        self._filling, self._sent, self._out, self._latencies, self._waited = True, 0, 0, [], 0

    def _set(self, limit: int, now: float) -> None:
        limit = min(max(limit, self.minimum), self.maximum)
        if limit != self.limit:
            self.limit = limit
            self.changes.append((now, limit))
            self._changed = True

    def _paid(self, measure: Measure, against: Measure, sigmas: float = 2.0) -> bool:
        """Whether moving from `against` to `measure` was worth it: a step up
        must also beat `sigmas` standard errors of the difference."""
        size = measure.limit / against.limit - 1
        change = measure.throughput / against.throughput - 1
        if size > 0:
            return change >= max(self.gain * size, sigmas * _combined(measure, against))
        return -change < self.gain * -size  # a step down that cost (almost) nothing

    def decide(self, measure: Measure, now: float, queued: int | None = None) -> None:
        """Set the limit after a full window (`queued`: requests the server
        says are waiting in its own queue, where it says so)."""
        self.windows += 1
        if queued:
            # The server queues: it serves `limit - queued` at once; hold that.
            self.slow_start = False
            self.reference, self.held, self.streak, self.direction = None, 0, 0, -1
            self.wait[+1] = min(2 * self.wait[+1], self.max_wait)
            self._set(measure.limit - queued, now)
        elif self.slow_start:
            self._slow_start(measure, now)
        else:
            self._steady(measure, now)
        self._next_window()

    def _slow_start(self, measure: Measure, now: float) -> None:
        if self.previous is None or self._paid(measure, self.previous, sigmas=1.0):
            self.previous, self._doubt = measure, None
            if self.limit < self.maximum:
                self._set(2 * self.limit, now)
                return
            self.reference = measure
        elif self._doubt is None:
            self._doubt = measure  # one window can mislead: measure this level once more
            return
        else:
            self.reference = self.previous
            self._set(self.previous.limit, now)
        self.slow_start = False

    def _steady(self, measure: Measure, now: float) -> None:
        reference = self.reference
        if reference is None or measure.limit == reference.limit:
            if reference is not None:
                # Held again: average the reference's windows (answers vary in length).
                measure = Measure(measure.limit, (measure.throughput + reference.throughput) / 2,
                                  (measure.latency + reference.latency) / 2,
                                  (measure.error ** 2 + reference.error ** 2) ** 0.5 / 2)
            self.reference = measure
            self.held += 1
            if self._bound(self.direction):
                self.direction, self.streak = -self.direction, 0  # at a bound: look the other way
            if not self._bound(self.direction) and self.held >= self.wait[self.direction]:
                self._probe(now)
            return
        direction = +1 if measure.limit > reference.limit else -1
        self.held = 0
        if self._paid(measure, reference):
            self.reference = measure
            self.streak = self.streak + 1 if direction == self.direction else 1
            self.wait[direction], self.wait[-direction] = 0, 1  # keep going the way that paid
            self.direction = direction
            self._probe(now)
        else:
            self.wait[direction] = min(max(1, 2 * self.wait[direction]), self.max_wait)
            self.direction, self.streak = -direction, 0
            self._set(reference.limit, now)

    def _bound(self, direction: int) -> bool:
        """Whether the level held is at the bound that way."""
        assert self.reference is not None
        return self.reference.limit >= self.maximum if direction > 0 else self.reference.limit <= self.minimum

    def _probe(self, now: float) -> None:
        assert self.reference is not None
        held = self.reference.limit
        if self._bound(self.direction):
            self.direction, self.streak = -self.direction, 0
            if self._bound(self.direction):
                return  # minimum == maximum
        size = self.step * 2 ** self.streak
        if self.direction > 0:
            # Big enough that a server with room shows it above the noise (at most a doubling).
            size = min(1.0, max(size, 4 * _combined(self.reference, self.reference)))
        step = max(1, round(held * min(size, 1.0 if self.direction > 0 else 0.5)))
        self.held = 0
        self._set(held + self.direction * step, now)

    def overloaded(self, now: float, sent: float) -> None:
        """The server answered a request sent at `sent` with 429/503: halve
        the limit — once: answers to requests sent before the last change
        speak of the old level — and climb back slowly."""
        if self.changes and sent < self.changes[-1][0]:
            return
        self.overloads += 1
        self.slow_start = False
        self.reference, self.held, self.streak, self.direction = None, 0, 0, +1
        self.wait[+1] = min(max(2, 2 * self.wait[+1]), self.max_wait)
        self._set(self.limit // 2, now)
        self._next_window()


def _combined(a: Measure, b: Measure) -> float:
    """The standard error of the relative difference of two measures."""
    return (a.error ** 2 + b.error ** 2) ** 0.5


class FixedCap(asyncio.Semaphore):
    """`limit` requests in flight, no more."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    async def observe(self, call: Awaitable[T]) -> T:
        return await call

    def report(self) -> dict[str, Any]:
        return {"mode": "fixed", "limit": self.limit}


class AdaptiveCap:
    """An async context manager like a semaphore whose size a `Controller`
    sets; `observe(call)` times one request (every attempt, retries too) and
    reads overload signals from its failure. `queued()`, where given, asks the
    server how many requests wait in its own queue (once per window)."""

    def __init__(self, controller: Controller, queued: Callable[[], Awaitable[int | None]] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.controller = controller
        self.queued = queued
        self.clock = clock
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._started = clock()

    @property
    def limit(self) -> int:
        return self.controller.limit

    async def __aenter__(self) -> AdaptiveCap:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # the slot is handed over by `_wake`
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()
            else:
                self._waiters.remove(waiter)
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._release()

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    async def observe(self, call: Awaitable[T]) -> T:
        cohort = self.controller.sent()
        started = self.clock()
        try:
            result = await call
        except BaseException as exc:
            if isinstance(exc, BackendError) and exc.cause in OVERLOAD_CAUSES:
                self.controller.overloaded(self.clock() - self._started, started - self._started)
            self._decide(self.controller.failed(cohort), None)
            raise
        measure = self.controller.answered(cohort, self.clock() - started, bool(self._waiters))
        if measure is not None:
            queued = None
            if self.queued is not None:
                try:
                    queued = await self.queued()
                except BackendError:
                    pass  # a hint: without it the limit is set from throughput alone
            self._decide(measure, queued)
        return result

    def _decide(self, measure: Measure | None, queued: int | None) -> None:
        if measure is not None:
            self.controller.decide(measure, self.clock() - self._started, queued)
            self._wake()

    def report(self) -> dict[str, Any]:
        c = self.controller
        return {"mode": "adaptive", "limit": c.limit, "bounds": [c.minimum, c.maximum], "windows": c.windows,
                "overloads": c.overloads, "changes": len(c.changes),
                # (seconds since the start, limit) of the last changes: how it found the level
                "last_changes": [[round(t, 3), n] for t, n in c.changes[-REPORTED_CHANGES:]]}


#: What caps the requests in flight to one endpoint (not a sentence `limit`).
InFlightCap = FixedCap | AdaptiveCap


def bound(backend: Backend) -> int:
    """The most requests `backend` may ever have in flight."""
    if backend.adaptive:
        return int(backend.options.get("max_concurrency", DEFAULT_MAX_CONCURRENCY))
    return backend.concurrency


def make_cap(backend: Backend) -> InFlightCap:
    """The in-flight cap of one endpoint: adaptive where `backend.adaptive`, starting
    at its concurrency (the kind's default) — else fixed at it."""
    if not backend.adaptive:
        return FixedCap(backend.concurrency)
    return AdaptiveCap(Controller(start=backend.concurrency, maximum=bound(backend)), backend.queued)
