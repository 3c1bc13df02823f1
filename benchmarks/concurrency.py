"""Adaptive concurrency vs the best fixed concurrency, measured in one run.

    python benchmarks/concurrency.py [--capacities 1,4,32,128] [--rounds 500] [--service 0.05] [--jitter 0.3]
                                     [--sentences 200] [--llama-rounds 3] [--no-llama] [--smoke]

1. A simulated server (in this process, asyncio) that serves C requests at a
   time and queues the rest, each taking `--service` seconds × lognormal
   (`--jitter`: answers vary in length). For each C in `--capacities`,
   `--rounds` × C requests go through the limit the runner uses — fixed at C,
   fixed at 2C, and adaptive from 1 (`nerbench.infer.concurrency`) — and we
   report requests/s and the median latency (request sent → answered). The
   issue's bar: adaptive throughput ≥ 0.95 × the best fixed one's, and its
   median latency ≤ 1.5 × fixed C's.
2. The real llama.cpp server (xllamacpp, SmolLM2-135M, 4 slots): `nerbench run`
   of `--sentences` LeNER-Br test sentences with kind `openai` (its capacity
   unknown, so adaptive) and with `concurrency = 4`, fresh cache each time,
   `--llama-rounds` rounds in alternating orders; sentences/s of each and the
   median ratio adaptive / fixed (bar: ≥ 0.95).

Ratios, not absolute speeds, are what it claims: both sides run in the same
run on the same machine. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import config_text, run_nerbench  # noqa: E402  (the same nerbench run, the same config)

from nerbench.infer.concurrency import AdaptiveCap, Controller, FixedCap  # noqa: E402


class SimulatedServer:
    """Serves `capacity` requests at a time, first come first served."""

    def __init__(self, capacity: int, service: float, jitter: float, seed: int) -> None:
        self.slots = asyncio.Semaphore(capacity)
        self.service, self.jitter = service, jitter
        self.rng = random.Random(seed)

    async def answer(self) -> None:
        async with self.slots:
            await asyncio.sleep(self.service * self.rng.lognormvariate(0, self.jitter))


async def drive(limit: FixedCap | AdaptiveCap, server: SimulatedServer, requests: int, clients: int) -> dict:
    """`requests` through `limit` to `server`, from `clients` tasks (more than
    the limit ever allows, so requests always wait for it, as in a run)."""
    latencies: list[float] = []
    left = requests

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with limit:
                sent = time.perf_counter()
                await limit.observe(server.answer())
                latencies.append(time.perf_counter() - sent)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - started
    return {"requests_per_s": round(requests / wall, 2), "p50_latency_s": round(statistics.median(latencies), 4),
            "wall_s": round(wall, 2)}


def simulated(capacities: list[int], rounds: int, service: float, jitter: float) -> list[dict]:
    rows = []
    for capacity in capacities:
        requests = rounds * capacity
        row: dict = {"capacity": capacity, "requests": requests}
        for side, limit in (("fixed_C", FixedCap(capacity)), ("fixed_2C", FixedCap(2 * capacity)),
                            ("adaptive", AdaptiveCap(Controller(start=1)))):
            server = SimulatedServer(capacity, service, jitter, seed=capacity)
            row[side] = asyncio.run(drive(limit, server, requests, clients=2 * capacity + 300))
            if isinstance(limit, AdaptiveCap):
                row[side]["final_limit"] = limit.limit
                row[side]["windows"] = limit.controller.windows
        best = max(row["fixed_C"]["requests_per_s"], row["fixed_2C"]["requests_per_s"])
        row["throughput_ratio"] = round(row["adaptive"]["requests_per_s"] / best, 3)
        row["latency_ratio"] = round(row["adaptive"]["p50_latency_s"] / row["fixed_C"]["p50_latency_s"], 3)
        row["meets_bar"] = row["throughput_ratio"] >= 0.95 and row["latency_ratio"] <= 1.5
        print(json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def llama(sentences: int, rounds: int, max_tokens: int = 64) -> dict:
    from nerbench import llama as llama_server

    server = llama_server.start(llama_server.smollm2_path(), "smollm2", slots=4, ctx_per_slot=2048)
    adaptive = config_text(server.url, "openai", "smollm2", sentences, 1,
                           max_tokens=max_tokens).replace("concurrency = 1\n", "")
    fixed = config_text(server.url, "openai", "smollm2", sentences, 4, max_tokens=max_tokens)
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        run_nerbench(fixed, Path(tmp) / "warm")  # the first pass over a cold server is slow
        for i in range(rounds):
            walls = {}
            for side in (("fixed", "adaptive") if i % 2 == 0 else ("adaptive", "fixed")):
                walls[side] = run_nerbench(adaptive if side == "adaptive" else fixed, Path(tmp) / f"{side}{i}")[0]
            limit = json.loads((Path(tmp) / f"adaptive{i}" / "out" / "results.json").read_text())[
                "execution"]["concurrency"][server.url]
            measured.append({"fixed_4_sentences_per_s": round(sentences / walls["fixed"], 3),
                             "adaptive_sentences_per_s": round(sentences / walls["adaptive"], 3),
                             "ratio": round(walls["fixed"] / walls["adaptive"], 3),
                             "adaptive_final_limit": limit["limit"]})
            print(json.dumps(measured[-1]), file=sys.stderr, flush=True)
    ratio = statistics.median(r["ratio"] for r in measured)
    return {"sentences": sentences, "slots": 4, "rounds": measured, "median_ratio": ratio, "meets_bar": ratio >= 0.95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacities", default="1,4,32,128")
    parser.add_argument("--rounds", type=int, default=500, help="requests per capacity: rounds × C")
    parser.add_argument("--service", type=float, default=0.05, help="mean-ish seconds per request")
    parser.add_argument("--jitter", type=float, default=0.3, help="lognormal sigma of service times")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--llama-rounds", type=int, default=3)
    parser.add_argument("--no-llama", action="store_true", help="only the simulated server")
    parser.add_argument("--smoke", action="store_true",
                        help="C = 1 and 4, 20 rounds of 5 ms; 1 sentence, 8 tokens on llama.cpp; checks the output")
    args = parser.parse_args()
    if args.smoke:
        args.capacities, args.rounds, args.service, args.sentences, args.llama_rounds = "1,4", 20, 0.005, 1, 1
    os.environ["NERBENCH_LOAD_PLUGINS"] = ""  # only nerbench's own plugins take part

    report: dict = {"cpus": os.cpu_count(), "service_s": args.service, "jitter": args.jitter, "rounds": args.rounds,
                    "simulated": simulated([int(c) for c in args.capacities.split(",")], args.rounds, args.service,
                                           args.jitter)}
    if not args.no_llama:
        report["llama_cpp"] = llama(args.sentences, args.llama_rounds, 8 if args.smoke else 64)
    print(json.dumps(report, indent=2))
    if args.smoke:
        check_smoke(report)


def check_smoke(report: dict) -> None:
    from smoke import check, positive

    for row in report["simulated"]:
        check(positive(row["throughput_ratio"]) and positive(row["latency_ratio"]), f"C={row['capacity']}: {row}")
        check(1 <= row["adaptive"]["final_limit"], f"C={row['capacity']}: limit {row['adaptive']['final_limit']}")
    if "llama_cpp" in report:
        for r in report["llama_cpp"]["rounds"]:
            check(positive(r["ratio"]) and r["adaptive_final_limit"] >= 1, f"llama.cpp round {r}")


if __name__ == "__main__":
    main()
