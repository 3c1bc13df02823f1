"""html: a self-contained HTML leaderboard page."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from nerbench import api


class HtmlReporter(api.Reporter):
    def render(self, results, out_dir):
        tables = defaultdict(list)
        for doc in results:
            for s in doc["systems"]:
                tables[f"{s['dataset']}:{s['split']}"].append(s)
        parts = ["<!doctype html><meta charset=utf-8><title>nerbench leaderboard</title>"]
        for split in sorted(tables):
            rows = sorted(tables[split], key=lambda s: (-s["metrics"]["f1"], s["system"]))
            parts.append(f"<h2>{html.escape(split)}</h2><table><tr><th>#<th>system<th>P<th>R<th>F1")
            for rank, s in enumerate(rows, 1):
                m = s["metrics"]
                parts.append(f"<tr><td>{rank}<td>{html.escape(s['system'])}" + "".join(
                    f"<td>{100 * m[k]:.1f}" for k in ("precision", "recall", "f1")))
            parts.append("</table>")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        path = Path(out_dir) / "leaderboard.html"
        path.write_text("\n".join(parts) + "\n", encoding="utf-8")
        return [path]


@api.hookimpl
def register_reporters(register):
    register("html", HtmlReporter)
