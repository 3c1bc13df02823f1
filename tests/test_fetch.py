"""`nerbench datasets fetch` against a local HTTP server serving copies of
../shared/datasets files."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

from nerbench.cli import cli

from .conftest import write

MANIFESTS = Path(__file__).parents[1] / "datasets_registry" / "manifests"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def file_server(tmp_path, shared_datasets):
    root = tmp_path / "www"
    shutil.copytree(shared_datasets / "harem", root / "harem")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def local_manifest(tmp_path, base_url, dataset_id="harem-selective"):
    manifest = json.loads((MANIFESTS / f"{dataset_id}.json").read_text())
    manifest["id"] = f"{dataset_id}-local"
    for entries in manifest["splits"].values():
        for entry in entries:
            entry["url"] = f"{base_url}/{entry['path']}"
    return write(tmp_path / "local.json", json.dumps(manifest))


def test_fetch_downloads_verifies_and_is_idempotent(tmp_path, file_server, cli_runner):
    _, url = file_server
    manifest = local_manifest(tmp_path, url)
    data = tmp_path / "data"
    args = ["--data-dir", str(data), "--registry", str(manifest)]
    result = cli_runner.invoke(cli, [*args, "datasets", "fetch", "harem-selective-local", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (data / "harem" / "MiniHAREM-selective.json").stat().st_size == 707151
    assert len(result.output.splitlines()) == 3
    first = (data / "harem" / "MiniHAREM-selective.json").stat().st_mtime_ns
    again = cli_runner.invoke(cli, [*args, "datasets", "fetch", "harem-selective-local", "--no-progress"])
    assert again.exit_code == 0
    assert (data / "harem" / "MiniHAREM-selective.json").stat().st_mtime_ns == first
    export = cli_runner.invoke(cli, [*args, "datasets", "export", "harem-selective-local:dev"])
    assert export.exit_code == 0
    assert sum(len(json.loads(line)["spans"]) for line in export.output.splitlines()) == 167


def test_fetch_refuses_a_file_whose_sha256_differs(tmp_path, file_server, cli_runner):
    root, url = file_server
    (root / "harem" / "FirstHAREM-selective-dev.json").write_text("[]")
    manifest = local_manifest(tmp_path, url)
    data = tmp_path / "data"
    result = cli_runner.invoke(cli, ["--data-dir", str(data), "--registry", str(manifest),
                                     "datasets", "fetch", "harem-selective-local", "--no-progress"])
    assert result.exit_code == 2
    assert "FirstHAREM-selective-dev.json: sha256" in result.output
    assert "does not match the manifest" in result.output
    assert not (data / "harem" / "FirstHAREM-selective-dev.json").exists()
    assert not list((data / "harem").glob(".*"))  # no temporary file left behind


def test_fetch_reports_http_errors(tmp_path, file_server, cli_runner):
    root, url = file_server
    (root / "harem" / "MiniHAREM-selective.json").unlink()
    manifest = local_manifest(tmp_path, url)
    result = cli_runner.invoke(cli, ["--data-dir", str(tmp_path / "d"), "--registry", str(manifest),
                                     "datasets", "fetch", "harem-selective-local", "--no-progress"])
    assert result.exit_code == 2
    assert "HTTP 404" in result.output


def test_a_corrupted_local_file_is_refused_on_read(tmp_path, cli_runner, shared_datasets):
    data = tmp_path / "data" / "uner_tl_trg"
    data.mkdir(parents=True)
    (data / "tl_trg-ud-test.iob2").write_bytes((shared_datasets / "uner_tl_trg/tl_trg-ud-test.iob2").read_bytes()[:-10])
    result = cli_runner.invoke(cli, ["--data-dir", str(tmp_path / "data"), "datasets", "export", "uner_tl_trg:test"])
    assert result.exit_code == 2
    assert "sha256 does not match" in result.output
