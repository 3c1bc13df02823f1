"""Throughput features of the backends: several urls per backend (load
balanced, a replica lost mid-run), jobs grouped by model per server, and
llama.cpp's GBNF grammar — against real llama.cpp servers where they matter."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from nerbench.cli import cli
from nerbench import llama

from . import configs
from .conftest import write
from .configs import run_config as run
from .fake_ollama import FakeOllama


def config(*backends: dict, limit: int = 6, formats: tuple[str, ...] = ("json",)) -> str:
    return configs.config(*backends, formats=formats, run={"limit": limit},
                          generation={"temperature": 0.0, "seed": 1, "max_tokens": 32})


def empty_answer(body):
    return {"message": {"role": "assistant", "content": '{"entities": []}'}, "done_reason": "stop",
            "prompt_eval_count": 400, "eval_count": 6}


def served_any(url: str) -> bool:
    """llama.cpp gives a slot an id_task once it has served a request."""
    return any("id_task" in slot for slot in httpx.get(f"{url}/slots").json())


@pytest.fixture
def second_server():
    server = llama.start(llama.smollm2_path(), "smollm2", slots=1, ctx_per_slot=2048, threads=2)
    yield server.url
    del server


@pytest.mark.server
def test_a_pool_of_two_real_llama_servers_shares_the_work_and_one_cache_identity(
        llama_server, second_server, tmp_path, cli_runner):
    assert not served_any(second_server)
    entry = configs.backend("pool", "llamacpp", ["smollm2"], urls=[llama_server, second_server],
                            timeout=configs.HANG_GUARD_S)
    result, results = run(cli_runner, tmp_path, config(entry))
    assert result.exit_code == 0, result.output
    (system,) = results["systems"]
    assert system["counts"]["backend_calls"] == 6 and "error" not in system["counts"]["statuses"]
    assert served_any(second_server)  # the fixture's server had served other tests already
    assert sorted(system["backend"]["replicas"]) == sorted([llama_server, second_server])
    # The set of urls is the identity: another order reuses every answer.
    swapped = {**entry, "urls": [second_server, llama_server]}
    result, results = run(cli_runner, tmp_path, config(swapped), "again")
    assert results["systems"][0]["counts"]["cache_hits"] == 6


def ollama_pool(*urls: str, **options) -> dict:
    return configs.backend("ol", "ollama", ["smollm2"], urls=list(urls), **{"retries": 2, **options})


def test_a_replica_that_dies_mid_run_is_dropped_and_the_others_answer_everything(tmp_path, cli_runner):
    a, b = FakeOllama(answer=empty_answer), FakeOllama(answer=empty_answer)
    a.faults = [None, "die"]
    try:
        result, results = run(cli_runner, tmp_path, config(ollama_pool(a.url, b.url, concurrency=1)))
    finally:
        b.close()
    assert result.exit_code == 0, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"ok": 6} and counts["errors"] == {}
    assert counts["backend_calls"] == 6
    answered_by_a = len(a.chats) - 1  # its last request died with it
    assert answered_by_a >= 1 and answered_by_a + len(b.chats) == 6
    assert f"dropped {a.url}" in result.output


def test_a_pool_whose_every_replica_is_gone_counts_the_failures_and_says_how_to_resume(tmp_path, cli_runner):
    a, b = FakeOllama(answer=empty_answer), FakeOllama(answer=empty_answer)
    a.faults, b.faults = ["die"], ["die"]
    result, results = run(cli_runner, tmp_path, config(ollama_pool(a.url, b.url, concurrency=1)))
    assert result.exit_code == 3, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"error": 6} and sum(counts["errors"].values()) == 6
    assert "run the same command again" in result.output


def test_replicas_serving_different_models_are_refused(tmp_path, cli_runner):
    a, b = FakeOllama(answer=empty_answer), FakeOllama(answer=empty_answer, digest="0" * 64)
    try:
        result, _ = run(cli_runner, tmp_path, config(ollama_pool(a.url, b.url)))
    finally:
        a.close()
        b.close()
    assert result.exit_code == 2
    assert "its urls serve different 'smollm2'" in result.output and a.chats == b.chats == []


def test_models_reports_a_pool_with_a_dead_url_and_still_describes_the_model(tmp_path, cli_runner):
    a = FakeOllama(answer=empty_answer)
    try:
        cfg = write(tmp_path / "c.toml", config(ollama_pool(a.url, "http://127.0.0.1:9")))
        result = cli_runner.invoke(cli, ["models", str(cfg), "--json"])
    finally:
        a.close()
    assert result.exit_code == 1  # something configured is down
    (report,) = json.loads(result.stdout)
    assert not report["ok"] and report["error"].startswith("http://127.0.0.1:9: ")
    assert report["served"] == ["smollm2:latest"] and report["models"]["smollm2"]["quantization"] == "Q4_1"


def test_url_and_urls_together_or_urls_naming_one_endpoint_are_refused(tmp_path, cli_runner):
    result, _ = run(cli_runner, tmp_path, config(ollama_pool("http://127.0.0.1:9", url="http://x")))
    assert result.exit_code == 2 and "field backend[0]: give url or urls, not both" in result.output
    result, _ = run(cli_runner, tmp_path, config(ollama_pool("http://127.0.0.1:9", "http://127.0.0.1:9/")))
    assert result.exit_code == 2 and "field backend[0].urls: two urls name the same endpoint" in result.output
    embedded = configs.backend("e", "embedded", ["smollm2-135m"], urls=["a", "b"])
    result, _ = run(cli_runner, tmp_path, config(embedded))
    assert result.exit_code == 2
    assert "field backend[0]: unknown option 'url' for backend kind 'embedded'" in result.output


def test_jobs_of_one_model_are_grouped_per_server_across_backend_entries(tmp_path, cli_runner):
    fake = FakeOllama(answer=empty_answer, models=("a:latest", "b:latest"))
    # Two entries on one server, models in opposite orders: in config order the
    # server would load a, b, b, a.
    entries = [configs.backend("x", "ollama", ["a", "b"], url=fake.url, num_ctx=2048),
               configs.backend("y", "ollama", ["b", "a"], url=fake.url, num_ctx=4096)]
    try:
        result, results = run(cli_runner, tmp_path, config(*entries, limit=3, formats=("json", "json-grouped")))
    finally:
        fake.close()
    assert result.exit_code == 0, result.output
    assert [s["counts"]["backend_calls"] for s in results["systems"]] == [3] * 8
    order = [chat["model"] for chat in fake.chats]
    switches = sum(1 for prev, cur in zip(order, order[1:]) if prev != cur)
    assert len(order) == 24 and switches == 1, order


@pytest.mark.server
def test_a_gbnf_grammar_constrains_every_answer_and_is_part_of_the_cache_key(llama_server, tmp_path, cli_runner):
    write(tmp_path / "none.gbnf", 'root ::= "{\\"entities\\": []}"\n')
    entry = configs.backend("cpp", "llamacpp", ["smollm2"], url=llama_server, timeout=configs.HANG_GUARD_S)
    result, results = run(cli_runner, tmp_path, config({**entry, "grammar": "none.gbnf"}, limit=4))
    assert result.exit_code == 0, result.output
    (system,) = results["systems"]
    assert system["counts"]["backend_calls"] == 4 and system["counts"]["statuses"] == {"ok": 4}
    assert system["backend"]["grammar"]["file"] == "none.gbnf"
    assert len(system["backend"]["grammar"]["grammar_sha256"]) == 64
    cache = sqlite3.connect(tmp_path / "cache.sqlite")
    texts = [json.loads(g)["text"] for (g,) in cache.execute("select generation from completions")]
    assert texts == ['{"entities": []}'] * 4  # the grammar leaves the model no other answer
    result, results = run(cli_runner, tmp_path, config(entry, limit=4), "free")
    assert results["systems"][0]["counts"]["backend_calls"] == 4  # not served from the grammar's answers
    result, _ = run(cli_runner, tmp_path, config({**entry, "grammar": "missing.gbnf"}, limit=4), "missing")
    assert result.exit_code == 2 and "option grammar: cannot read" in result.output
    assert "missing.gbnf" in result.output and "Traceback" not in result.output


@pytest.mark.server
def test_cache_prompt_off_makes_the_real_server_recompute_every_prompt_and_keys_its_answers_apart(llama_server):
    from nerbench.api import Request, lookup

    kind = lookup("backends", "llamacpp")
    on, off = kind("cpp", {"url": llama_server}), kind("cpp", {"url": llama_server, "cache_prompt": False})
    request = Request("smollm2", ({"role": "user", "content": "Name one city in Brazil."},), max_tokens=4)

    def reused(backend) -> list[int]:
        # The same prompt twice: what llama.cpp took from its prompt cache the second time (timings.cache_n).
        return [httpx.post(f"{llama_server}/v1/chat/completions", json=backend.payload(request),
                           timeout=configs.HANG_GUARD_S).json()["timings"]["cache_n"] for _ in range(2)]

    assert "cache_prompt" not in on.payload(request) and on.answer_options() == {}  # earlier keys unchanged
    assert off.payload(request)["cache_prompt"] is False and off.answer_options() == {"cache_prompt": False}
    assert reused(on)[1] > 0
    assert reused(off) == [0, 0]
