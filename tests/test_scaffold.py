"""`nerbench plugin new`: every kind generates a package whose own test passes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nerbench.cli import cli
from nerbench.plugin_system.scaffold import KINDS


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_generated_plugin_passes_its_own_test(kind, tmp_path, cli_runner):
    name = f"my-{kind}"
    result = cli_runner.invoke(cli, ["plugin", "new", name, "--kind", kind, "-d", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / f"nerbench-{name}"
    module = "nerbench_" + name.replace("-", "_")
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert f'name = "nerbench-{name}"' in pyproject and f'{name} = "{module}"' in pyproject
    # Not installed: the test registers the module itself (plugins=...) or
    # imports it; nerbench.testing's fixtures come from the pytest11 entry point.
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
                         cwd=root, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout


def test_bad_names_and_existing_folders_are_one_line_errors(tmp_path, cli_runner):
    bad = cli_runner.invoke(cli, ["plugin", "new", "My_Plugin", "--kind", "combiner", "-d", str(tmp_path)])
    assert bad.exit_code == 2 and "plugin name 'My_Plugin'" in bad.output and len(bad.output.strip().splitlines()) == 1
    assert cli_runner.invoke(cli, ["plugin", "new", "x", "--kind", "combiner", "-d", str(tmp_path)]).exit_code == 0
    again = cli_runner.invoke(cli, ["plugin", "new", "x", "--kind", "combiner", "-d", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
