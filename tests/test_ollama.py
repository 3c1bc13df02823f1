"""The Ollama backend through the official client, against a local server
that follows Ollama's API: wire format, provenance, its traps, and faults."""

from __future__ import annotations

import itertools
import json
import sqlite3

import pytest

from nerbench.plugin_system.manager import get_registry

from . import configs
from .configs import run_config as run
from .fake_ollama import DIGEST, FakeOllama


def config(url: str, limit: int = 3, model: str = "smollm2", **options) -> str:
    """One Ollama backend over the first `limit` LeNER-Br test sentences; an
    option given as None is left out."""
    options = {k: v for k, v in {"num_ctx": 4096, "timeout": 1, **options}.items() if v is not None}
    return configs.config(configs.backend("ol", "ollama", [model], url=url, **options),
                          run={"limit": limit}, generation={"temperature": 0.0, "seed": 7, "max_tokens": 64})


def empty_answer(body):
    return {"message": {"role": "assistant", "content": '{"entities": []}'}, "done_reason": "stop",
            "prompt_eval_count": 400, "eval_count": 6}


@pytest.fixture
def fake():
    server = FakeOllama(answer=empty_answer)
    yield server
    server.close()


@pytest.mark.server
def test_answers_from_a_real_llama_server_with_ollama_wire_format(llama_server, tmp_path, cli_runner):
    fake = FakeOllama(upstream=llama_server)
    try:
        result, results = run(cli_runner, tmp_path, config(fake.url, think=False, timeout=None))
    finally:
        fake.close()
    assert result.exit_code == 0, result.output
    (system,) = results["systems"]
    assert system["counts"]["backend_calls"] == 3 and "error" not in system["counts"]["statuses"]
    for chat in fake.chats:
        # sampling options inside `options` (Ollama ignores top-level ones), the schema in `format`
        assert chat["options"] == {"temperature": 0.0, "num_predict": 64, "seed": 7, "num_ctx": 4096}
        assert not {"temperature", "seed", "max_tokens", "num_predict"} & set(chat)
        assert chat["format"]["properties"]["entities"]["type"] == "array"
        assert chat["stream"] is False and chat["think"] is False
    backend = system["backend"]
    assert backend["digest"] == f"sha256:{DIGEST}" and backend["quantization"] == "Q4_1"
    assert backend["context_length"] == 8192 and backend["server_version"] == "0.12.3-fake"
    assert backend["parameters"] == "135M" and backend["num_ctx"] == 4096


def test_a_model_not_pulled_names_the_pull_command_or_is_pulled(fake, tmp_path, cli_runner):
    result, _ = run(cli_runner, tmp_path, config(fake.url, model="qwen3:8b"))
    assert result.exit_code == 2
    assert "model 'qwen3:8b' is not pulled; run: ollama pull qwen3:8b" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result, results = run(cli_runner, tmp_path, config(fake.url, model="qwen3:8b", pull=True), "p")
    assert result.exit_code == 0, result.output
    assert fake.pulls == ["qwen3:8b"] and results["systems"][0]["counts"]["backend_calls"] == 3


def test_thinking_only_truncated_and_silently_cut_prompts_are_reported(tmp_path, cli_runner):
    answers = [
        {"message": {"role": "assistant", "content": "", "thinking": "Let me think about entities..."},
         "done_reason": "stop", "prompt_eval_count": 400, "eval_count": 64},
        {"message": {"role": "assistant", "content": '{"entities": [{"text": "STF", "la'},
         "done_reason": "length", "prompt_eval_count": 400, "eval_count": 64},
        {"message": {"role": "assistant", "content": '{"entities": []}'},
         "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 6},  # far below the prompt's size
    ]
    # A server sees only messages: each answer goes with the sentence whose
    # text the request carries, whatever order the requests come in.
    texts = [s.text for s in itertools.islice(get_registry().get("datasets", "lener_br").sentences("test"), 3)]

    def answer(body):
        (i,) = [i for i, text in enumerate(texts) if text in body["messages"][-1]["content"]]
        return answers[i]

    fake = FakeOllama(answer=answer)
    try:
        result, results = run(cli_runner, tmp_path, config(fake.url), "t")
    finally:
        fake.close()
    assert result.exit_code == 3, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"error": 2, "truncated": 1}
    assert counts["errors"] == {"thinking_only": 1, "context_truncated": 1}
    predictions = [json.loads(line) for line in (tmp_path / "t" / "predictions.jsonl").read_text().splitlines()]
    assert "answered only in its thinking" in predictions[0]["error"]
    assert "raise num_ctx" in predictions[2]["error"]


