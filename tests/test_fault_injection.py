"""Fault injection against a seeded fake OpenAI-compatible server on
127.0.0.1 (tests/fake_openai.py): every fault the server injects is reported
under its cause, a run killed with SIGKILL loses nothing, a dead server stops
being asked at once, and hostile answers are counted, never fatal — on the
first run and on every rerun over the cache.

The assertions are on counts and events, never on how long something took:
the machine running them may be loaded."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from nerbench.cli import cli

from .conftest import write
from .fake_openai import CAUSES, FakeOpenAI, hostile, seeded_faults, sentence_of

LABELS = ("JURISPRUDENCIA", "LEGISLACAO", "LOCAL", "ORGANIZACAO", "PESSOA", "TEMPO")


def config(url: str, *, models: tuple[str, ...] = ("m",), limit: int = 40, formats: tuple[str, ...] = ("json",),
           backend: str = "", run: str = "") -> str:
    quoted = ", ".join(f'"{m}"' for m in models)
    text = f"""
[run]
limit = {limit}
{run}

[[backend]]
name = "fake"
kind = "openai"
url = "{url}"
models = [{quoted}]
{backend}

[[dataset]]
id = "lener_br"
splits = ["test"]
"""
    return text + "".join(f'\n[[format]]\nname = "{f}"\n' for f in formats)


def run_cli(cli_runner, tmp_path: Path, text: str, name: str = "o"):
    cfg = write(tmp_path / f"{name}.toml", text)
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / name), "--no-progress"])
    assert result.exit_code in (0, 3), result.output  # 3: partial, results written
    results = json.loads((tmp_path / name / "results.json").read_text())
    return result, results


def total(results: dict, key: str) -> Counter:
    out: Counter = Counter()
    for system in results["systems"]:
        out.update(system["counts"][key])
    return out


def lener_texts(limit: int) -> list[str]:
    from nerbench.plugin_system.manager import get_registry

    dataset = get_registry().get("datasets", "lener_br")
    return [s.text for _, s in zip(range(limit), dataset.sentences("test"))]


def test_every_injected_fault_is_reported_under_its_cause(cli_runner, tmp_path):
    faults = (*CAUSES.keys() - {"http_400", "http_401_echo", "slow"}, "slow")
    n = 80
    # A slow answer comes after 5 s, the client gives up after 3 s: generous both ways, so that on a
    # loaded machine no answer that was sent at once times out, and no slow one arrives in time.
    with FakeOpenAI(faults=seeded_faults(seed=20261122, rate=0.4, faults=tuple(sorted(faults))), slow_s=5.0) as fake:
        # Breaker out of the way: this test is about counting; the breaker has its own.
        result, results = run_cli(cli_runner, tmp_path, config(
            fake.url, limit=n, backend="concurrency = 4\nretries = 3\ntimeout = 3\ncircuit_breaker = 1000"))
    counts = results["systems"][0]["counts"]
    injected = fake.injected()
    assert sum(injected.values()) >= 30 and len(injected) >= 6  # the seed injects a real mix
    # Every call the server got is counted, by what it got.
    attempts = Counter(counts["attempts"])
    assert attempts == Counter({"ok": fake.sent["ok"], **injected})
    assert attempts["ok"] == counts["backend_calls"]
    # Which requests failed for good, and with which cause, follows from the server's log: a request
    # whose 3 attempts all failed got no answer, under the cause of its last failure; the others
    # were retried once per failed attempt.
    expected_errors, expected_retries = Counter(), Counter()
    by_text = {}
    for digest, log in fake.log.items():
        by_text[sentence_of(fake.bodies[digest])] = log
        failed = [CAUSES[f] for f in log if f is not None]
        if log[-1] is not None:
            assert len(log) == 3
            expected_retries.update(failed[:-1])
        else:
            expected_retries.update(failed)
    for text in lener_texts(n):  # a sentence that occurs twice is one request, answered (or not) twice
        log = by_text[text]
        if log[-1] is not None:
            expected_errors[CAUSES[log[-1]]] += 1
    assert Counter(counts["retries"]) == expected_retries
    assert Counter(counts["errors"]) == expected_errors
    assert counts["statuses"].get("error", 0) == sum(expected_errors.values())
    assert sum(expected_errors.values()) >= 2 and result.exit_code == 3
    # Nothing failed was cached: a rerun against a healthy server asks exactly for the failed ones.
    with FakeOpenAI(port=fake.port) as healthy:  # the same server, its faults over
        result, rerun = run_cli(cli_runner, tmp_path, config(healthy.url, limit=n, backend="concurrency = 4"), "again")
    assert result.exit_code == 0, result.output
    assert healthy.sent["ok"] == len({digest for digest, log in fake.log.items() if log[-1] is not None})
    assert rerun["systems"][0]["counts"]["statuses"] == {"ok": n}


def test_identical_requests_in_flight_are_sent_once(cli_runner, tmp_path):
    texts = lener_texts(1389)
    duplicated = [t for t, n in Counter(texts).items() if n > 1]
    assert duplicated, "LeNER-Br's test split repeats sentences"
    first = texts.index(duplicated[0])
    second = texts.index(duplicated[0], first + 1)
    limit = second + 1
    with FakeOpenAI(delay_s=0.05) as fake:
        # Every sentence is in flight at once: both copies are asked at the same moment.
        _, results = run_cli(cli_runner, tmp_path, config(fake.url, limit=limit, backend=f"concurrency = {limit}"))
    counts = results["systems"][0]["counts"]
    unique = len(set(texts[:limit]))
    assert fake.sent["ok"] == counts["backend_calls"] == unique < limit
    assert counts["cache_hits"] == limit - unique and counts["statuses"] == {"ok": limit}


@pytest.mark.slow
def test_a_run_killed_at_a_random_point_loses_nothing(tmp_path):
    n, concurrency = 60, 2
    stop_after = random.Random(7).randrange(5, 40)  # completions stored before the kill
    cache = tmp_path / "cache.sqlite"
    env = {**os.environ, "NERBENCH_CACHE": str(cache)}
    with FakeOpenAI(delay_s=0.1) as fake:
        cfg = write(tmp_path / "c.toml", config(fake.url, limit=n, backend=f"concurrency = {concurrency}"))
        cmd = [sys.executable, "-m", "nerbench", "run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            rows = 0
            while rows < stop_after and proc.poll() is None:
                time.sleep(0.02)
                rows = stored(cache)
            assert proc.poll() is None, "the run ended before the kill: nothing was tested"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=120)  # a hang guard, not a deadline
        assert proc.returncode == -signal.SIGKILL
        kept = stored(cache)
        assert stop_after <= kept < n
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    counts = json.loads((tmp_path / "o" / "results.json").read_text())["systems"][0]["counts"]
    assert counts["cache_hits"] == kept and counts["backend_calls"] == n - kept
    predictions = [json.loads(line) for line in (tmp_path / "o" / "predictions.jsonl").read_text().splitlines()]
    ids = [p["sentence_id"] for p in predictions]
    assert len(ids) == len(set(ids)) == n and {p["status"] for p in predictions} == {"ok"}
    # Every stored answer was reused; only answers in flight at the kill (at most one per slot) were asked twice.
    asked_twice = sum(fake.answered.values()) - n
    assert 0 <= asked_twice <= concurrency
    assert stored(cache) == n


def stored(cache: Path) -> int:
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(cache) as db:
            return db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_server_that_dies_stops_being_asked_and_the_run_says_partial(cli_runner, tmp_path):
    n, concurrency, retries, threshold = 60, 4, 4, 3
    fake = FakeOpenAI(die_after=10)
    port = fake.port
    text = config(fake.url, limit=n, backend=f"concurrency = {concurrency}\nretries = {retries}")
    try:
        result, results = run_cli(cli_runner, tmp_path, text)
    finally:
        fake.close()
    assert result.exit_code == 3, result.output
    counts = results["systems"][0]["counts"]
    ok = counts["statuses"]["ok"]
    assert 10 <= ok <= 10 + concurrency  # answers in flight when it died may still arrive
    errors = counts["errors"]
    assert set(errors) == {"connection", "circuit_open"} and sum(errors.values()) == n - ok
    # Only requests admitted before the breaker opened were sent: at most one per slot plus the
    # `threshold` that opened it — not all of the remaining ~50, each retried 4 times.
    assert threshold <= errors["connection"] <= threshold + concurrency - 1
    assert counts["attempts"]["connection"] <= errors["connection"] * retries
    assert errors["circuit_open"] >= n - ok - (threshold + concurrency - 1)
    assert results["partial"] is True
    assert "requests in a row got no answer" in result.output
    assert "Partial results:" in result.output and "run the same command again" in result.output
    page = (tmp_path / "o" / "lener_br-test.md").read_text()
    assert "**Partial results:**" in page and f"{n - ok} of {n} sentences" in page
    assert "**Partial results:**" in (tmp_path / "o" / "leaderboard.md").read_text()
    # The same server back on its port: the rerun asks for exactly what got no answer.
    with FakeOpenAI(port=port) as back:
        result, results = run_cli(cli_runner, tmp_path, text, "again")
    assert result.exit_code == 0, result.output
    counts = results["systems"][0]["counts"]
    assert counts["statuses"] == {"ok": n} and counts["cache_hits"] == ok
    assert back.sent["ok"] == n - ok and results["partial"] is False
    assert "Partial results" not in (tmp_path / "again" / "lener_br-test.md").read_text()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_server_that_answers_every_request_with_503_stops_being_asked_after_a_bounded_number(
        cli_runner, tmp_path, concurrency):
    n, retries, threshold = 300, 4, 3
    with FakeOpenAI(faults=lambda body, attempt: "http_503") as fake:
        result, results = run_cli(cli_runner, tmp_path, config(
            fake.url, limit=n, backend=f"retries = {retries}\nconcurrency = {concurrency}"))
    assert result.exit_code == 3, result.output
    counts = results["systems"][0]["counts"]
    # Counted in requests, not seconds: the breaker opened after `threshold` requests in a row got
    # no answer; only requests already admitted then (one per other slot) were sent after it.
    sent = counts["errors"]["http_503"]
    assert threshold <= sent <= threshold + concurrency - 1
    assert counts["errors"] == {"http_503": sent, "circuit_open": n - sent}
    assert sum(fake.sent.values()) == fake.sent["http_503"] <= sent * retries
    assert counts["statuses"] == {"error": n} and results["partial"] is True
    assert "requests in a row got no answer" in result.output


def test_requests_refused_for_themselves_open_the_breaker_only_after_many_in_a_row(cli_runner, tmp_path):
    n, threshold, factor = 40, 3, 10
    first = lener_texts(5)

    def long_prompts_refused(body, attempt):
        return "http_400" if sentence_of(body) in first else None

    with FakeOpenAI(faults=long_prompts_refused) as fake:
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, limit=n, backend="concurrency = 1"))
    counts = results["systems"][0]["counts"]
    # Five 400s in a row (each about its own prompt) do not stop a server that answers the rest.
    assert counts["errors"] == {"http_400": 5} and counts["statuses"] == {"ok": n - 5, "error": 5}
    with FakeOpenAI(faults=lambda body, attempt: "http_400") as fake:
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, limit=n, backend="concurrency = 1"),
                                  "all400")
    counts = results["systems"][0]["counts"]
    # A server that refuses everything still stops being asked: after factor × threshold of them.
    assert counts["errors"] == {"http_400": factor * threshold, "circuit_open": n - factor * threshold}
    assert fake.sent == Counter({"http_400": factor * threshold})


def test_sigterm_is_handled_as_ctrl_c_the_cache_is_kept_and_a_rerun_resumes(tmp_path):
    n = 40
    cache = tmp_path / "cache.sqlite"
    env = {**os.environ, "NERBENCH_CACHE": str(cache)}
    with FakeOpenAI(delay_s=0.1) as fake:
        cfg = write(tmp_path / "c.toml", config(fake.url, limit=n, backend="concurrency = 1"))
        cmd = [sys.executable, "-m", "nerbench", "run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while stored(cache) < 3 and proc.poll() is None:  # event-driven: no deadline
                time.sleep(0.02)
            assert proc.poll() is None, "the run ended before SIGTERM: nothing was tested"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=120)  # a hang guard, not a deadline
        finally:
            proc.kill()
        assert proc.returncode == 143, err
        assert "Interrupted" in err and "run the same command again to resume" in err and "Traceback" not in err
        kept = stored(cache)
        assert 3 <= kept < n
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    counts = json.loads((tmp_path / "o" / "results.json").read_text())["systems"][0]["counts"]
    assert counts["cache_hits"] == kept and counts["backend_calls"] == n - kept


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.ray
@pytest.mark.parametrize("kind", ["openai", "embedded"])
def test_the_ray_executor_checks_its_address_first_and_gives_up_in_one_line(cli_runner, tmp_path, kind):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    with FakeOpenAI() as fake:
        text = config(fake.url, limit=2, run=f'executor = "ray"\naddress = "{address}"')
        if kind == "embedded":
            text = text.replace('kind = "openai"', 'kind = "embedded"').replace(f'url = "{fake.url}"', "").replace(
                'models = ["m"]', 'models = ["smollm2-135m"]')
        cfg = write(tmp_path / "c.toml", text)
        result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
        assert fake.sent == Counter()  # checked before any work
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and address in result.stderr and "no Ray cluster answers" in result.stderr
    assert not (tmp_path / "o" / "results.json").exists()


def test_a_dead_server_from_the_start_is_one_line_and_exit_2(cli_runner, tmp_path):
    fake = FakeOpenAI()
    fake.close()
    cfg = write(tmp_path / "c.toml", config(fake.url, backend="retries = 2"))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "cannot connect" in result.stderr
    assert fake.url in result.stderr  # which server: a user may have several


def test_one_model_losing_its_connections_does_not_fail_the_next_model(cli_runner, tmp_path):
    n = 12
    first = lener_texts(1)[0]

    def drops_one_sentence_of_a(body, attempt):
        return "drop" if body["model"] == "a" and sentence_of(body) == first else None

    with FakeOpenAI(models=("a", "b"), faults=drops_one_sentence_of_a) as fake:
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, models=("a", "b"), limit=n,
                                                                backend="retries = 2\nconcurrency = 1"))
    a, b = (s["counts"] for s in results["systems"])
    assert a["errors"] == {"connection": 1} and a["statuses"] == {"ok": n - 1, "error": 1}
    assert a["attempts"] == {"connection": 2, "ok": n - 1} and a["retries"] == {"connection": 1}
    assert b["statuses"] == {"ok": n} and b["backend_calls"] == n and b["errors"] == {}
    assert fake.sent == Counter({"ok": 2 * n - 1, "drop": 2})


def test_an_open_breaker_lets_a_later_model_probe_and_use_a_server_that_answers(cli_runner, tmp_path):
    n = 8

    def every_request_of_a_dropped(body, attempt):
        return "drop" if body["model"] == "a" else None

    with FakeOpenAI(models=("a", "b"), faults=every_request_of_a_dropped) as fake:
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, models=("a", "b"), limit=n,
                                                                backend="retries = 2\nconcurrency = 1"))
    assert result.exit_code == 3
    a, b = (s["counts"] for s in results["systems"])
    # Three requests of "a" in a row could not reach the server: the breaker opened and the rest of
    # a's requests were not sent; "b"'s first request was the probe, answered, and b ran in full.
    assert a["errors"] == {"connection": 3, "circuit_open": n - 3} and a["attempts"] == {"connection": 6}
    assert b["statuses"] == {"ok": n} and b["attempts"] == {"ok": n}
    assert fake.sent == Counter({"drop": 6, "ok": n})
    assert "answers again" in result.output


HOSTILE = ("nested", "nested_object", "nested_100k", "huge", "huge_text", "binary")


def test_hostile_answers_are_counted_and_a_rerun_over_the_cache_does_not_crash(cli_runner, tmp_path):
    texts = lener_texts(len(HOSTILE) + 2)
    answers = dict(zip(texts, HOSTILE))

    def answer(body):
        kind = answers.get(sentence_of(body))
        return hostile(kind) if kind else '{"entities": []}'

    formats = ("json", "json-grouped", "inline-xml", "inline-bracket")
    with FakeOpenAI(answer=answer) as fake:
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, limit=len(texts), formats=formats))
        assert result.exit_code == 0, result.output
        # Rerun over the cache: the same answers, read again, the same counts, no call.
        rerun, again = run_cli(cli_runner, tmp_path, config(fake.url, limit=len(texts), formats=formats), "again")
    assert rerun.exit_code == 0, rerun.output
    assert fake.sent == Counter({"ok": len(texts) * len(formats)})
    by_format = {s["system"].rsplit("/", 1)[1]: s["counts"] for s in results["systems"]}
    for name, counts in by_format.items():
        assert sum(counts["statuses"].values()) == len(texts)
        assert counts["errors"] == {} and counts["backend_calls"] == len(texts)
        # Three answers are far more than 256 tokens could hold: not parsed, counted.
        assert counts["issues"]["oversized"] == 3, name
    assert by_format["json"]["statuses"] == {"ok": 2, "unparseable": 6}
    assert by_format["inline-xml"]["statuses"] == {"ok": 5, "unparseable": 3}  # no marks is a valid rewrite
    for before, after in zip(results["systems"], again["systems"]):
        assert after["counts"]["cache_hits"] == len(texts) and after["counts"]["backend_calls"] == 0
        assert after["counts"]["statuses"] == before["counts"]["statuses"]
        assert after["counts"]["issues"] == before["counts"]["issues"]
        assert after["metrics"] == before["metrics"]


def test_a_format_that_raises_and_a_cache_row_that_does_not_read_are_not_fatal(cli_runner, tmp_path, monkeypatch):
    from nerbench_plugins.formats.json_formats import JsonFormat

    texts = lener_texts(4)
    parse = JsonFormat.parse

    def fragile(self, outputs, sentence, labels):
        if sentence.text == texts[1]:
            raise ValueError("a third-party bug")
        return parse(self, outputs, sentence, labels)

    monkeypatch.setattr(JsonFormat, "parse", fragile)
    with FakeOpenAI() as fake:
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, limit=4))
        counts = results["systems"][0]["counts"]
        assert result.exit_code == 0 and counts["statuses"] == {"ok": 3, "unparseable": 1}
        assert counts["issues"]["parse_failed"] == 1
        assert "raised ValueError parsing an answer" in result.stderr
        # A row another program wrote in the cache's table: read as missing, asked again, replaced.
        with sqlite3.connect(os.environ["NERBENCH_CACHE"]) as db:
            db.execute("UPDATE completions SET generation = '[[[' WHERE rowid = 1")
        result, results = run_cli(cli_runner, tmp_path, config(fake.url, limit=4), "again")
    counts = results["systems"][0]["counts"]
    assert result.exit_code == 0 and counts["backend_calls"] == 1 and counts["cache_hits"] == 3


def test_an_echoed_api_key_is_stored_and_printed_nowhere(cli_runner, tmp_path, monkeypatch):
    secret = "sk-live-4f9a2c7e1b8d3f60aa51"
    monkeypatch.setenv("FAKE_KEY", secret)
    with FakeOpenAI(faults=lambda body, attempt: "http_401_echo") as fake:
        result, _ = run_cli(cli_runner, tmp_path, config(fake.url, limit=3, backend='api_key_env = "FAKE_KEY"'))
    assert fake.headers[0]["Authorization"] == f"Bearer {secret}"  # the server did see (and echo) it
    assert result.exit_code == 3
    written = [p.read_text() for p in (tmp_path / "o").rglob("*") if p.is_file() and p.suffix != ".svg"]
    for text in [result.stdout, result.stderr, *written]:
        assert secret not in text and secret[:12] not in text
    prediction = json.loads((tmp_path / "o" / "predictions.jsonl").read_text().splitlines()[0])
    assert prediction["status"] == "error" and "Bearer [redacted]" in prediction["error"]


@pytest.mark.slow
def test_a_full_disk_stops_the_run_in_one_line_and_the_rerun_resumes(tmp_path):
    """A full disk, without root: RLIMIT_FSIZE caps the size of every file
    the run writes (writes past it fail with EFBIG, as they would with ENOSPC)."""
    import resource

    n = 40
    cache = tmp_path / "cache.sqlite"
    out = tmp_path / "o"
    env = {**os.environ, "NERBENCH_CACHE": str(cache)}

    def run(limit: int | None) -> subprocess.CompletedProcess:
        cap = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))) if limit else None
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, preexec_fn=cap)

    def one_line(proc: subprocess.CompletedProcess, pattern: str) -> None:
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert re.match(pattern, proc.stderr), proc.stderr

    with FakeOpenAI() as fake:
        cfg = write(tmp_path / "c.toml", config(fake.url, limit=n, backend="concurrency = 2"))
        cmd = [sys.executable, "-m", "nerbench", "run", str(cfg), "-o", str(out), "--no-progress"]
        # The cache's disk fills up: the run stops at once, keeping what it stored.
        one_line(run(48_000), rf"Error: {re.escape(str(cache))}: cannot store a completion in the prediction cache")
        kept, answered = stored(cache), fake.sent["ok"]
        assert 0 < kept < n and not out.exists()
        assert answered - kept <= 2  # lost: the answer that could not be stored, and one per other slot
        # Room again: the rerun asks only for the rest.
        assert run(None).returncode == 0
        assert fake.sent["ok"] - answered == n - kept
        complete = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        # The output's disk is full (the cache is complete: nothing to store): one line naming the
        # file, the earlier file left whole, no temporary file behind. The test keeps the cache open
        # meanwhile, so SQLite's shared-memory file already has its size and the cap hits only the outputs.
        with sqlite3.connect(cache) as keep_open:
            keep_open.execute("SELECT COUNT(*) FROM completions").fetchone()
            one_line(run(3_000), rf"Error: {re.escape(str(out / 'predictions.jsonl'))}: cannot write: File too large")
        # A reporter that cannot write (results.json, the largest file, is written before the pages, so
        # no size cap isolates them): a directory where its page goes.
        (out / "leaderboard.md").unlink()
        (out / "leaderboard.md").mkdir()
        one_line(run(None), rf"Error: {re.escape(str(out))}: reporter 'markdown' cannot write: Is a directory")
        (out / "leaderboard.md").rmdir()
        assert fake.sent["ok"] - answered == n - kept  # nothing asked again
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert (out / "predictions.jsonl").read_bytes() == complete["predictions.jsonl"]
    assert json.loads((out / "results.json").read_text())["systems"][0]["counts"]["cache_hits"] == n
