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


# -- the layers of docs/architecture.md ------------------------------------

#: Lowest first: a unit (a top-level module or a folder of harness/) may
#: import only units before it in this list, and itself.
LAYERS = [
    "nerbench", "errors", "records", "redaction", "userdirs",  # foundation
    "files", "parse", "score", "index",  # libraries
    "bases", "data", "templates", "llama", "students", "board", "plugin_system",  # what plugins build on
    "config", "plan", "infer", "combine", "report", "distil",  # the stages, in data-flow order
    "pipeline", "testing", "api", "cli_review", "cli", "__main__",  # entry points
]
#: What `nerbench.api` may re-export from: below the stages.
PUBLIC_LAYERS = set(LAYERS[: LAYERS.index("plugin_system") + 1])


def harness_modules(root: Path = REPO / "harness") -> dict[str, str]:
    """Module name → source for every module of the package."""
    out = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["nerbench", *parts])] = path.read_text(encoding="utf-8")
    return out


def module_imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module → the package modules it imports: every import statement,
    type-only and function-level ones too (`from nerbench.x import y` reaches
    nerbench.x.y when that is a module, else nerbench.x)."""
    graph = {}
    for name, source in sources.items():
        reached = set()
        for target in imports(source):
            while target not in sources and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in sources and target != name:
                reached.add(target)
        graph[name] = reached
    return graph


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "nerbench"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {u: i for i, u in enumerate(LAYERS)}
    problems = []
    for module, targets in sorted(graph.items()):
        if unit(module) not in rank:
            problems.append(f"{module} is in no layer of LAYERS")
            continue
        for target in sorted(targets):
            if unit(target) != unit(module) and rank.get(unit(target), len(LAYERS)) > rank[unit(module)]:
                problems.append(f"{module} imports {target}, a layer above it")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles among modules (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_import_goes_down_the_layers_and_none_closes_a_cycle():
    graph = module_imports(harness_modules())
    assert len(graph) > 60 and sum(map(len, graph.values())) > 150  # the walk found the package
    assert upward_imports(graph) == []
    assert cycles(graph) == []


def test_the_layer_check_fails_on_a_planted_upward_import_and_cycle():
    sources = harness_modules()
    planted = dict(sources)
    planted["nerbench.score.strict"] += "\nfrom nerbench.combine.stage import run_combiners\n"
    assert "nerbench.score.strict imports nerbench.combine.stage, a layer above it" in upward_imports(
        module_imports(planted))
    planted = dict(sources)
    planted["nerbench.plan.demos"] += "\nif TYPE_CHECKING:\n    from nerbench.infer.runner import Runner\n"
    assert "nerbench.plan.demos imports nerbench.infer.runner, a layer above it" in upward_imports(
        module_imports(planted))
    planted = dict(sources)
    planted["nerbench.files.atomic"] += "\ndef f():\n    from nerbench.files import results\n"
    assert ["nerbench.files.atomic", "nerbench.files.results"] in cycles(module_imports(planted))


def test_the_public_api_re_exports_only_from_the_public_layers():
    graph = module_imports(harness_modules())
    assert graph["nerbench.api"]
    outside = sorted(t for t in graph["nerbench.api"] if unit(t) not in PUBLIC_LAYERS)
    assert outside == [], f"nerbench.api imports from stage folders: {outside}"
