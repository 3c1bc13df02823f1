"""Concurrency per endpoint: fixed where the server's capacity is known or the
config sets it, adapted where it is not. The control law is driven on a
virtual clock (a discrete-event simulation of a server that serves C
requests at a time and queues the rest), so these tests do not depend on
how loaded the machine is; the wall-clock comparison is
benchmarks/concurrency.py."""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import statistics
from collections import deque

import pytest

from nerbench.errors import BackendError
from nerbench.infer.concurrency import AdaptiveCap, Controller, FixedCap, Measure, make_cap
from nerbench.plugin_system.manager import get_registry
from nerbench_plugins.openai_compat.vllm import waiting_requests
from nerbench.cli import cli

from . import configs
from .conftest import write


def simulate(capacity: int, requests: int, controller: Controller | None, seed: int, sigma: float = 0.3,
             fixed: int = 0) -> tuple[float, float]:
    """Throughput and median latency of `requests` sent through `controller`
    (or `fixed` in flight) to a server serving `capacity` at once, FIFO,
    service times lognormal(0, sigma): virtual time, deterministic per seed."""
    rng = random.Random(seed)
    now, pending, out, busy, seq = 0.0, requests, 0, 0, 0
    running: list[tuple[float, int, float, int | None]] = []
    queue: deque[tuple[float, int | None]] = deque()
    latencies = []

    def serve(sent: float, cohort: int | None) -> None:
        nonlocal busy, seq
        busy += 1
        seq += 1
        heapq.heappush(running, (now + rng.lognormvariate(0, sigma), seq, sent, cohort))

    def admit() -> None:
        nonlocal pending, out
        while pending and out < (controller.limit if controller else fixed):
            pending, out = pending - 1, out + 1
            cohort = controller.sent() if controller else None
            if busy < capacity:
                serve(now, cohort)
            else:
                queue.append((now, cohort))

    admit()
    while running:
        now, _, sent, cohort = heapq.heappop(running)
        busy -= 1
        if queue:
            serve(*queue.popleft())
        latencies.append(now - sent)
        if controller:
            measure = controller.answered(cohort, now - sent, pending > 0)
            if measure:
                controller.decide(measure, now)
        out -= 1
        admit()
    return requests / now, statistics.median(latencies)


@pytest.mark.parametrize("capacity", [1, 4, 32, 128])
@pytest.mark.parametrize("seed", [0, 1])
def test_adaptive_concurrency_finds_a_servers_capacity(capacity, seed):
    requests = 500 * capacity
    best, latency = simulate(capacity, requests, None, seed, fixed=capacity)
    controller = Controller(start=1)
    adaptive, adaptive_latency = simulate(capacity, requests, controller, seed)
    assert adaptive >= 0.93 * best, (adaptive / best, controller.changes[-10:])
    assert adaptive_latency <= 1.5 * latency, (adaptive_latency / latency, controller.changes[-10:])
    assert capacity // 2 <= controller.limit <= 2 * capacity


def test_without_feedback_the_limit_stays_where_it_started():
    controller = Controller(start=3)
    assert [controller.sent() for _ in range(3)] == [1, 1, 1]
    assert controller.limit == 3 and controller.windows == 0


def test_a_window_where_the_limit_did_not_bind_decides_nothing():
    controller = Controller(start=4, minimum=1)
    cohort = [controller.sent() for _ in range(4)]
    # The run's tail: nobody waited for the limit, so these answers say nothing about the server.
    assert all(controller.answered(c, 1.0, waiting=False) is None for c in cohort)
    assert controller.limit == 4 and controller.windows == 0


def test_overload_halves_the_limit_once_per_level():
    controller = Controller(start=16)
    controller.overloaded(1.0, sent=0.5)
    assert controller.limit == 8
    controller.overloaded(1.1, sent=0.9)  # sent before the cut: it speaks of the old level
    assert controller.limit == 8
    controller.overloaded(5.0, sent=2.0)
    assert controller.limit == 4 and controller.overloads == 2


