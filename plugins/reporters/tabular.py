"""The leaderboard rows for scripts: JSON and CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from nerbench.api import build_board as build
from nerbench.api import flat_row


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [flat_row(split, row) for split in build(results).splits for row in split.rows]


def write_json(results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "leaderboard.json"
    path.write_text(json.dumps(rows(results), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return [path]


def write_csv(results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "leaderboard.csv"
    table = rows(results)
    with path.open("w", encoding="utf-8", newline="") as f:
        if table:
            writer = csv.DictWriter(f, fieldnames=list(table[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(table)
    return [path]
