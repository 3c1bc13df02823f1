"""The docs plugin authors read must match the code they call."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from nerbench import api, bases
from nerbench.plugin_system import hookspecs

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


# -- the bases and the public API -----------------------------------------

ROOT = DOCS.parent
#: What plugin authors read.
AUTHOR_DOCS = [ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]
BASE_HEADING = re.compile(r"^### `(\w+)`", re.M)
#: A member list item: "- `name`, `other(args)` (async): what it is".
MEMBER_BULLET = re.compile(r"^- ((?:`\w+(?:\([^`]*\))?`(?:, )?)+)", re.M)
SELF_ATTRIBUTE = re.compile(r"^\s+self\.(\w+)(?:: [^=]+)? =", re.M)
#: `api.ground`, `nerbench.api.Backend`: not `harness/api.py`.
API_NAME = re.compile(r"(?<![\w.])(?:nerbench\.)?api\.(?!py\b)(\w+)")


def author_docs() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in AUTHOR_DOCS)


def declared_bases() -> dict[str, type]:
    """The bases of `nerbench.api` and the bases of theirs that live in
    `nerbench.bases` (Configurable: options), by name."""
    found: dict[str, type] = {}
    for name in api.__all__:
        obj = getattr(api, name)
        if isinstance(obj, type) and obj.__module__ == bases.__name__:
            found.update({c.__name__: c for c in obj.__mro__ if c.__module__ == bases.__name__})
    return found


def public_members(cls: type) -> set[str]:
    """What a plugin author sees of `cls` itself (not what it inherits):
    methods, properties, class attributes, annotated fields (a TypedDict's
    keys, a Dataset's id), and the attributes its own __init__ sets."""
    names = set(vars(cls)) | set(vars(cls).get("__annotations__", {}))
    if "__init__" in vars(cls):
        names |= set(SELF_ATTRIBUTE.findall(inspect.getsource(cls.__init__)))
    return {n for n in names if not n.startswith("_")}


def documented_members(text: str) -> dict[str, set[str]]:
    """Per `### \\`Base\\`` section: the members its bullets name."""
    headings = list(BASE_HEADING.finditer(text))
    sections: dict[str, set[str]] = {}
    for heading, following in zip(headings, [*headings[1:], None]):
        end = following.start() if following else len(text)
        body = text[heading.end() : end].split("\n## ", 1)[0]
        sections[heading.group(1)] = {name for names in MEMBER_BULLET.findall(body)
                                      for name in re.findall(r"`(\w+)", names)}
    return sections


def base_drift(text: str) -> list[str]:
    documented = documented_members(text)
    problems = []
    for name, cls in declared_bases().items():
        if name not in documented:
            problems.append(f"no section for {name}")
            continue
        members = public_members(cls)
        problems += [f"{name}.{m} is not documented" for m in sorted(members - documented[name])]
        problems += [f"{name}.{m} is documented but does not exist" for m in sorted(documented[name] - members)]
    return problems


def api_drift(text: str) -> list[str]:
    named = set(API_NAME.findall(text)) - {"__all__"}
    return [f"api.{n} is named nowhere in the author docs" for n in sorted(set(api.__all__) - named)] + [
        f"the docs name api.{n}, which is not in api.__all__" for n in sorted(named - set(api.__all__))]


def test_every_public_member_of_every_base_is_documented():
    assert {"Backend", "Configurable", "ModelInfo", "JudgedCombiner", "Judges", "Reporter"} <= set(declared_bases())
    assert base_drift((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")) == []


def test_every_name_of_the_public_api_is_documented_and_no_other():
    assert len(api.__all__) >= 50
    assert api_drift(author_docs()) == []


def test_the_base_and_api_checks_catch_drift():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "- `check_model(model)`:" in text
    assert "Backend.check_model is not documented" in base_drift(text.replace("- `check_model(model)`:", "- check:"))
    assert "Judges.ask_all is not documented" in base_drift(text.replace("- `ask_all(", "- `ask_everyone("))
    assert "Judges.ask_everyone is documented but does not exist" in base_drift(
        text.replace("- `ask_all(", "- `ask_everyone("))
    assert "no section for ModelInfo" in base_drift(text.replace("### `ModelInfo`", "### ModelInfo"))
    docs = author_docs()
    assert "api.ground is named nowhere in the author docs" in api_drift(re.sub(r"\bapi\.ground\b", "ground", docs))
    assert "the docs name api.ensemble, which is not in api.__all__" in api_drift(docs + "\n`api.ensemble.X`\n")


# -- the architecture table and dotted names ---------------------------------

HARNESS = ROOT / "harness"
#: `module.py` or `folder/module.py` in a table row of docs/architecture.md.
TABLE_MODULE = re.compile(r"^\|[^|]*\| ([^|]+) \|", re.M)
DOTTED = re.compile(r"(?<![\w./-])nerbench(?:\.[A-Za-z_]\w*)+")


def documented_modules(text: str) -> set[str]:
    names = set()
    for cell in TABLE_MODULE.findall(text):
        names |= set(re.findall(r"`([\w/]+\.py)`", cell))
    return names


def package_modules() -> set[str]:
    return {str(p.relative_to(HARNESS)) for p in HARNESS.rglob("*.py") if p.name != "__init__.py"}


def test_every_harness_module_is_in_the_architecture_table():
    table = documented_modules((DOCS / "architecture.md").read_text(encoding="utf-8"))
    assert sorted(package_modules() - table) == [], "modules missing from docs/architecture.md's table"
    assert sorted(table - package_modules()) == [], "docs/architecture.md's table names modules that do not exist"


def resolves(dotted: str) -> bool:
    """Whether `nerbench.a.b.c` is a module, or an attribute of the longest module prefix."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def docstrings(source: str) -> list[str]:
    import ast

    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                out.append(doc)
    return out


def dotted_names() -> dict[str, str]:
    """Every `nerbench.…` name in the docs and in the package's docstrings → where."""
    found = {}
    for path in [*AUTHOR_DOCS, ROOT / "README.md"]:
        for name in DOTTED.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name.rstrip("."), str(path.relative_to(ROOT)))
    for path in HARNESS.rglob("*.py"):
        for doc in docstrings(path.read_text(encoding="utf-8")):
            for name in DOTTED.findall(doc):
                found.setdefault(name.rstrip("."), str(path.relative_to(ROOT)))
    return found


def test_every_dotted_nerbench_name_in_docs_and_docstrings_resolves():
    names = dotted_names()
    assert len(names) >= 15  # the walk found them
    assert sorted(f"{n} ({where})" for n, where in names.items() if not resolves(n)) == []


def test_the_module_and_name_checks_catch_drift():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    assert "index/search.py" not in documented_modules(text.replace("| `index/search.py` |", "| search |"))
    assert resolves("nerbench.api.BackendError") and resolves("nerbench.index.candidates")
    assert not resolves("nerbench.BackendError") and not resolves("nerbench.ensemble.CandidateIndex")
