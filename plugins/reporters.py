"""Built-in reporters: a markdown leaderboard rendered from results JSON alone."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from tabulate import tabulate

import nerbench


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _escape(text: str) -> str:
    # Table cells: a pipe would end the cell, and * _ ` < would start markup.
    for ch in "\\|*_`<>[]":
        text = text.replace(ch, "\\" + ch)
    return text


def _rate(counts: dict[str, Any], key: str, n: int) -> str:
    return f"{100 * counts.get(key, 0) / n:.1f}" if n else "–"


class MarkdownReporter(nerbench.Reporter):
    def render(self, results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for doc in results:
            for system in doc["systems"] + doc.get("ensembles", []):
                groups[(system["dataset"], system["split"])].append(system)
        lines = ["# nerbench leaderboard", ""]
        for (dataset, split), systems in sorted(groups.items()):
            systems = sorted(systems, key=lambda s: (-s["metrics"]["f1"], s["system"]))
            n = systems[0]["sentences"]
            lines += [f"## {_escape(dataset)}:{_escape(split)} ({n} sentences)", ""]
            rows = []
            for rank, s in enumerate(systems, 1):
                m = s["metrics"]
                row = [rank, _escape(s["system"]), _pct(m["precision"]), _pct(m["recall"]), _pct(m["f1"]),
                       _pct(m["macro_f1"])]
                if "counts" in s:  # a single model: how its outputs fared and what it cost
                    c, count = s["counts"], s["sentences"]
                    row += [_rate(c["statuses"], "unparseable", count), _rate(c["statuses"], "truncated", count),
                            _rate(c["statuses"], "error", count), c["issues"].get("ungrounded", 0),
                            c["issues"].get("unknown_label", 0),
                            "–" if c["mean_latency_s"] is None else f"{c['mean_latency_s']:.2f}"]
                else:  # an ensemble of the systems above
                    row += ["–"] * 6
                rows.append(row)
            headers = ["#", "system", "P", "R", "F1", "macro F1", "unparseable %", "truncated %",
                       "error %", "ungrounded", "unknown label", "latency s"]
            lines += [tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
            best = systems[0]
            per_type = [[_escape(label), _pct(v["precision"]), _pct(v["recall"]), _pct(v["f1"]), v["support"]]
                        for label, v in best["metrics"]["per_type"].items()]
            lines += [f"Per type, {_escape(best['system'])}:", "",
                      tabulate(per_type, headers=["type", "P", "R", "F1", "support"], tablefmt="github",
                               disable_numparse=True), ""]
        for doc in results:
            for combiner, matrix in sorted(doc.get("transfer", {}).items()):
                targets = sorted({t for row in matrix.values() for t in row})
                rows = [[_escape(src)] + [_pct(matrix[src].get(t)) for t in targets] for src in sorted(matrix)]
                lines += [f"## Transfer, {_escape(combiner)}: F1 of the ensemble chosen on the row's dev sample", "",
                          tabulate(rows, headers=["chosen on \\ evaluated on"] + [_escape(t) for t in targets],
                                   tablefmt="github", disable_numparse=True), ""]
        lines += ["## Provenance", ""]
        for doc in results:
            models = sorted({f"{s['model']} ({s['backend'].get('digest') or 'no digest'})" for s in doc["systems"]})
            lines += [
                f"- nerbench {doc['nerbench_version']}, {doc['created']}, "
                f"{doc['machine']['platform']} ({doc['machine']['cpu_count']} CPUs), wall {doc['wall_s']} s",
                f"  - models: {_escape(', '.join(models))}",
                "  - datasets: " + ", ".join(f"{_escape(k)} manifest {v['manifest_sha256'][:12]}"
                                             for k, v in sorted(doc["datasets"].items())),
                "  - plugins: " + ", ".join(f"{_escape(k)} {v}" for k, v in doc["plugins"].items()),
                f"  - generation: {_escape(str(doc['generation']))}",
            ]
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "leaderboard.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [path]


@nerbench.hookimpl
def register_reporters(register):
    register("markdown", MarkdownReporter)
