"""Few-shot demonstrations and template files, through the config."""

from __future__ import annotations

import re

from nerbench.cli import cli
from nerbench.config.load import load_config
from nerbench.pipeline import prepare
from nerbench.plugin_system.manager import get_registry

from . import configs
from .conftest import write

def config(name: str = "json", **options) -> str:
    """One format (with `options`) over 3 LeNER-Br test sentences, on a backend never reached."""
    return configs.config(configs.backend("b", "openai", ["m"], url=configs.NOWHERE),
                          datasets=[configs.dataset("lener_br", limit=3)], formats=[{"name": name, **options}])


def plan_for(tmp_path, **options):
    cfg = write(tmp_path / "c.toml", config(**options))
    return prepare(load_config(cfg), get_registry())


def test_zero_shot_by_default(tmp_path):
    plan = plan_for(tmp_path)
    (job,) = plan.jobs
    (prompt,) = plan.prompts(job, plan.sentences[("lener_br", "test")][0])
    assert [m["role"] for m in prompt.messages] == ["system", "user"]


def test_random_demos_come_from_train_seeded_and_rendered_as_turns(tmp_path):
    plan = plan_for(tmp_path, shots=2, demos="random", demo_seed=7)
    (job,) = plan.jobs
    sentence = plan.sentences[("lener_br", "test")][1]
    (prompt,) = plan.prompts(job, sentence)
    assert [m["role"] for m in prompt.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    train_texts = {s.text for s in get_registry().get("datasets", "lener_br").sentences("train")}
    demo_texts = [m["content"].removeprefix("Texto: ") for m in prompt.messages[1:-1:2]]
    assert all(t in train_texts for t in demo_texts)
    assert all('"entities"' in m["content"] for m in prompt.messages[2:-1:2])
    again = plan_for(tmp_path, shots=2, demos="random", demo_seed=7)
    assert again.prompts(again.jobs[0], sentence)[0].messages == prompt.messages
    other = plan_for(tmp_path, shots=2, demos="random", demo_seed=8)
    assert other.prompts(other.jobs[0], sentence)[0].messages != prompt.messages
    assert plan.formats["json"].options == {"shots": 2, "demos": "random", "demo_seed": 7}


def test_similar_demos_share_words_with_the_sentence(tmp_path):
    plan = plan_for(tmp_path, shots=1, demos="similar")
    sentence = plan.sentences[("lener_br", "test")][2]
    (prompt,) = plan.prompts(plan.jobs[0], sentence)
    demo = prompt.messages[1]["content"].removeprefix("Texto: ")
    words = lambda t: {w.casefold() for w in re.findall(r"\w+", t) if len(w) > 3}  # noqa: E731
    assert words(demo) & words(sentence.text)


def test_demos_never_come_from_the_evaluated_split(tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config(shots=1, demo_split="test"))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert "demonstrations come from split 'test', which 'lener_br' is evaluated on" in result.output


def test_template_files_replace_the_builtin_ones(tmp_path, cli_runner):
    write(tmp_path / "sys.txt", "Find {labels} entities. Reply in JSON.")
    write(tmp_path / "user.txt", "Sentence >>> {text}")
    plan = plan_for(tmp_path, system_template="sys.txt", user_template="user.txt")
    sentence = plan.sentences[("lener_br", "test")][0]
    (prompt,) = plan.prompts(plan.jobs[0], sentence)
    assert prompt.messages[0]["content"].startswith("Find - PESSOA: nomes de pessoas")
    assert prompt.messages[1]["content"] == f"Sentence >>> {sentence.text}"
    # The template text, not just its file name, is recorded (and so in the cache key).
    assert plan.formats["json"].options["system_template"] == "Find {labels} entities. Reply in JSON."
    write(tmp_path / "bad.txt", "Find {entity_types}")
    cfg = write(tmp_path / "b.toml", config(system_template="bad.txt"))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert "system_template: unknown placeholder {entity_types}; available: {labels}, {text}" in result.output
    cfg = write(tmp_path / "m.toml", config(system_template="nope.txt"))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2 and "cannot read" in result.output and "nope.txt" in result.output


def test_unknown_format_option_is_one_line(tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config(max_entites=3))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert "format 'json'" in result.output and "max_entites" in result.output


def test_per_type_counts_one_request_per_type(tmp_path, cli_runner):
    cfg = write(tmp_path / "c.toml", config("per-type"))
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    assert result.exit_code == 0, result.output
    types = len(get_registry().get("datasets", "lener_br").labels)
    assert f"1 jobs, {3 * types} requests" in result.output  # 3 sentences × one request per type