def test_a_server_that_says_it_queues_caps_the_limit_at_what_it_serves():
    controller = Controller(start=32)
    controller.decide(Measure(limit=32, throughput=10.0, latency=3.2), now=1.0, queued=12)
    assert controller.limit == 20 and not controller.slow_start


def test_vllm_waiting_requests_are_read_from_its_metrics():
    text = """# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="smollm2"} 3.0
vllm:num_requests_running{engine="0",model_name="smollm2"} 4.0
vllm:num_requests_waiting{engine="1",model_name="smollm2"} 2.0
"""
    assert waiting_requests(text) == 5
    assert waiting_requests("vllm:num_requests_running 4.0\n") is None
    assert waiting_requests("vllm:num_requests_waiting garbage\n") is None


def backend(kind: str, **options):
    cls = get_registry().get("backends", kind)
    return cls("b", {"url": "http://127.0.0.1:9", **options})


def test_which_endpoints_adapt():
    assert isinstance(make_cap(backend("openai")), AdaptiveCap)  # capacity unknown
    assert isinstance(make_cap(backend("vllm")), AdaptiveCap)
    assert isinstance(make_cap(backend("ollama")), AdaptiveCap)
    fixed = make_cap(backend("openai", concurrency=6))  # the user said: off
    assert isinstance(fixed, FixedCap) and fixed.limit == 6
    assert isinstance(make_cap(backend("embedded")), FixedCap)  # its own n_parallel
    forced = make_cap(backend("embedded", concurrency="adaptive", max_concurrency=8))
    assert isinstance(forced, AdaptiveCap) and forced.controller.maximum == 8
    assert make_cap(backend("vllm")).limit == 4  # where it starts: the kind's default


def test_the_adaptive_limit_never_lets_more_in_flight_than_it_allows():
    class Server:
        def __init__(self) -> None:
            self.in_flight = self.most = 0

        async def answer(self, limit: AdaptiveCap, seen: list[tuple[int, int]]) -> None:
            async with limit:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
                seen.append((self.in_flight, limit.limit))
                try:
                    await limit.observe(asyncio.sleep(0.001))
                finally:
                    self.in_flight -= 1

    async def run() -> tuple[Server, AdaptiveCap, list[tuple[int, int]]]:
        server, seen = Server(), []
        limit = AdaptiveCap(Controller(start=1, maximum=6, start_samples=2, min_samples=4))
        await asyncio.gather(*(server.answer(limit, seen) for _ in range(400)))
        return server, limit, seen

    server, limit, seen = asyncio.run(run())
    # A request admitted before a cut may still be out; never more than the highest limit reached.
    highest = max([1] + [n for _, n in limit.controller.changes])
    assert server.most <= highest <= 6
    assert limit.controller.windows > 0 and limit.in_flight == 0
    report = limit.report()
    assert report["mode"] == "adaptive" and report["bounds"] == [1, 6] and report["windows"] > 0


def test_an_overloaded_answer_cuts_the_limit_and_is_still_raised():
    async def run() -> AdaptiveCap:
        limit = AdaptiveCap(Controller(start=8))

        async def busy() -> None:
            raise BackendError("HTTP 429: slow down", transient=True, cause="http_429")

        async with limit:
            with pytest.raises(BackendError):
                await limit.observe(busy())
        return limit

    limit = asyncio.run(run())
    assert limit.limit == 4 and limit.in_flight == 0


@pytest.mark.server
def test_an_openai_kind_run_adapts_and_reports_its_limit(llama_server, tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", f"""
[run]
limit = 8

[generation]
max_tokens = 16

[[backend]]
name = "any"
kind = "openai"
url = "{llama_server}"
models = ["smollm2"]
max_concurrency = 6
timeout = {configs.HANG_GUARD_S}

[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "json"
""")
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    (system,) = results["systems"]
    assert system["counts"]["backend_calls"] == 8 and "error" not in system["counts"]["statuses"]
    limit = results["execution"]["concurrency"][llama_server]
    assert limit["mode"] == "adaptive" and limit["bounds"] == [1, 6] and 1 <= limit["limit"] <= 6
    assert results["execution"]["executor"] == "local"
