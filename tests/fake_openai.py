"""A seeded fake OpenAI-compatible server on 127.0.0.1, for fault injection.

It serves `/v1/models` and `/v1/chat/completions`. Which fault (if any) a
chat request gets is decided by a function of the request and how many times
that same request was seen before — never by arrival order — so a seeded plan
injects the same faults however the client schedules its requests. Every
chat request is counted by what it got (`sent`: "ok" or the fault's name),
and every successful answer by the request's model and sentence
(`answered`), so tests can check nerbench's accounting exactly.

Faults, and the failure cause nerbench's `openai` backend reports for each:

| fault | what the server does | cause |
|---|---|---|
| `drop` | closes the connection without answering | connection |
| `http_429`, `http_500`, `http_503` | that status (transient) | http_429, ... |
| `http_400` | 400 (permanent: never retried) | http_400 |
| `http_401_echo` | 401 whose body echoes the request's Authorization header | http_401 |
| `garbage` | 200 with an HTML body | garbage |
| `bad_utf8` | 200 whose body is not valid UTF-8 | garbage |
| `nested_body` | 200 whose body is 100,000 `[` | garbage |
| `no_choices` | 200 with `{"choices": []}` | garbage |
| `slow` | answers after `slow_s` seconds (set the client's timeout below it) | timeout |

Answers (what the "model" says, status 200 — cached, never a fault):
`answer(body) -> str` gives the content; `hostile(kind)` gives the ones that
break parsers: deeply nested JSON, a huge answer, binary junk.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: fault name → the cause nerbench reports for it
CAUSES = {
    "drop": "connection",
    "http_429": "http_429",
    "http_500": "http_500",
    "http_503": "http_503",
    "http_400": "http_400",
    "http_401_echo": "http_401",
    "garbage": "garbage",
    "bad_utf8": "garbage",
    "nested_body": "garbage",
    "no_choices": "garbage",
    "slow": "timeout",
}
TRANSIENT = ("drop", "http_429", "http_500", "http_503", "garbage", "bad_utf8", "nested_body", "no_choices")

FaultPlan = Callable[[dict[str, Any], int], "str | None"]


def request_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def seeded_faults(seed: int, rate: float, faults: tuple[str, ...] = TRANSIENT) -> FaultPlan:
    """Each attempt of each request fails with probability `rate`, with a
    fault drawn from `faults` — decided by (seed, request, attempt number)."""

    def plan(body: dict[str, Any], attempt: int) -> str | None:
        rng = random.Random(f"{seed}:{request_digest(body)}:{attempt}")
        return rng.choice(faults) if rng.random() < rate else None

    return plan


def sentence_of(body: dict[str, Any]) -> str:
    """The sentence a request is about: its last user message, less the
    prompt formats' "Texto: " / "Text: " prefix."""
    text = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    for prefix in ("Texto: ", "Text: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def empty_answer(body: dict[str, Any]) -> str:
    return '{"entities": []}'


def hostile(kind: str) -> str:
    """Answers a model could give that break naive parsers."""
    if kind == "nested":  # deeper than Python's JSON parser recurses, short enough to be parsed
        return "[" * 4_000
    if kind == "nested_object":
        return '{"entities": ' + "[" * 1_500 + "]" * 1_500 + "}"
    if kind == "nested_100k":
        return "[" * 100_000
    if kind == "huge":
        return '{"entities": [' + ", ".join(['{"text": "Brasil", "label": "LOCAL"}'] * 40_000) + "]}"
    if kind == "huge_text":
        return "Brasil " * 300_000
    if kind == "binary":
        junk = bytes(random.Random(0).randrange(256) for _ in range(2048))
        return junk.decode("latin-1") + "\x00\ud800\udfff<PESSOA>\x00</PESSOA>[x | PESSOA]@@\ud83d##"
    raise ValueError(kind)


class FakeOpenAI:
    """Start with `FakeOpenAI(...)`; `url` is where it listens; `close()`
    stops it (later connections are refused, like a killed server).

    `faults(body, attempt)` names the fault for the `attempt`-th time (0
    first) this exact request body arrives, or None to answer. `die_after`:
    after that many answers, the server dies (the answer is sent first).
    `delay_s`: every answer waits that long (to keep a run going for tests
    that interrupt it)."""

    def __init__(self, models: tuple[str, ...] = ("m",), answer: Callable[[dict[str, Any]], str] = empty_answer,
                 faults: FaultPlan | None = None, die_after: int | None = None, delay_s: float = 0.0,
                 slow_s: float = 2.0, port: int = 0) -> None:
        self.models = list(models)
        self.answer = answer
        self.faults = faults
        self.die_after = die_after
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.sent: Counter[str] = Counter()  # chat requests by what they got: "ok" or a fault
        self.answered: Counter[tuple[str, str]] = Counter()  # (model, sentence) → answers sent
        self.seen: Counter[str] = Counter()  # request digest → times seen
        self.log: dict[str, list[str | None]] = {}  # request digest → the fault of each attempt (None: answered)
        self.bodies: dict[str, dict[str, Any]] = {}  # request digest → the request
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.closed = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": m, "object": "model", "meta": {"ftype": "Q4_1", "n_params": 135}}
                            for m in fake.models]
                    return self.send(200, json.dumps({"object": "list", "data": data}).encode())
                self.send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self.send(404, b'{"error": "not found"}')
                with fake.lock:
                    digest = request_digest(body)
                    attempt = fake.seen[digest]
                    fake.seen[digest] += 1
                    fault = fake.faults(body, attempt) if fake.faults else None
                    fake.sent[fault or "ok"] += 1
                    fake.log.setdefault(digest, []).append(fault)
                    fake.bodies[digest] = body
                    fake.headers.append(dict(self.headers))
                if fault is not None:
                    return self.fault(fault)
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                content = fake.answer(body)
                answer = {"id": "x", "object": "chat.completion", "model": body.get("model"),
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                       "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46}}
                self.send(200, json.dumps(answer).encode())
                with fake.lock:
                    fake.answered[(body.get("model", ""), sentence_of(body))] += 1
                    dies = fake.die_after is not None and sum(fake.answered.values()) >= fake.die_after
                if dies:
                    threading.Thread(target=fake.close).start()

            def fault(self, fault: str) -> None:
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif fault.startswith("http_") and not fault.endswith("_echo"):
                    self.send(int(fault[5:]), json.dumps({"error": f"injected {fault}"}).encode())
                elif fault == "http_401_echo":
                    echoed = {"error": "invalid key", "received": {"Authorization": self.headers.get("Authorization")}}
                    self.send(401, json.dumps(echoed).encode())
                elif fault == "garbage":
                    self.send(200, b"<html><body>502 proxy error</body></html>")
                elif fault == "bad_utf8":
                    self.send(200, b'{"choices": [{"message": {"content": "\xff\xfe\xfa"}, "finish_reason": "stop"}]}')
                elif fault == "nested_body":
                    self.send(200, b"[" * 100_000)
                elif fault == "no_choices":
                    self.send(200, b'{"choices": []}')
                elif fault == "slow":
                    time.sleep(fake.slow_s)
                    self.send(200, b'{"choices": []}')
                else:
                    raise ValueError(fault)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timed out) on a slow answer: not the test's business

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def injected(self) -> Counter[str]:
        """Faults sent, by the cause nerbench should report them under."""
        out: Counter[str] = Counter()
        for fault, n in self.sent.items():
            if fault != "ok":
                out[CAUSES[fault]] += n
        return out

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
