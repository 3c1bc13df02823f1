"""One way for tests to build a config and run it: Python values written as
TOML (tomli-w), so a test states what differs from a plain run instead of
editing TOML text with string replaces."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w
from click.testing import CliRunner, Result

from nerbench.cli import cli

#: A backend that is never reached: for plans, dry runs and config errors.
NOWHERE = "http://127.0.0.1:9"
#: The request timeout of tests against real servers: a hang guard, not a
#: deadline. llama.cpp's spinning threads slow down many times over when
#: another job shares the 2 cores; the 120 s default once timed out there.
HANG_GUARD_S = 600


def backend(name: str, kind: str, models: Sequence[Any], **options: Any) -> dict[str, Any]:
    """A `[[backend]]` table: its name, kind, models and any other key."""
    return {"name": name, "kind": kind, "models": list(models), **options}


def dataset(dataset_id: str = "lener_br", *splits: str, **options: Any) -> dict[str, Any]:
    """A `[[dataset]]` table (the test split unless splits are given)."""
    return {"id": dataset_id, "splits": list(splits or ("test",)), **options}


def config(
    *backends: dict[str, Any],
    datasets: Sequence[dict[str, Any]] = (dataset(),),
    formats: Sequence[str | dict[str, Any]] = ("json",),
    run: dict[str, Any] | None = None,
    generation: dict[str, Any] | None = None,
    ensemble: dict[str, Any] | None = None,
    **tables: Any,
) -> str:
    """The TOML text of a config. A format is a name or a whole `[[format]]`
    table; an empty section is left out (so a test can leave one missing);
    `tables` adds any other top-level table, misspelt ones included."""
    doc: dict[str, Any] = {"run": run, "generation": generation, "backend": list(backends),
                           "dataset": list(datasets),
                           "format": [{"name": f} if isinstance(f, str) else f for f in formats],
                           "ensemble": ensemble, **tables}
    return tomli_w.dumps({key: value for key, value in doc.items() if value})


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_config(cli_runner: CliRunner, tmp_path: Path, text: str, name: str = "out",
               *options: str) -> tuple[Result, dict[str, Any] | None]:
    """`nerbench run` on `text` (written as tmp_path/NAME.toml) into
    tmp_path/NAME: the CLI's result and, when results were written (exit 0,
    or 3: some requests got no answer), results.json."""
    cfg = write_config(tmp_path / f"{name}.toml", text)
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / name), "--no-progress", *options])
    results = json.loads((tmp_path / name / "results.json").read_text()) if result.exit_code in (0, 3) else None
    return result, results
