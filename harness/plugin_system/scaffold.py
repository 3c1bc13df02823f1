"""`nerbench plugin new`: a pip-installable plugin package, ready to test."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from string import Template

from nerbench import __version__
from nerbench.errors import NerbenchError
from nerbench.plugin_system import hookspecs
from nerbench.plugin_system.hookspecs import singular

#: `--kind` choices: the registry's kinds (`hookspecs.KINDS`), one plugin each.
KINDS = tuple(singular(kind, "-") for kind in hookspecs.KINDS)
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

_USAGE = {
    "backend": 'In a config: `[[backend]]` with `kind = "${name}"`, `base_url = "http://127.0.0.1:8080"` '
               "and `models = [...]`.",
    "dataset": "`nerbench datasets list` shows it; use it as `${name}:test` or in a config's `[[dataset]]`.",
    "prompt-format": 'In a config: `[[format]]` with `name = "${name}"`.',
    "combiner": "`nerbench ensemble --combiner ${name} ...`, or `combiners = [\"${name}\"]` in a config's "
                "`[ensemble]`.",
    "reporter": 'In a config: `reporters = ["markdown", "${name}"]`; or '
                "`nerbench leaderboard results.json --reporter ${name}`.",
    "student": "`nerbench train ${name} --gold ID:SPLIT --dev ID:SPLIT -o DIR`; then, in a config, "
               '`[[backend]]` with `kind = "${name}"` and `models = ["DIR/seed-0"]`, and '
               '`[[format]] name = "student"`.',
}

# A starter corpus for dataset plugins: whitespace tokens, (first, last+1, label).
_STARTER = [
    ("Ada Lovelace worked with Charles Babbage in London .", [(0, 2, "PER"), (4, 6, "PER"), (7, 8, "LOC")]),
    ("The Royal Society met on Thursday .", [(1, 3, "ORG")]),
    ("Nothing to see here .", []),
]


def _template(name: str) -> Template:
    return Template(resources.files("nerbench.plugin_system").joinpath("templates", name).read_text(encoding="utf-8"))


def _slash_tagged(text: str, entities: list[tuple[int, int, str]]) -> str:
    """A starter sentence in the template reader's format: WORD/TAG tokens (IOB2)."""
    words = text.split(" ")
    tags = ["O"] * len(words)
    for first, last, label in entities:
        tags[first:last] = [f"B-{label}"] + [f"I-{label}"] * (last - first - 1)
    return " ".join(f"{word}/{tag}" for word, tag in zip(words, tags))


def _starter_dataset(name: str, package: Path) -> list[Path]:
    data = package / "data" / "test.txt"
    data.parent.mkdir()
    data.write_text("".join(_slash_tagged(t, e) + "\n" for t, e in _STARTER), encoding="utf-8")
    manifest = {
        "id": name,
        "name": f"{name} (starter corpus: replace it)",
        "language": "en",
        "license": "CC0-1.0",
        "citation": f"nerbench-{name} starter corpus",
        "format": {"type": name, "tag_scheme": "iob2", "repair": "none"},
        "labels": [
            {"name": "PER", "descriptions": {"en": "people"}},
            {"name": "ORG", "descriptions": {"en": "organisations"}},
            {"name": "LOC", "descriptions": {"en": "places"}},
        ],
        "splits": {
            "test": [{
                "path": f"{name}/test.txt",
                "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
                "bytes": data.stat().st_size,
                "bundled": "data/test.txt",
            }]
        },
    }
    path = package / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return [data, path]


def new_plugin(name: str, kind: str, parent: Path) -> Path:
    """Write the package `nerbench-NAME` under `parent`; return its directory."""
    if not _NAME.match(name):
        raise NerbenchError(f"plugin name {name!r}: use lowercase letters, digits and single hyphens, e.g. my-format")
    if kind not in KINDS:
        raise NerbenchError(f"plugin kind {kind!r} is not one of {', '.join(KINDS)}")
    root = Path(parent) / f"nerbench-{name}"
    if root.exists():
        raise NerbenchError(f"{root} already exists; choose another name or directory")
    module = "nerbench_" + name.replace("-", "_")
    values = {
        "name": name,
        "kind": kind,
        "module": module,
        "cls": "".join(part.capitalize() for part in name.split("-")),
        "nerbench_version": __version__.split("+")[0],
    }
    values["usage"] = Template(_USAGE[kind]).substitute(values)
    package = root / module
    (root / "tests").mkdir(parents=True)
    package.mkdir()
    files = {
        root / "pyproject.toml": "pyproject.toml.tmpl",
        root / "README.md": "README.md.tmpl",
        package / "__init__.py": f"{kind}.py.tmpl",
        root / "tests" / f"test_{module}.py": f"test_{kind}.py.tmpl",
    }
    for path, template in files.items():
        path.write_text(_template(template).substitute(values), encoding="utf-8")
    if kind == "dataset":
        _starter_dataset(name, package)
    return root
