"""A local server that follows Ollama's documented API (/api/chat, /api/tags,
/api/show, /api/pull, /api/version) for the official client. It forwards
generation to a real llama.cpp server when given one, or answers with a
function; and it injects faults on request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

DIGEST = "4f3c2b1a" * 8
DETAILS = {"format": "gguf", "family": "llama", "parameter_size": "135M", "quantization_level": "Q4_1"}


class FakeOllama:
    """`faults`: a list consumed one per /api/chat call: None (answer), "500",
    "503", "400", "garbage", "cut" (a truncated body), "slow" (sleep past the
    client's timeout), "die" (stop the server). `answer(body) -> dict` gives
    the message/done fields when there is no upstream."""

    def __init__(self, upstream: str | None = None, answer: Callable[[dict], dict] | None = None,
                 models: tuple[str, ...] = ("smollm2:latest",), port: int = 0, digest: str = DIGEST) -> None:
        self.upstream = upstream
        self.digest = digest
        self.answer = answer
        self.models = list(models)
        self.faults: list[str | None] = []
        self.chats: list[dict[str, Any]] = []
        self.pulls: list[str] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status: int, body: Any, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) if raw is None else len(data) + 50))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/api/version":
                    return self.send(200, {"version": "0.12.3-fake"})
                if self.path == "/api/tags":
                    return self.send(200, {"models": [
                        {"name": m, "model": m, "modified_at": "2026-11-01T00:00:00Z", "size": 98362432,
                         "digest": fake.digest, "details": DETAILS} for m in fake.models]})
                self.send(404, {"error": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/api/show":
                    if fake.known(body.get("model", "")) is None:
                        return self.send(404, {"error": f"model '{body.get('model')}' not found"})
                    return self.send(200, {"modelfile": "", "details": DETAILS,
                                           "model_info": {"general.architecture": "llama",
                                                          "llama.context_length": 8192}})
                if self.path == "/api/pull":
                    fake.pulls.append(body["model"])
                    fake.models.append(body["model"] if ":" in body["model"] else body["model"] + ":latest")
                    return self.send(200, {"status": "success"})
                if self.path != "/api/chat":
                    return self.send(404, {"error": "not found"})
                with fake.lock:
                    fake.chats.append(body)
                    fault = fake.faults.pop(0) if fake.faults else None
                if fault in ("500", "503", "400"):
                    return self.send(int(fault), {"error": f"injected {fault}"})
                if fault == "garbage":
                    return self.send(200, None, raw=b"<html>proxy error</html>")
                if fault == "cut":
                    return self.send(200, None, raw=b'{"model": "smollm2", "message": {"role": "assis')
                if fault == "slow":
                    time.sleep(3)
                if fault == "die":
                    # Like a killed process: later connections are refused.
                    threading.Thread(target=fake.close).start()
                    self.close_connection = True
                    return None
                if fake.known(body.get("model", "")) is None:
                    return self.send(404, {"error": f"model '{body.get('model')}' not found, try pulling it first"})
                return self.send(200, {"model": body["model"], "created_at": "2026-11-21T00:00:00Z", "done": True,
                                       **fake.generate(body)})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def known(self, model: str) -> str | None:
        return next((m for m in self.models if m in (model, f"{model}:latest")), None)

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.upstream is None:
            return self.answer(body)
        options = body.get("options", {})
        request = {"model": "smollm2", "messages": body["messages"], "temperature": options.get("temperature", 0.8),
                   "max_tokens": options.get("num_predict", 128), "seed": options.get("seed")}
        if isinstance(body.get("format"), dict):
            request["response_format"] = {"type": "json_schema", "json_schema": {"name": "a", "schema": body["format"]}}
        data = httpx.post(f"{self.upstream}/v1/chat/completions", json=request, timeout=300).json()
        choice, usage = data["choices"][0], data.get("usage", {})
        return {"message": {"role": "assistant", "content": choice["message"]["content"]},
                "done_reason": "length" if choice["finish_reason"] == "length" else "stop",
                "prompt_eval_count": usage.get("prompt_tokens"), "eval_count": usage.get("completion_tokens")}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
