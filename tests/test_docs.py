"""The docs plugin authors read must match the code they call."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from nerbench.plugins import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"
HEADING = re.compile(r"^## `(\w+)\(([^)]*)\)`$", re.M)


def documented_hooks(text: str) -> dict[str, list[str]]:
    return {name: [a.strip() for a in args.split(",") if a.strip()] for name, args in HEADING.findall(text)}


def spec_hooks() -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, "nerbench_spec")
    }


def test_every_hook_is_documented_with_its_exact_signature():
    documented = documented_hooks((DOCS / "plugin-hooks.md").read_text(encoding="utf-8"))
    specs = spec_hooks()
    assert len(specs) >= 6
    assert sorted(set(specs) - set(documented)) == [], "hooks missing from docs/plugin-hooks.md"
    assert sorted(set(documented) - set(specs)) == [], "docs/plugin-hooks.md names hooks that do not exist"
    for name, args in specs.items():
        assert documented[name] == args, f"{name}: documented {documented[name]}, hookspec has {args}"


def test_the_check_catches_drift():
    text = (DOCS / "plugin-hooks.md").read_text(encoding="utf-8")
    drifted = documented_hooks(text.replace("## `register_commands(cli)`", "## `register_commands(cli, extra)`"))
    assert drifted["register_commands"] != spec_hooks()["register_commands"]
    assert "register_commands" not in documented_hooks(text.replace("## `register_commands(cli)`", ""))
