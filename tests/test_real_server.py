"""End to end against a real llama.cpp server (xllamacpp + SmolLM2 on
127.0.0.1), the embedded backend, the cache, faults and Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nerbench.cli import cli
from nerbench_plugins.openai_compat.llamacpp import LlamaCppBackend

from . import configs
from .conftest import write

pytestmark = pytest.mark.server


def config(url, limit=4, max_tokens=96, kind="openai", formats=("json",), ensemble=None, **options):
    """SmolLM2 on the real server, 2 requests in flight unless told (None: the kind's default)."""
    options = {k: v for k, v in {"concurrency": 2, "timeout": configs.HANG_GUARD_S, **options}.items()
               if v is not None}
    return configs.config(configs.backend("llama", kind, ["smollm2"], url=url, **options), formats=formats,
                          ensemble=ensemble, run={"name": "t", "limit": limit}, generation={"max_tokens": max_tokens})


def run_cli(cli_runner, cfg, out):
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text())


def test_openai_backend_end_to_end_then_fully_cached(llama_server, tmp_path, cli_runner, monkeypatch):
    cfg = write(tmp_path / "c.toml", config(llama_server))
    results = run_cli(cli_runner, cfg, tmp_path / "out1")
    (system,) = results["systems"]
    assert system["system"] == "llama/smollm2/json"
    counts = system["counts"]
    assert counts["backend_calls"] == 4 and counts["cache_hits"] == 0
    assert sum(counts["statuses"].values()) == 4
    assert counts["completion_tokens"] > 0 and counts["mean_latency_s"] > 0
    # Provenance.
    assert system["backend"]["digest"].startswith("meta:")
    assert system["backend"]["quantization"] == "Q4_1"
    assert system["prompt_format"] == {"name": "json", "version": "2", "plugin": "formats", "options": {}}
    assert results["datasets"]["lener_br"]["manifest_sha256"]
    assert results["plugins"]["openai"] and results["machine"]["cpu_count"]
    assert results["generation"] == {"temperature": 0.0, "seed": 0, "max_tokens": 96}
    for key in ("precision", "recall", "f1", "macro_f1", "per_type"):
        assert key in system["metrics"]
    lines = (tmp_path / "out1" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert {json.loads(line)["status"] for line in lines} <= {"ok", "unparseable", "truncated"}
    assert "llama/smollm2/json" in (tmp_path / "out1" / "leaderboard.md").read_text()

    # A rerun makes no generation call at all: prove it by making one impossible.
    from nerbench_plugins.openai_compat.client import OpenAIBackend

    async def boom(self, request):
        raise AssertionError("the backend was called on a fully cached rerun")

    monkeypatch.setattr(OpenAIBackend, "generate", boom)
    again = run_cli(cli_runner, cfg, tmp_path / "out2")
    assert again["systems"][0]["counts"]["backend_calls"] == 0
    assert again["systems"][0]["counts"]["cache_hits"] == 4
    assert again["systems"][0]["metrics"] == system["metrics"]
    assert (tmp_path / "out2" / "predictions.jsonl").read_text().splitlines() == lines


def test_cache_key_changes_with_the_request(llama_server, tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config(llama_server, limit=2))
    run_cli(cli_runner, cfg, tmp_path / "a")
    changed = write(tmp_path / "d.toml", config(llama_server, limit=2, max_tokens=97))
    results = run_cli(cli_runner, changed, tmp_path / "b")
    assert results["systems"][0]["counts"]["backend_calls"] == 2
    with sqlite3.connect(os.environ["NERBENCH_CACHE"]) as db:
        assert db.execute("SELECT COUNT(*) FROM completions").fetchone()[0] == 4


def test_embedded_backend_runs_the_bundled_quickstart(tmp_path, cli_runner):
    result = cli_runner.invoke(cli, ["run", "--limit", "2", "-o", str(tmp_path / "q"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "embedded/smollm2-135m/json" in result.output
    results = json.loads((tmp_path / "q" / "results.json").read_text())
    backend = results["systems"][0]["backend"]
    assert backend["digest"] == "sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert backend["kind"] == "embedded"
    assert results["systems"][0]["counts"]["backend_calls"] == 2


class Faulty(BaseHTTPRequestHandler):
    """Answers /v1/models; fails every chat completion with the status in
    the server's `status` attribute."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"data": [{"id": "smollm2", "meta": {"ftype": "Q4_1"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.calls += 1
        body = self.server.body
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def faulty_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    server.calls, server.status, server.body = 0, 500, b"internal error"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.mark.parametrize(("status", "body", "calls", "cause"), [
    (500, b"internal error", 2 * 3, "http_500"),  # transient: retried (3 attempts each)
    (400, b'{"error": "bad request"}', 2, "http_400"),  # permanent: no retry
    (200, b"this is not json", 2 * 3, "garbage"),
])
def test_failures_are_counted_by_cause_and_never_cached(faulty_server, tmp_path, cli_runner, status, body, calls,
                                                        cause):
    faulty_server.status, faulty_server.body = status, body
    url = f"http://127.0.0.1:{faulty_server.server_address[1]}"
    cfg = write(tmp_path / "c.toml", config(url, limit=2, retries=3))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 3, result.output  # partial: results written, some requests got no answer
    assert f"Partial results: 2 requests got no answer ({cause} 2)" in result.output
    counts = json.loads((tmp_path / "o" / "results.json").read_text())["systems"][0]["counts"]
    assert counts["statuses"] == {"error": 2}
    assert counts["errors"] == {cause: 2}
    assert faulty_server.calls == calls == sum(counts["attempts"].values())
    assert counts["retries"] == ({cause: calls - 2} if calls > 2 else {})
    with sqlite3.connect(os.environ["NERBENCH_CACHE"]) as db:
        assert db.execute("SELECT COUNT(*) FROM completions").fetchone()[0] == 0
    lines = [json.loads(x) for x in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]
    assert [x["status"] for x in lines] == ["error", "error"]
    assert all(x["error"] for x in lines)


def test_ctrl_c_keeps_every_completion_and_a_rerun_resumes(llama_server, tmp_path):
    # 20 sentences, one at a time: long enough that Ctrl-C lands mid-run even on a busy machine.
    cfg = write(tmp_path / "c.toml", config(llama_server, limit=20, concurrency=1))
    cache = tmp_path / "cache.sqlite"
    env = {**os.environ, "NERBENCH_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "nerbench", "run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"]
    # A child of a background job inherits SIGINT ignored; a user's terminal delivers it.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def stored() -> int:
        if not cache.exists():
            return 0
        with sqlite3.connect(cache) as db:
            try:
                return db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
            except sqlite3.OperationalError:  # the child is still creating the table
                return 0

    # Event-driven, no deadline: interrupt once two completions are stored,
    # however long a loaded machine takes to answer them.
    while stored() < 2 and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, f"the run ended before it was interrupted: {proc.communicate()[1]}"
    proc.send_signal(signal.SIGINT)
    # A guard against a hang, not a speed claim: the child stops within a
    # second of SIGINT here (it cancels its one request in flight).
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    with sqlite3.connect(cache) as db:
        kept = db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
    assert 2 <= kept < 20
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    counts = json.loads((tmp_path / "o" / "results.json").read_text())["systems"][0]["counts"]
    assert counts["cache_hits"] == kept
    assert counts["backend_calls"] == 20 - kept


def test_llm_judged_ensemble_asks_the_real_server(llama_server, tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config(
        llama_server, limit=2, formats=("json", "json-grouped"),
        ensemble={"combiners": [{"name": "llm-judge", "judges": ["llama/smollm2"]}, "majority"], "search": "none",
                  "dev_limit": 2}))
    results = run_cli(cli_runner, cfg, tmp_path / "o")
    judged = next(e for e in results["ensembles"] if e["combiner"] == "llm-judge")
    assert judged["systems"] == ["llama/smollm2/json", "llama/smollm2/json-grouped"]
    # The judges only ever keep what the systems found...
    rows = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]

    def spans_of(*systems):
        return {(r["sentence_id"], s["start"], s["end"], s["label"]) for r in rows
                if r["system"] in systems and r["split"] == "test" for s in r["spans"]}

    assert spans_of(judged["system"]) <= spans_of(*judged["systems"])
    # ...and its score is what scoring its predictions file says.
    scored = cli_runner.invoke(cli, ["score", "--gold", "lener_br:test", str(tmp_path / "o" / "predictions.jsonl"),
                                     "--limit", "2", "--json"])
    again = json.loads(scored.output)[judged["system"]]
    metrics = ("precision", "recall", "f1")
    assert [again[k] for k in metrics] == [judged["metrics"][k] for k in metrics]
    judging = results["judging"]
    assert judging["requests"] == judging["backend_calls"] + judging["cache_hits"]
    assert judging["errors"] == {}


def test_models_reports_health_served_models_and_provenance(llama_server, tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", configs.config(
        configs.backend("cpp", "llamacpp", ["smollm2", "not-pulled"], url=llama_server),
        configs.backend("generic", "openai", ["smollm2"], url=f"{llama_server}/v1"),
        configs.backend("gone", "openai", ["x"], url="http://127.0.0.1:9", retries=1)))
    result = cli_runner.invoke(cli, ["models", str(cfg), "--json"])
    assert result.exit_code == 1, result.output  # one backend is down, one model is not served
    reports = {r["backend"]: r for r in json.loads(result.output)}
    cpp = reports["cpp"]
    assert cpp["kind"] == "llamacpp" and cpp["served"] == ["smollm2"] and cpp["error"] is None
    smollm2 = cpp["models"]["smollm2"]
    assert smollm2["slots"] == 2 and smollm2["quantization"] == "Q4_1" and smollm2["context_length"] == 8192
    assert smollm2["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and smollm2["digest"].startswith("meta:")
    assert "does not serve model 'not-pulled'; it serves: smollm2" in cpp["models"]["not-pulled"]["error"]
    assert reports["generic"]["ok"] and reports["generic"]["models"]["smollm2"]["digest"] == smollm2["digest"]
    assert not reports["gone"]["ok"] and "cannot connect" in reports["gone"]["error"]
    table = cli_runner.invoke(cli, ["models", str(cfg)])
    assert "DOWN: " in table.output and "slots 2" in table.output


def test_llamacpp_kind_runs_at_the_servers_slot_count(llama_server, tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config(llama_server, kind="llamacpp", concurrency=None))
    results = run_cli(cli_runner, cfg, tmp_path / "out")
    (system,) = results["systems"]
    assert system["backend"]["slots"] == 2 and system["backend"]["server"] == "llama.cpp"
    assert system["counts"]["backend_calls"] == 4 and "error" not in system["counts"]["statuses"]

    async def concurrency_after_start() -> tuple[int, int]:
        backend = LlamaCppBackend("cpp", {"url": llama_server})
        before = backend.concurrency
        await backend.start()
        try:
            return before, backend.concurrency
        finally:
            await backend.aclose()

    assert asyncio.run(concurrency_after_start()) == (1, 2)  # the server's 2 slots, read from /props
