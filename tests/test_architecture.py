"""The lines docs/architecture.md draws, held: plugins import only the
public API, the core never imports plugins, no plugin imports another."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What plugin code may import of nerbench (tests of plugins also nerbench.testing).
PUBLIC = {"nerbench.api"}
FOR_TESTS = {"nerbench.api", "nerbench.testing"}


def imports(source: str) -> list[str]:
    """Absolute module names a Python source imports (`from x import y` → x, x.y)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def nerbench_imports(source: str) -> set[str]:
    """The nerbench modules below the package a source reaches
    (`from nerbench import api` and `from nerbench.api import Span` both reach
    nerbench.api; `from nerbench.index.candidates import x`, nerbench.combine)."""
    return {".".join(name.split(".")[:2]) for name in imports(source) if name.startswith("nerbench.")}


def plugin_sources() -> list[tuple[Path, bool]]:
    """(file, is a test) for every plugin source: built-ins, examples, templates."""
    out = []
    for root in ("plugins", "examples"):
        for path in (REPO / root).rglob("*.py"):
            out.append((path, "tests" in path.parts))
    for path in (REPO / "harness" / "plugin_system" / "templates").glob("*.py.tmpl"):
        out.append((path, path.name.startswith("test_")))
    return out


def template_source(path: Path) -> str:
    # ${placeholders} of the scaffold are not Python: give them a name.
    return re.sub(r"\$\{?(\w+)\}?", r"x_\1", path.read_text(encoding="utf-8"))


def test_plugins_examples_and_templates_import_only_the_public_api():
    seen = 0
    for path, is_test in plugin_sources():
        source = template_source(path) if path.suffix == ".tmpl" else path.read_text(encoding="utf-8")
        allowed = FOR_TESTS if is_test else PUBLIC
        reached = nerbench_imports(source)
        seen += bool(reached)
        assert reached <= allowed, f"{path.relative_to(REPO)} imports {sorted(reached - allowed)}"
    assert seen > 20  # the walk found the plugins


def test_the_check_catches_an_internal_import():
    assert nerbench_imports("from nerbench.index.candidates import build_index") == {"nerbench.index"}
    assert nerbench_imports("from nerbench import api\nfrom nerbench.api import Span") == {"nerbench.api"}
    assert nerbench_imports("import nerbench.plugin_system.manager") == {"nerbench.plugin_system"}


def test_the_core_never_imports_plugins_and_no_plugin_imports_another():
    for path in (REPO / "harness").rglob("*.py"):
        assert not [n for n in imports(path.read_text(encoding="utf-8")) if n.startswith("nerbench_plugins")], path
    for path in (REPO / "plugins").rglob("*.py"):
        if path == REPO / "plugins" / "__init__.py":
            continue
        # plugins/X.py is a plugin (its package is nerbench_plugins); plugins/X/*.py belong to plugin X
        top = 1 if path.parent == REPO / "plugins" else 2
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level < top, f"{path.relative_to(REPO)} reaches out of its plugin"
                assert not (node.module or "").startswith("nerbench_plugins"), path
