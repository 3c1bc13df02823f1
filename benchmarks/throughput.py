"""nerbench end to end vs a plain concurrent httpx client, measured in one run.

    python benchmarks/throughput.py [--sentences 24] [--slots 4] [--instant 1389] [--rounds 5] [--llama-rounds 8]

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


def config_text(url: str, kind: str, model: str, sentences: int, concurrency: int) -> str:
    return f"""
[run]
limit = {sentences}
reporters = []

[generation]
temperature = 0.0
seed = 0
max_tokens = 64

[[backend]]
name = "b"
kind = "{kind}"
url = "{url}"
models = ["{model}"]
concurrency = {concurrency}

[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "json"
"""


def run_nerbench(text: str, work: Path) -> tuple[float, int]:
    """Wall seconds of `nerbench run` (as a library call) and tokens generated."""
    from nerbench.config.load import load_config
    from nerbench.pipeline import execute, prepare
    from nerbench.plugin_system.manager import get_registry

    work.mkdir(parents=True)
    (work / "c.toml").write_text(text)
    config = load_config(work / "c.toml")
    started = time.perf_counter()
    plan = prepare(config, get_registry())
    out = execute(config, plan, get_registry(), work / "out", work / "cache.sqlite", progress=False)
    wall = time.perf_counter() - started
    return wall, sum(s["counts"]["completion_tokens"] or 0 for s in out.results["systems"])


def request_bodies(text: str, work: Path) -> tuple[str, list[dict]]:
    """The exact JSON bodies nerbench sends for this config."""
    from nerbench.infer.cache import PredictionCache
    from nerbench.config.load import load_config
    from nerbench.pipeline import make_backends, prepare
    from nerbench.plugin_system.manager import get_registry
    from nerbench.infer.runner import Runner

    work.mkdir(parents=True)
    (work / "c.toml").write_text(text)
    config = load_config(work / "c.toml")
    plan = prepare(config, get_registry())
    backend = make_backends(config, get_registry())["b"]
    runner = Runner(plan, {"b": backend}, config.generation, PredictionCache(work / "unused.sqlite"), False)
    bodies = [backend.payload(runner.request(job.model, prompt))
              for job in plan.jobs for s in plan.sentences[(job.dataset, job.split)] for prompt in plan.prompts(job, s)]
    return backend.base_url, bodies


async def run_httpx(url: str, bodies: list[dict], concurrency: int) -> tuple[float, int]:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        async def post(body: dict) -> int:
            async with limit:
                response = await client.post("/v1/chat/completions", json=body)
                response.raise_for_status()
                return response.json()["usage"]["completion_tokens"]

        started = time.perf_counter()
        tokens = await asyncio.gather(*(post(b) for b in bodies))
        return time.perf_counter() - started, sum(tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=24)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--instant", type=int, default=1389)
    parser.add_argument("--rounds", type=int, default=5, help="rounds against the instant server")
    parser.add_argument("--llama-rounds", type=int, default=8, help="rounds against llama.cpp")
    args = parser.parse_args()
    os.environ["NERBENCH_LOAD_PLUGINS"] = ""  # only nerbench's own plugins take part

    from nerbench import llama as llama_server

    report: dict = {"cpus": os.cpu_count(), "sentences": args.sentences, "slots": args.slots}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = llama_server.start(llama_server.smollm2_path(), "smollm2", slots=args.slots, ctx_per_slot=2048)
        text = config_text(server.url, "llamacpp", "smollm2", args.sentences, args.slots)
        url, bodies = request_bodies(text, work / "bodies")
        asyncio.run(run_httpx(url, bodies, args.slots))  # warm-up: the first pass over a cold server is slow
        rounds = []
        for i in range(args.llama_rounds):
            order = ("httpx", "nerbench") if i % 2 == 0 else ("nerbench", "httpx")
            measured = {}
            for side in order:
                if side == "httpx":
                    wall, tokens = asyncio.run(run_httpx(url, bodies, args.slots))
                else:
                    wall, tokens = run_nerbench(text, work / f"n{i}")
                measured[side] = {"wall_s": round(wall, 3), "tokens": tokens, "tokens_per_s": round(tokens / wall, 2)}
            measured["ratio"] = round(measured["nerbench"]["tokens_per_s"] / measured["httpx"]["tokens_per_s"], 3)
            rounds.append(measured)
        report["llama_cpp"] = {"requests": len(bodies), "rounds": rounds,
                               "median_ratio": statistics.median(r["ratio"] for r in rounds)}
        del server

        proc = subprocess.Popen([sys.executable, "-c", INSTANT_SERVER], stdout=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
            text = config_text(url, "openai", "instant", args.instant, args.slots)
            _, bodies = request_bodies(text, work / "instant-bodies")
            asyncio.run(run_httpx(url, bodies[:20], args.slots))  # warm up both sides' imports and sockets
            rounds = []
            for i in range(args.rounds):
                walls = {}
                for side in (("httpx", "nerbench") if i % 2 == 0 else ("nerbench", "httpx")):
                    if side == "httpx":
                        walls[side] = asyncio.run(run_httpx(url, bodies, args.slots))[0]
                    else:
                        walls[side] = run_nerbench(text, work / f"instant{i}")[0]
                rounds.append({"httpx_wall_s": round(walls["httpx"], 3), "nerbench_wall_s": round(walls["nerbench"], 3),
                               "overhead_ms_per_sentence":
                                   round(1000 * (walls["nerbench"] - walls["httpx"]) / len(bodies), 3)})
        finally:
            proc.terminate()
        report["instant"] = {
            "sentences": len(bodies),
            "rounds": rounds,
            "median_overhead_ms_per_sentence": statistics.median(r["overhead_ms_per_sentence"] for r in rounds),
            # The driver's ceiling: sentences one nerbench process takes from request to scored
            # prediction when the server costs nothing (its HTTP client included).
            "median_driver_sentences_per_s": round(statistics.median(len(bodies) / r["nerbench_wall_s"]
                                                                     for r in rounds), 1),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
