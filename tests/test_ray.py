"""`[run] executor = "ray"` on a real local Ray cluster of 2 CPUs: two replica
actors of embedded SmolLM2 (one thread, one slot each) share a run, give the
answers a run without Ray gives under the same cache keys, and a replica
killed mid-run loses nothing and counts nothing twice. Marker `ray`; needs
`pip install 'nerbench[ray]'` (the test extra has it)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from nerbench.cli import cli

from .configs import HANG_GUARD_S
from .conftest import write

SENTENCES = 24


def config(limit: int, ray: bool = True, max_restarts: int = 3) -> str:
    run = 'executor = "ray"\n' if ray else ""
    placement = f"replicas = 2\nnum_cpus = 1\nmax_restarts = {max_restarts}\n" if ray else ""
    return f"""
[run]
limit = {limit}
reporters = []
{run}
[generation]
temperature = 0.0
seed = 0
max_tokens = 24

[[backend]]
name = "smol"
kind = "embedded"
models = ["smollm2-135m"]
threads = 1
n_parallel = 1
timeout = {HANG_GUARD_S}
{placement}
[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "json"
"""


def run(cli_runner, tmp_path: Path, name: str, text: str, cache: Path):
    cfg = write(tmp_path / f"{name}.toml", text)
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / name), "--cache", str(cache),
                                     "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / name / "results.json").read_text())
    predictions = (tmp_path / name / "predictions.jsonl").read_text()
    return result, results, predictions


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster with 2 CPUs, started in this process (nerbench
    joins the session it finds)."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.ray
@pytest.mark.slow
def test_two_replicas_share_a_run_and_answer_as_a_run_without_ray(ray_cluster, tmp_path, cli_runner):
    cache = tmp_path / "cache.sqlite"
    _, placed, placed_predictions = run(cli_runner, tmp_path, "ray", config(SENTENCES), cache)
    (system,) = placed["systems"]
    counts = system["counts"]
    assert counts["backend_calls"] == SENTENCES and counts["requests"] == SENTENCES
    assert "error" not in counts["statuses"]

    execution = placed["execution"]
    assert execution["executor"] == "ray"
    cluster = execution["cluster"]
    assert cluster["ray_version"] == ray_cluster.__version__
    assert [node["resources"]["CPU"] for node in cluster["nodes"]] == [2.0]
    replicas = execution["replicas"]["smol"]["replicas"]
    assert execution["replicas"]["smol"]["per_replica"] == {"CPU": 1}
    answered = {r["replica"]: r["answered"] for r in replicas}
    assert sorted(answered) == ["smol/smollm2-135m#1", "smol/smollm2-135m#2"]
    assert all(n > 0 for n in answered.values()), answered  # both replicas served
    assert sum(answered.values()) == SENTENCES  # and every answer is counted once
    assert len({r["lives"][0]["url"] for r in replicas}) == 2
    assert system["backend"]["digest"].startswith("sha256:")

    # The executor is no part of a completion's identity: a run without Ray finds every answer cached...
    _, local, local_predictions = run(cli_runner, tmp_path, "local", config(SENTENCES, ray=False), cache)
    assert local["systems"][0]["counts"]["cache_hits"] == SENTENCES
    assert local["systems"][0]["counts"]["backend_calls"] == 0
    assert local_predictions == placed_predictions
    assert local["execution"]["executor"] == "local" and "cluster" not in local["execution"]

    # ...and, asked afresh, gives the same answers.
    _, fresh, fresh_predictions = run(cli_runner, tmp_path, "fresh", config(SENTENCES, ray=False),
                                      tmp_path / "fresh.sqlite")
    assert fresh["systems"][0]["counts"]["backend_calls"] == SENTENCES
    assert fresh_predictions == placed_predictions
    print(f"\nray run: {placed['wall_s']} s, per replica {answered}; the same run without Ray: {fresh['wall_s']} s")


def kill_when_cached(ray, cache: Path, answers: int, replica: str, stop: threading.Event, killed: list) -> None:
    """Kill `replica`'s actor (Ray may restart it) once the cache holds `answers` answers."""
    while not stop.is_set():
        try:
            with sqlite3.connect(cache) as db:
                done = db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
        except sqlite3.Error:
            done = 0
        if done >= answers:
            (actor,) = [a for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith(replica)]
            ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]), no_restart=False)
            killed.append(done)
            return
        time.sleep(0.2)


