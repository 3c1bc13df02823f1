"""SVG plots for the leaderboard (optional extra `plots`: matplotlib):
F1 per entity type as a heatmap, the transfer matrix, F1 against latency.
Drawn deterministically (fixed SVG ids, no dates) so re-rendering is
byte-identical."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from nerbench.api import Board, Split, slug


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    # names are data, never TeX: "$" in a model name must not start mathtext
    matplotlib.rcParams.update({"svg.hashsalt": "nerbench", "svg.fonttype": "none", "font.size": 9,
                                "text.parse_math": False})
    import matplotlib.pyplot as plt

    return plt


def _text(name: str) -> str:
    """A name as a label: control characters (a newline) would break the line or lack a glyph."""
    return "".join(ch if ch.isprintable() else " " for ch in name)


def _save(fig: Any, path: Path) -> None:
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")


def _heatmap(plt: Any, values: list[list[float]], rows: list[str], columns: list[str], title: str, path: Path,
             vmax: float = 100, label: str = "F1", digits: int = 1) -> None:
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 + 0.9 * len(columns)), 1.2 + 0.35 * len(rows)))
    image = ax.imshow(values, vmin=0, vmax=vmax, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(columns)), [_text(c) for c in columns], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [_text(r) for r in rows])
    for i, line in enumerate(values):
        for j, value in enumerate(line):
            ax.text(j, i, f"{value:.{digits}f}", ha="center", va="center",
                    color="white" if value < 0.6 * vmax else "black")
    ax.set_title(_text(title))
    fig.colorbar(image, ax=ax, label=label)
    _save(fig, path)
    plt.close(fig)


def _split_plots(plt: Any, split: Split, out: Path) -> dict[str, str]:
    figures = {}
    labels = split.labels
    if labels:
        values = [[100 * row.entry["metrics"]["per_type"].get(lb, {}).get("f1", 0.0) for lb in labels]
                  for row in split.rows]
        path = out / f"{split.slug}-per-type.svg"
        _heatmap(plt, values, [row.name for row in split.rows], labels, f"{split.ref}: F1 per type", path)
        figures["per_type"] = f"plots/{path.name}"
    room = split.headroom
    if room and len(room["systems"]) > 1:
        path = out / f"{split.slug}-complementarity.svg"
        numbered = [f"{i} {name}" for i, name in enumerate(room["systems"], 1)]
        _heatmap(plt, room["only"], numbered, [str(i) for i in range(1, len(numbered) + 1)],
                 f"{split.ref}: gold entities the row finds and the column misses", path,
                 vmax=max(1, max(max(r) for r in room["only"])), label="gold entities", digits=0)
        figures["complementarity"] = f"plots/{path.name}"
    timed = [row for row in split.rows if row.entry.get("counts", {}).get("mean_latency_s") is not None]
    if timed:
        fig, ax = plt.subplots(figsize=(6, 4))
        for row in timed:
            x, y = row.entry["counts"]["mean_latency_s"], 100 * row.entry["metrics"]["f1"]
            ax.scatter([x], [y])
            ax.annotate(_text(row.name), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("mean latency per request (s)")
        ax.set_ylabel("F1")
        ax.set_title(_text(f"{split.ref}: F1 against latency"))
        path = out / f"{split.slug}-latency.svg"
        _save(fig, path)
        plt.close(fig)
        figures["latency"] = f"plots/{path.name}"
    return figures


def draw(board: Board, out: Path) -> dict[str, dict[str, str]]:
    """Write the SVGs under `out`; return page → figure name → relative path."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, dict[str, str]] = {s.slug: _split_plots(plt, s, out) for s in board.splits}
    figures["transfer"] = {}
    for combiner, matrix in sorted(board.transfer.items()):
        sources = sorted(matrix)
        targets = sorted({t for row in matrix.values() for t in row})
        values = [[100 * matrix[s].get(t, 0.0) for t in targets] for s in sources]
        path = out / f"transfer-{slug(combiner)}.svg"
        _heatmap(plt, values, sources, targets, f"transfer, {combiner}: chosen on (rows), evaluated on (columns)", path)
        figures["transfer"][combiner] = f"plots/{path.name}"
    return figures
