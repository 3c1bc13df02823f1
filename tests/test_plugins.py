"""Plugin loading through entry points: broken, duplicate and unknown plugins."""

from __future__ import annotations

import json
import textwrap

import pytest

import nerbench.plugin_system.manager
from nerbench import api
from nerbench.cli import cli
from nerbench.errors import UnknownNameError
from nerbench.plugin_system.manager import get_registry

BROKEN = "raise ImportError('no module named missing_dependency')\n"
DUPLICATE = textwrap.dedent(
    """
    from nerbench import api

    class Fmt(api.PromptFormat):
        def render(self, sentence, labels, language, demos=()):
            return []
        def parse(self, outputs, sentence, labels):
            return api.ParseResult([])

    class NotABackend:
        pass

    @api.hookimpl
    def register_prompt_formats(register):
        register("json", Fmt)
        register("fmt-ok", Fmt)

    @api.hookimpl
    def register_backends(register):
        register("bogus", NotABackend)

    @api.hookimpl
    def register_reporters(register):
        raise RuntimeError("reporter hook exploded")

    @api.hookimpl
    def register_commands(cli):
        @cli.command()
        def hello():
            "Say hello."
            print("hello from a plugin")
    """
)


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """Two installed third-party distributions: one fails to import, one
    clashes with a built-in name and registers a non-backend."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "nb_broken.py").write_text(BROKEN)
    (site / "nb_dup.py").write_text(DUPLICATE)
    for dist, module in (("nb_broken", "nb_broken"), ("nb_dup", "nb_dup")):
        info = site / f"{dist}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[nerbench]\n{dist} = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("NERBENCH_LOAD_PLUGINS", "nb_broken,nb_dup")
    nerbench.plugin_system.manager.reset_registry()
    return site


def test_broken_plugin_is_reported_and_the_rest_works(fake_plugins, cli_runner):
    result = cli_runner.invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.output)}
    assert set(plugins) == {"nb_broken", "nb_dup"}  # built-ins only with --all
    broken = plugins["nb_broken"]
    assert broken["error"] == "import failed: ImportError: no module named missing_dependency"
    assert set(broken) == {"name", "version", "hooks", "registered", "error"}
    assert set(broken["registered"]) == {"backends", "datasets", "prompt_formats", "combiners", "reporters",
                                         "students"}
    # Other commands keep working.
    listed = cli_runner.invoke(cli, ["datasets", "list", "--json"])
    assert listed.exit_code == 0
    assert "lener_br" in {d["id"] for d in json.loads(listed.output)}


def test_duplicate_and_wrong_type_are_refused_naming_both_plugins(fake_plugins):
    registry = get_registry()
    info = registry.plugins["nb_dup"]
    assert "prompt format 'json' is already registered by plugin 'formats'; plugin 'nb_dup'" in info.error
    assert "backend 'bogus' is not a nerbench.api.Backend" in info.error
    assert "register_reporters failed: RuntimeError: reporter hook exploded" in info.error
    assert info.registered["prompt_formats"] == ["fmt-ok"]
    assert info.version == "1.2.3"
    assert registry.provider("prompt_formats", "json") == "formats"
    assert sorted(info.hooks) == ["register_backends", "register_commands", "register_prompt_formats",
                                  "register_reporters"]


def test_plugins_all_lists_builtins_through_entry_points(cli_runner):
    result = cli_runner.invoke(cli, ["plugins", "--all", "--json"])
    plugins = {p["name"]: p for p in json.loads(result.output)}
    assert plugins["openai"]["registered"]["backends"] == ["openai", "llamacpp", "vllm", "embedded"]
    assert plugins["formats"]["registered"]["prompt_formats"] == [
        "json", "json-grouped", "inline-xml", "inline-bracket", "per-type"]
    assert "lener_br" in plugins["datasets"]["registered"]["datasets"]
    assert all(p["error"] is None for p in plugins.values())


def test_unknown_name_suggests_close_ones():
    with pytest.raises(UnknownNameError) as err:
        get_registry().get("prompt_formats", "jsn")
    assert ("unknown prompt format 'jsn'. Did you mean 'json'? "
            "Available: inline-bracket, inline-xml, json, json-grouped, per-type") in str(err.value)


def test_plugin_commands_are_added_to_the_cli(fake_plugins, tmp_path):
    import subprocess
    import sys

    env = {"PYTHONPATH": str(fake_plugins), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "NERBENCH_LOAD_PLUGINS": "nb_dup"}
    out = subprocess.run([sys.executable, "-m", "nerbench", "hello"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hello from a plugin"


def test_allow_list_disable_list_and_trace(fake_plugins, monkeypatch, capsys):
    monkeypatch.setenv("NERBENCH_LOAD_PLUGINS", "nb_dup")
    monkeypatch.setenv("NERBENCH_DISABLE_PLUGINS", "reporters, nb_broken")
    monkeypatch.setenv("NERBENCH_TRACE_PLUGINS", "1")
    nerbench.plugin_system.manager.reset_registry()
    registry = get_registry()
    assert "nb_broken" not in registry.plugins and "nb_dup" in registry.plugins
    assert registry.names("reporters") == []  # a built-in can be disabled too
    assert "json" in registry.names("prompt_formats")  # the allow-list never drops built-ins
    trace = capsys.readouterr().err.splitlines()
    # pluggy's tracer writes the lines, tagged by what they trace
    assert "nerbench plugins: reporters: not loaded (NERBENCH_DISABLE_PLUGINS) [load]" in trace
    assert "nerbench plugins: nb_broken: not loaded (NERBENCH_DISABLE_PLUGINS) [load]" in trace
    assert any(line.startswith("nerbench plugins: nb_dup.register_prompt_formats(register) -> fmt-ok (")
               and line.endswith(" ms) [hook]") for line in trace)
    assert "nerbench plugins: nb_dup.register_reporters(register) raised RuntimeError: reporter hook exploded [hook]" \
        in trace


def test_empty_allow_list_loads_no_third_party_plugin(fake_plugins, monkeypatch, capsys):
    monkeypatch.setenv("NERBENCH_LOAD_PLUGINS", "")
    nerbench.plugin_system.manager.reset_registry()
    registry = get_registry()
    assert not {"nb_broken", "nb_dup"} & set(registry.plugins)
    assert capsys.readouterr().err == ""  # no trace unless asked for


class TakesOnlyWhatItNeeds:
    """Hook implementations may take a subset of the spec's arguments (here,
    none of them): pluggy passes each only what it names."""

    def __init__(self) -> None:
        self.called: list[str] = []

    @api.hookimpl
    def register_reporters(self):
        self.called.append("register_reporters")

    @api.hookimpl
    def register_commands(self):
        self.called.append("register_commands")


def test_a_hook_implementation_may_take_a_subset_of_the_arguments(monkeypatch, capsys):
    monkeypatch.setenv("NERBENCH_TRACE_PLUGINS", "1")
    nerbench.plugin_system.manager.reset_registry()
    registry = get_registry()
    plugin = TakesOnlyWhatItNeeds()
    registry.add_plugin(plugin, "subset")
    registry.call_register_commands(cli)
    assert registry.plugins["subset"].error is None
    assert plugin.called == ["register_reporters", "register_commands"]
    trace = capsys.readouterr().err
    assert "nerbench plugins: subset.register_reporters() -> nothing (" in trace
    assert "nerbench plugins: subset.register_commands() (" in trace


def test_an_argument_the_spec_lacks_is_refused_at_registration():
    class AsksTooMuch:
        @api.hookimpl
        def register_reporters(self, register, config):
            register("never", object)

    registry = get_registry()
    registry.add_plugin(AsksTooMuch(), "greedy")
    error = registry.plugins["greedy"].error
    assert error.startswith("registration failed: PluginValidationError: ") and "'config'" in error
    assert registry.plugins["greedy"].registered["reporters"] == []
    assert "never" not in registry.names("reporters")
