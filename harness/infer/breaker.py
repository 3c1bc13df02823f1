"""The circuit breaker of one endpoint: a server that stops answering stops
being asked, at once, instead of every queued request retrying against it.

Closed (the normal state), it counts requests in a row that could not reach
the endpoint (every attempt failed on the connection or timed out); any
other outcome, an HTTP error included, proves the server is there and resets
the count. At `threshold` it opens: requests are refused without being sent
(counted as `circuit_open`). Open, it lets one request per model through as
a probe when that model's turn comes (one attempt, no retries): the requests
of later models are not refused for a fault seen by an earlier one. A probe
that reaches the server closes the breaker; the model's other requests wait
for the probe's verdict.
"""

from __future__ import annotations

import asyncio

from nerbench.redaction import notice

#: Failure causes that mean the endpoint could not be reached.
UNREACHABLE = frozenset({"connection", "timeout"})
#: The cause a refused request is counted under.
CIRCUIT_OPEN = "circuit_open"

SEND, PROBE, REFUSE = "send", "probe", "refuse"


class Breaker:
    def __init__(self, endpoint: str, threshold: int) -> None:
        self.endpoint = endpoint
        self.threshold = threshold
        self.unreachable = 0  # requests in a row that could not reach the endpoint
        self.why: str | None = None  # the last failure, while open
        self.opened = 0  # times it opened in this run
        self._probed: set[str] = set()  # models that had their probe since it opened
        self._probe: asyncio.Future[None] | None = None

    @property
    def is_open(self) -> bool:
        return self.why is not None

    def refusal(self) -> str:
        return (f"not sent: {self.endpoint} stopped answering ({self.why}); "
                "run the same command again to resume once it is back")

    async def admit(self, model: str) -> str:
        """SEND (closed), PROBE (the one request that tries an open
        endpoint for `model`) or REFUSE."""
        while self.is_open:
            if self._probe is not None:
                await asyncio.shield(self._probe)
                continue
            if model in self._probed:
                return REFUSE
            self._probed.add(model)
            self._probe = asyncio.get_running_loop().create_future()
            return PROBE
        return SEND

    def record(self, model: str, cause: str | None, message: str = "") -> None:
        """The outcome of an admitted request for `model`: `cause` None when
        it was answered, else the cause of its final failure."""
        if cause in UNREACHABLE:
            self.unreachable += 1
            if self.is_open:
                self.why = message or cause
            elif self.unreachable >= self.threshold:
                self.why = message or cause
                self.opened += 1
                self._probed = {model}  # its model just proved the point: no probe for it
                notice(f"{self.endpoint}: {self.unreachable} requests in a row could not reach it "
                       f"({self.why}); its remaining requests are not sent. Run the same command again "
                       "to resume once it is back.")
        else:
            self.unreachable = 0
            if self.is_open:
                self.why = None
                notice(f"{self.endpoint} answers again; its requests are sent again.")

    def probe_done(self) -> None:
        """Wake the requests waiting for a probe's verdict (call it whatever
        happened to the probe, cancellation included)."""
        if self._probe is not None:
            self._probe.set_result(None)
            self._probe = None