@pytest.mark.ray
@pytest.mark.slow
def test_a_replica_killed_mid_run_loses_nothing_counts_nothing_twice_and_comes_back(ray_cluster, tmp_path, cli_runner):
    cache = tmp_path / "cache.sqlite"
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_when_cached,
                               args=(ray_cluster, cache, 4, "smol/smollm2-135m#1@", stop, killed))
    watcher.start()
    try:
        result, placed, predictions = run(cli_runner, tmp_path, "ray", config(SENTENCES, max_restarts=1), cache)
    finally:
        stop.set()
        watcher.join()
    assert killed, "the run ended before the replica could be killed"
    (system,) = placed["systems"]
    counts = system["counts"]
    # Nothing lost: every sentence answered; nothing twice: one backend call and one cache row per sentence.
    assert "error" not in counts["statuses"] and sum(counts["statuses"].values()) == SENTENCES
    assert counts["backend_calls"] == SENTENCES and len(predictions.splitlines()) == SENTENCES
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT COUNT(*) FROM completions").fetchone()[0] == SENTENCES
    replicas = {r["replica"]: r for r in placed["execution"]["replicas"]["smol"]["replicas"]}
    assert sum(r["answered"] for r in replicas.values()) == SENTENCES
    first = replicas["smol/smollm2-135m#1"]
    # Dropped when its server went, taken back once Ray restarted the actor (a new server, a new URL).
    assert "smol/smollm2-135m#1" in result.output and "is back" in result.output, result.output
    assert first["restarts"] == 1 and len({life["url"] for life in first["lives"]}) == 2
    assert not first["dropped"]
    lives = [life["answered"] for life in first["lives"]]
    print(f"\nkilled after {killed[0]} answers; answers per life of #1: {lives}, "
          f"#2: {replicas['smol/smollm2-135m#2']['answered']}; wall {placed['wall_s']} s")


def test_replicas_need_the_ray_executor_and_a_kind_that_starts_its_server(tmp_path, cli_runner):
    no_executor = config(2).replace('executor = "ray"\n', "")
    cfg = write(tmp_path / "a.toml", no_executor)
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert result.output.strip().endswith('field backend[0].replicas: replicas are placed on a Ray cluster; '
                                          'set [run] executor = "ray"')
    remote = config(2).replace('kind = "embedded"', 'kind = "openai"\nurl = "http://127.0.0.1:9"').replace(
        "threads = 1\nn_parallel = 1\n", "")
    cfg = write(tmp_path / "b.toml", remote)
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2 and "backend kind 'openai' starts no server of its own" in result.output
    cfg = write(tmp_path / "c.toml", config(2, ray=False).replace("[run]\n", '[run]\naddress = "auto"\n'))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2 and 'field run.address' in result.output


def test_no_cluster_to_join_is_one_line_and_exit_2(tmp_path, cli_runner, monkeypatch):
    import ray

    def no_cluster(**kwargs):
        # What `ray.init(address="auto")` raised here with no cluster running (at once).
        raise ConnectionError("Could not find any running Ray instance. Please specify the one to connect to by "
                              "setting `--address` flag or `RAY_ADDRESS` environment variable.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", no_cluster)
    cfg = write(tmp_path / "c.toml", config(2))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: [run] address 'auto': cannot join a Ray cluster: Could not find any running Ray instance. Please "
        "specify the one to connect to by setting `--address` flag or `RAY_ADDRESS` environment variable. (start "
        "one with `ray start --head`, or set address = \"local\" for one of this run's own)")
    assert "Traceback" not in result.output
