"""Built-in reporters: markdown (pages for GitHub), json and csv (the
leaderboard rows), plots (SVGs; optional extra `plots`), explorer (one
static HTML page of every sentence). All render from results documents alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nerbench import api

from nerbench.api import build_board as build

from . import explorer, markdown, plots, tabular


class MarkdownReporter(api.Reporter):
    """leaderboard.md (index), lang-LANG.md, DATASET-SPLIT.md, transfer.md, plots/ when matplotlib is there,
    and explorer.html when the results carry their sentences."""

    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        return markdown.render(results, Path(out_dir))


class JsonReporter(api.Reporter):
    """leaderboard.json: one object per ranked row, intervals and p-values included."""

    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        return tabular.write_json(results, Path(out_dir))


class CsvReporter(api.Reporter):
    """leaderboard.csv: the same rows as the JSON reporter."""

    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        return tabular.write_csv(results, Path(out_dir))


class PlotsReporter(api.Reporter):
    """plots/*.svg only; needs `pip install 'nerbench[plots]'`."""

    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        if not plots.available():
            raise api.NerbenchError("the plots reporter needs matplotlib: pip install 'nerbench[plots]'")
        plots.draw(build(results), Path(out_dir) / "plots")
        return sorted((Path(out_dir) / "plots").glob("*.svg"))


class ExplorerReporter(api.Reporter):
    """explorer.html only: every sentence, gold and each system's spans, with filters."""

    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        path = explorer.write(results, Path(out_dir))
        if path is None:
            raise api.NerbenchError("the explorer needs results that carry their sentences (format 2); "
                                    "re-score an older run with `nerbench rescore RUN_DIR`")
        return [path]


@api.hookimpl
def register_reporters(register: Callable[[str, Any], None]) -> None:
    register("markdown", MarkdownReporter)
    register("json", JsonReporter)
    register("csv", CsvReporter)
    register("plots", PlotsReporter)
    register("explorer", ExplorerReporter)