def test_faults_are_retried_and_counted_once(fake, tmp_path, cli_runner):
    fake.faults = ["500", "503", "garbage", "cut", "slow"]  # all on the first sentence: 5 failures, then success
    result, results = run(cli_runner, tmp_path, config(fake.url, retries=6))
    assert result.exit_code == 0, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"ok": 3} and counts["errors"] == {}
    assert counts["backend_calls"] == 3 and len(fake.chats) == 3 + 5
    # A permanent error fails at once, is counted once, and is not cached: a rerun asks again.
    fake.faults = ["400"]
    result, results = run(cli_runner, tmp_path, config(fake.url, limit=4), "p")
    assert result.exit_code == 3, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"ok": 3, "error": 1} and counts["errors"] == {"http_400": 1}
    assert counts["cache_hits"] == 3 and counts["backend_calls"] == 0


def test_a_server_killed_mid_run_keeps_what_arrived_and_the_rerun_asks_for_the_rest(tmp_path, cli_runner):
    fake = FakeOllama(answer=empty_answer)
    fake.faults = [None, None, "die"]
    text = config(fake.url, limit=6, retries=2)
    result, results = run(cli_runner, tmp_path, text)
    assert result.exit_code == 3, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"]["ok"] == 2 and counts["statuses"]["error"] == 4
    assert sum(counts["errors"].values()) == 4  # every failed sentence counted once, by cause
    assert "run the same command again" in result.output
    cache = sqlite3.connect(tmp_path / "cache.sqlite")
    assert cache.execute("select count(*) from completions").fetchone()[0] == 2
    port = fake.server.server_address[1]
    fake.close()
    back = FakeOllama(answer=empty_answer, port=port)  # the same server, restarted
    try:
        result, results = run(cli_runner, tmp_path, text, "again")
    finally:
        back.close()
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"ok": 6}
    assert counts["cache_hits"] == 2 and counts["backend_calls"] == 4 and len(back.chats) == 4


def test_num_ctx_and_think_change_the_answers_so_they_change_the_cache_key(fake, tmp_path, cli_runner):
    result, results = run(cli_runner, tmp_path, config(fake.url))
    assert results["systems"][0]["counts"]["backend_calls"] == 3
    result, results = run(cli_runner, tmp_path, config(fake.url), "same")
    assert results["systems"][0]["counts"]["cache_hits"] == 3
    result, results = run(cli_runner, tmp_path, config(fake.url, num_ctx=8192), "ctx")
    assert results["systems"][0]["counts"]["backend_calls"] == 3
    result, results = run(cli_runner, tmp_path, config(fake.url, think=False), "think")
    assert results["systems"][0]["counts"]["backend_calls"] == 3
    assert [chat.get("think") for chat in fake.chats[-3:]] == [False] * 3


@pytest.mark.parametrize("body", [
    b'{"message": {"role": "assistant", "content": "\xff"}, "done": true}',  # not UTF-8
    b"[" * 100_000,  # nested deeper than the JSON parser recurses
    b"[1, 2]", b"null", b"", b"<html>",
    b'{"message": {"role": 5, "content": {"a": 1}}, "done": "x", "eval_count": "many"}',
])
def test_whatever_the_server_sends_is_a_retryable_garbage_failure(body):
    import asyncio

    import httpx
    import ollama

    from nerbench.api import BackendError, Request
    from nerbench_plugins.ollama_backend import OllamaBackend

    backend = OllamaBackend("ol", {"url": "http://127.0.0.1:9"})
    backend._client = ollama.AsyncClient(host=backend.endpoint,
                                         transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))
    with pytest.raises(BackendError) as failure:
        asyncio.run(backend.generate(Request("smollm2", ({"role": "user", "content": "Texto: x"},))))
    assert failure.value.cause == "garbage" and failure.value.transient
