"""Cache keys are a promise: a rerun, a resumed run and a later session find
the answers they paid for. The fixture holds the keys of the quick start's
first 3 sentences and pt-two-families' first 2 (every system, dataset and
prompt), computed by nerbench at commit 26bbbec, before the restructure that
moved the modules and typed the config; the code now must give every one
of them unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from nerbench.config.load import default_config_path, load_config
from nerbench.infer.backends import make_backends
from nerbench.infer.cache import cache_key
from nerbench.infer.runner import Runner
from nerbench.plan.matrix import make_plan
from nerbench.plugin_system.manager import get_registry

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "cache_keys" / "quickstart-and-pt-two-families.json"
#: What describe would say: the digest and identity are fixed, so the keys depend on nerbench alone.
DESCRIBED = {"digest": "sha256:fixed", "endpoint_identity": "embedded"}


def keys(config_path: Path, limit: int) -> dict[str, str]:
    config = load_config(config_path)
    registry = get_registry()
    plan = make_plan(config, registry, limit)
    runner = Runner(plan, make_backends(config, registry), config, None, progress=False)  # type: ignore[arg-type]
    out = {}
    for job in plan.jobs:
        runner.describes[(job.backend, job.model_id)] = dict(DESCRIBED)
        for sentence in plan.sentences[(job.dataset, job.split)]:
            for prompt in plan.prompts(job, sentence):
                key, _ = cache_key(runner._identity(runner._caller(job), runner.request(job.model_id, prompt)))
                out[f"{config_path.name}|{job.system}|{job.dataset}:{job.split}|{sentence.id}|{prompt.key}"] = key
    return out


def test_the_cache_keys_of_published_configs_are_what_they_were():
    expected = json.loads(FIXTURE.read_text())
    now = {**keys(default_config_path(), 3), **keys(REPO / "leaderboards" / "pt-two-families" / "config.toml", 2)}
    assert len(expected) == 88
    assert now == expected


def test_the_check_sees_a_changed_request(tmp_path):
    expected = json.loads(FIXTURE.read_text())
    text = default_config_path().read_text().replace("max_tokens = 128", "max_tokens = 129")
    assert "max_tokens = 129" in text
    changed = tmp_path / "quickstart.toml"
    changed.write_text(text)
    now = keys(changed, 3)
    assert now.keys() == {k for k in expected if k.startswith("quickstart.toml|")}
    assert all(now[k] != expected[k] for k in now)
