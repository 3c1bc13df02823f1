"""The circuit breaker of one endpoint: a server that gives no usable answer
stops being asked, at once, instead of every queued request retrying against it.

Closed (the normal state), it counts requests in a row that got no answer,
whatever the cause: the endpoint unreachable (connection, timeout), an HTTP
error, an answer that is not an answer. At `threshold` it opens: requests
are refused without being sent (counted as `circuit_open`), so a run against
a dead or broken server gives up after a bounded number of requests, not one
per sentence. A refusal that only concerns its own request (HTTP 400, 413,
422: this prompt is too long, say) counts too, but opens the breaker only
after `REQUEST_SPECIFIC_FACTOR` × `threshold` of them in a row: a few long
sentences in a row must not stop a healthy server, while a server that
refuses everything still stops being asked. Open, it lets one request per
model through as a probe when that model's turn comes (one attempt, no
retries): the requests of later models are not refused for a fault seen by
an earlier one. A probe that gets an answer closes the breaker; the model's
other requests wait for the probe's verdict.
"""

from __future__ import annotations

import asyncio

from nerbench.redaction import notice

#: The cause a refused request is counted under.
CIRCUIT_OPEN = "circuit_open"
#: Failure causes about the one request, not the endpoint.
REQUEST_SPECIFIC = frozenset({"http_400", "http_413", "http_422"})
REQUEST_SPECIFIC_FACTOR = 10

SEND, PROBE, REFUSE = "send", "probe", "refuse"


class Breaker:
    def __init__(self, endpoint: str, threshold: int) -> None:
        self.endpoint = endpoint
        self.threshold = threshold
        self.failed = 0  # requests in a row that got no answer
        self.endpoint_wide = 0  # of those, the ones whose cause is not REQUEST_SPECIFIC
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
        if cause is None:
            self.failed = self.endpoint_wide = 0
            if self.is_open:
                self.why = None
                notice(f"{self.endpoint} answers again; its requests are sent again.")
            return
        self.failed += 1
        self.endpoint_wide += cause not in REQUEST_SPECIFIC
        if self.is_open:
            self.why = message or cause
        elif (self.failed >= self.threshold and self.endpoint_wide) or \
                self.failed >= REQUEST_SPECIFIC_FACTOR * self.threshold:
            self.why = message or cause
            self.opened += 1
            self._probed = {model}  # its model just proved the point: no probe for it
            notice(f"{self.endpoint}: {self.failed} requests in a row got no answer ({self.why}); its "
                   "remaining requests are not sent. Run the same command again to resume once it is back.")

    def probe_done(self) -> None:
        """Wake the requests waiting for a probe's verdict (call it whatever
        happened to the probe, cancellation included)."""
        if self._probe is not None:
            self._probe.set_result(None)
            self._probe = None
