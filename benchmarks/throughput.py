"""nerbench end to end vs a plain concurrent httpx client, measured in one run.

    python benchmarks/throughput.py [--sentences 24] [--slots 4] [--instant 1389] [--rounds 5] [--llama-rounds 8]
                                    [--no-llama] [--smoke]

1. Throughput: a real llama.cpp server (xllamacpp, SmolLM2-135M, `--slots`
   slots) answers the same LeNER-Br test sentences twice per round — through
   `nerbench run` (kind llamacpp, concurrency = slots, fresh cache) and through
   a bare httpx client posting the very same request bodies with the same
   concurrency. Generated tokens per second of each; the ratio nerbench/httpx.
   After one warm-up pass, `--llama-rounds` rounds in alternating orders (the
   side that goes second can find prompts in the server's cache); the median
   ratio counts.
2. Overhead: the same comparison against an instant local server (a canned
   answer, in another process) over `--instant` sentences (default: the whole
   test split); the harness's own cost per sentence is (nerbench wall − httpx
   wall) / sentences — loading, planning, cache writes, parsing, scoring and
   writing results included. `--rounds` alternating rounds; the median counts.
   The same difference in this process's CPU time (the server's is its own) is
   reported beside it: on a loaded machine it moves far less than wall time.
   Sentences / nerbench wall is the driver's ceiling (`median_driver_sentences_per_s`):
   what one nerbench process handles however fast the servers (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

INSTANT_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
ANSWER = json.dumps({"choices": [{"message": {"role": "assistant", "content": "{\"entities\": []}"},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 300, "completion_tokens": 6}}).encode()
MODELS = json.dumps({"data": [{"id": "instant"}]}).encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one segment: no delayed-ACK stall per request
    def log_message(self, *a): pass
    def reply(self, body):
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self): self.reply(MODELS)
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"])); self.reply(ANSWER)
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class InstantServer:
    """The canned-answer server above, in its own process (so its cost is not
    the driver's), on a free port of 127.0.0.1; stopped on leaving."""

    def __enter__(self) -> InstantServer:
        self.proc = subprocess.Popen([sys.executable, "-c", INSTANT_SERVER], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{self.proc.stdout.readline().strip()}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


def config_text(url: str, kind: str, model: str, sentences: int, concurrency: int,
                formats: tuple[str, ...] = ("json",), max_tokens: int = 64) -> str:
    tables = "".join(f'\n[[format]]\nname = "{name}"\n' for name in formats)
    return f"""
[run]
limit = {sentences}
reporters = []

[generation]
temperature = 0.0
seed = 0
max_tokens = {max_tokens}

[[backend]]
name = "b"
kind = "{kind}"
url = "{url}"
models = ["{model}"]
concurrency = {concurrency}

[[dataset]]
id = "lener_br"
splits = ["test"]
{tables}"""


def run_nerbench(text: str, work: Path) -> tuple[float, dict[str, Any]]:
    """Wall seconds of `nerbench run` (as a library call, cache at
    work/cache.sqlite, outputs in work/out) and its results."""
    from nerbench.config.load import load_config
    from nerbench.pipeline import execute, prepare
    from nerbench.plugin_system.manager import get_registry

    work.mkdir(parents=True)
    (work / "c.toml").write_text(text)
    config = load_config(work / "c.toml")
    started = time.perf_counter()
    plan = prepare(config, get_registry())
    out = execute(config, plan, get_registry(), work / "out", work / "cache.sqlite", progress=False)
    return time.perf_counter() - started, out.results


def tokens(results: dict[str, Any]) -> int:
    return sum(s["counts"]["completion_tokens"] or 0 for s in results["systems"])


def request_bodies(text: str, work: Path) -> tuple[str, list[dict[str, Any]]]:
    """The exact JSON bodies nerbench sends for this config."""
    from nerbench.config.load import load_config
    from nerbench.infer.backends import make_backends
    from nerbench.infer.cache import PredictionCache
    from nerbench.infer.runner import Runner
    from nerbench.pipeline import prepare
    from nerbench.plugin_system.manager import get_registry

    work.mkdir(parents=True)
    (work / "c.toml").write_text(text)
    config = load_config(work / "c.toml")
    plan = prepare(config, get_registry())
    backend = make_backends(config, get_registry())["b"]
    cache = PredictionCache(work / "unused.sqlite")
    runner = Runner(plan, {"b": backend}, config, cache, progress=False)
    bodies = [backend.payload(runner.request(job.model_id, prompt))
              for job in plan.jobs for s in plan.sentences[(job.dataset, job.split)] for prompt in plan.prompts(job, s)]
    cache.close()
    return backend.endpoint, bodies


async def run_httpx(url: str, bodies: list[dict[str, Any]], concurrency: int) -> tuple[float, int]:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        async def post(body: dict[str, Any]) -> int:
            async with limit:
                response = await client.post("/v1/chat/completions", json=body)
                response.raise_for_status()
                return int(response.json()["usage"]["completion_tokens"])

        started = time.perf_counter()
        counts = await asyncio.gather(*(post(b) for b in bodies))
        return time.perf_counter() - started, sum(counts)


def llama_cpp(sentences: int, slots: int, rounds: int, work: Path, max_tokens: int = 64) -> dict[str, Any]:
    """Part 1: tokens/s of nerbench and of httpx on the same real server."""
    from nerbench import llama as llama_server

    server = llama_server.start(llama_server.smollm2_path(), "smollm2", slots=slots, ctx_per_slot=2048)
    text = config_text(server.url, "llamacpp", "smollm2", sentences, slots, max_tokens=max_tokens)
    url, bodies = request_bodies(text, work / "bodies")
    asyncio.run(run_httpx(url, bodies, slots))  # warm-up: the first pass over a cold server is slow
    measured = []
    for i in range(rounds):
        sides: dict[str, Any] = {}
        for side in ("httpx", "nerbench") if i % 2 == 0 else ("nerbench", "httpx"):
            if side == "httpx":
                wall, made = asyncio.run(run_httpx(url, bodies, slots))
            else:
                wall, results = run_nerbench(text, work / f"n{i}")
                made = tokens(results)
                sides["nerbench_requests"] = results["systems"][0]["counts"]["requests"]
            sides[side] = {"wall_s": round(wall, 3), "tokens": made, "tokens_per_s": round(made / wall, 2)}
        sides["ratio"] = round(sides["nerbench"]["tokens_per_s"] / sides["httpx"]["tokens_per_s"], 3)
        measured.append(sides)
    del server
    return {"requests": len(bodies), "rounds": measured,
            "median_ratio": statistics.median(r["ratio"] for r in measured)}


def instant(sentences: int, concurrency: int, rounds: int, work: Path) -> dict[str, Any]:
    """Part 2: the harness's own cost per sentence, against a server that costs nothing."""
    with InstantServer() as server:
        text = config_text(server.url, "openai", "instant", sentences, concurrency)
        _, bodies = request_bodies(text, work / "instant-bodies")
        asyncio.run(run_httpx(server.url, bodies[:20], concurrency))  # warm up both sides' imports and sockets
        measured = []
        for i in range(rounds):
            walls, cpus = {}, {}
            for side in ("httpx", "nerbench") if i % 2 == 0 else ("nerbench", "httpx"):
                cpu = time.process_time()
                if side == "httpx":
                    walls[side] = asyncio.run(run_httpx(server.url, bodies, concurrency))[0]
                else:
                    walls[side], results = run_nerbench(text, work / f"instant{i}")
                cpus[side] = time.process_time() - cpu
            measured.append({"httpx_wall_s": round(walls["httpx"], 3), "nerbench_wall_s": round(walls["nerbench"], 3),
                             "overhead_ms_per_sentence":
                                 round(1000 * (walls["nerbench"] - walls["httpx"]) / len(bodies), 3),
                             # The same difference in this process's CPU time (the server runs in
                             # another): what a loaded machine inflates least.
                             "cpu_overhead_ms_per_sentence":
                                 round(1000 * (cpus["nerbench"] - cpus["httpx"]) / len(bodies), 3),
                             "statuses": results["systems"][0]["counts"]["statuses"]})
    return {
        "sentences": len(bodies),
        "rounds": measured,
        "median_overhead_ms_per_sentence": statistics.median(r["overhead_ms_per_sentence"] for r in measured),
        "median_cpu_overhead_ms_per_sentence": statistics.median(r["cpu_overhead_ms_per_sentence"] for r in measured),
        # The driver's ceiling: sentences one nerbench process takes from request to scored
        # prediction when the server costs nothing (its HTTP client included).
        "median_driver_sentences_per_s": round(statistics.median(len(bodies) / r["nerbench_wall_s"]
                                                                 for r in measured), 1),
    }


def check_smoke(report: dict[str, Any]) -> None:
    from smoke import check, finite, positive

    llama, fast = report["llama_cpp"], report["instant"]
    for r in llama["rounds"]:
        check(r["nerbench_requests"] == llama["requests"], f"nerbench answered {r['nerbench_requests']} of "
                                                           f"{llama['requests']} requests")
        check(r["httpx"]["tokens"] > 0 and r["nerbench"]["tokens"] > 0, "no tokens generated")
    check(positive(llama["median_ratio"]), f"tokens/s ratio {llama['median_ratio']!r}")
    for r in fast["rounds"]:
        check(r["statuses"] == {"ok": fast["sentences"]}, f"statuses {r['statuses']} for {fast['sentences']}")
    check(finite(fast["median_overhead_ms_per_sentence"]), "overhead is not a number")
    check(positive(fast["median_cpu_overhead_ms_per_sentence"]), "nerbench cost no more CPU than bare httpx")
    check(positive(fast["median_driver_sentences_per_s"]), "no sentences per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=24)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--instant", type=int, default=1389)
    parser.add_argument("--rounds", type=int, default=5, help="rounds against the instant server")
    parser.add_argument("--llama-rounds", type=int, default=8, help="rounds against llama.cpp")
    parser.add_argument("--no-llama", action="store_true", help="only the overhead part (the instant server)")
    parser.add_argument("--smoke", action="store_true",
                        help="1 sentence, 2 slots, 8 tokens, 1 round; 50 instant sentences; checks the output")
    args = parser.parse_args()
    if args.smoke:
        args.sentences, args.slots, args.llama_rounds, args.instant, args.rounds = 1, 2, 1, 50, 1
    os.environ["NERBENCH_LOAD_PLUGINS"] = ""  # only nerbench's own plugins take part

    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_llama:
            report["llama_cpp"] = {"sentences": args.sentences, "slots": args.slots,
                                   **llama_cpp(args.sentences, args.slots, args.llama_rounds, Path(tmp),
                                               8 if args.smoke else 64)}
        report["instant"] = instant(args.instant, args.slots, args.rounds, Path(tmp))
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    if args.smoke:
        check_smoke(report)


if __name__ == "__main__":
    main()
