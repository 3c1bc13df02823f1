"""Markdown leaderboards that render on GitHub: an index, one page per
language, one per dataset split, and a transfer page. Re-rendering the same
results gives byte-identical files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from nerbench.api import Board, Split, failure_rates, slug
from nerbench.api import build_board as build

from . import explorer, plots

PLOTS_MISSING = ("_Plots are not drawn: install the optional extra with `pip install 'nerbench[plots]'` "
                 "and re-render with `nerbench leaderboard`._")


def escape(text: Any) -> str:
    """Text safe in a GitHub table cell or heading: `|` would end the cell;
    `*`, `_`, backticks, `<`, `[` would start markup; a newline (or any
    control character) would end the line."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    for ch in "\\|*_`<>[]#":
        text = text.replace(ch, "\\" + ch)
    return text


def code(text: Any) -> str:
    """A short identifier (a language code) as code, or escaped text when it
    is not one: backslashes do not escape inside a code span."""
    text = str(text)
    return f"`{text}`" if re.fullmatch(r"[A-Za-z0-9._-]+", text) else escape(text)


def _failed(entries: list[dict[str, Any]]) -> tuple[int, int]:
    """(sentences that got no answer, sentences) over systems' entries."""
    systems = [e for e in entries if "counts" in e]
    return (sum(e["counts"]["statuses"].get("error", 0) for e in systems), sum(e["sentences"] for e in systems))


def _partial_note(entries: list[dict[str, Any]], documents: Sequence[dict[str, Any]] = ()) -> list[str]:
    """A plain warning when some requests got no answer: those sentences
    count as predicting nothing, so the scores are not a complete run's."""
    failed, total = _failed(entries)
    questions = sum(sum(doc.get("judging", {}).get("errors", {}).values()) for doc in documents)
    if not failed and not questions and not any(doc.get("partial") for doc in documents):
        return []
    parts = [f"{failed} of {total} sentences"] if failed else []
    parts += [f"{questions} questions to LLM judges"] if questions else []
    return [f"> **Partial results:** {' and '.join(parts) or 'some requests'} got no answer (see `counts.errors` "
            "in results.json); a sentence with no answer counts as predicting nothing. Run the same command "
            "again to ask for them.", ""]


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(rows: list[list[Any]], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _footer(board: Board) -> list[str]:
    lines = ["## Provenance", ""]
    for doc in board.documents:
        if "nerbench_version" not in doc:
            continue
        machine = doc.get("machine", {})
        systems = [s for s in doc.get("systems", []) if "backend" in s]
        # Systems known by their predictions file alone (`nerbench score --results`): no model ran for them.
        stored = sorted({f"{s['predictions']['file']} (sha256 {str(s['predictions']['sha256'])[:12]})"
                         for s in doc.get("systems", []) if "backend" not in s and "predictions" in s})
        ran = bool(systems) or not stored
        made = f"run wall time {escape(doc.get('wall_s', '?'))} s" if ran else "scored from stored predictions"
        lines.append(f"- nerbench {escape(doc['nerbench_version'])}, results of {escape(doc.get('created', '?'))}, "
                     f"{escape(machine.get('platform', '?'))} ({escape(machine.get('cpu_count', '?'))} CPUs), {made}")
        models = sorted({f"{s['backend']['name']}/{s['model']}: {s['backend'].get('digest') or 'no digest'}"
                         + (f", {s['backend']['quantization']}" if s['backend'].get('quantization') else "")
                         for s in systems})
        formats = sorted({f"{s['prompt_format']['name']} v{s['prompt_format']['version']} "
                          f"({s['prompt_format']['plugin']})" for s in systems})
        lines += [
            *(["  - models: " + "; ".join(escape(m) for m in models),
               "  - prompt formats: " + ", ".join(escape(f) for f in formats)] if ran else []),
            *(["  - stored predictions: " + ", ".join(escape(f) for f in stored)] if stored else []),
            "  - datasets: " + ", ".join(f"{escape(k)} (manifest sha256 {escape(str(v['manifest_sha256'])[:12])})"
                                         for k, v in sorted(doc.get("datasets", {}).items())),
            "  - plugins: " + ", ".join(f"{escape(k)} {escape(v)}" for k, v in sorted(doc.get("plugins", {}).items())),
            *(["  - generation: " + ", ".join(f"{escape(k)}={escape(v)}"
                                              for k, v in sorted(doc.get("generation", {}).items()))] if ran else []),
        ]
    return lines + [""]


def sentences_per_s(entry: dict[str, Any]) -> float | None:
    """Sentences answered per second of the backend's own time (latency summed over requests)."""
    counts = entry.get("counts") or {}
    latency, requests = counts.get("mean_latency_s"), counts.get("requests")
    return entry["sentences"] / (latency * requests) if latency and requests else None


def _megabytes(entry: dict[str, Any]) -> str:
    size = entry.get("backend", {}).get("size_bytes")
    return "–" if size is None else f"{size / 1e6:.1f}"


def _split_page(board: Board, split: Split, figures: dict[str, str] | None) -> str:
    ranked = ("seqeval, strict, every distinct predicted span counts: docs/scoring.md" if split.scoring == "span-set"
              else "seqeval, strict IOB2")
    lines = [f"# {escape(split.ref)}", "", *_partial_note([row.entry for row in split.rows]),
             f"{split.sentences} sentences, language {code(split.language)}"
             # (said only of right-to-left text, so the pages of other splits render as they always have)
             f"{', written right to left' if split.direction == 'rtl' else ''}. Ranked by micro F1 ({ranked}); "
             "95% interval: percentile bootstrap over sentences (2,000 resamples, seed 0). "
             "Failure rates: share of sentences (unparseable, truncated, error) or of mentions "
             "(ungrounded, unknown label).", ""]
    raced = [row for row in split.rows if "race" in row.entry]
    # Only where a system reports its size (a trained student): pages of LLM-only runs stay as they were.
    sized = any("size_bytes" in row.entry.get("backend", {}) for row in split.rows)
    if raced:
        lines += ["**Raced** (docs/racing.md): systems answered the split in rounds over a seeded order of its "
                  "sentences and a system worse than the leader with confidence stopped being asked, so each "
                  "row is scored on its own sample — the first *sentences* of that order — and its interval is "
                  "on that sample. F1 values on different samples are not compared here; paired tests use the "
                  "sentences both sides answered. Where each stopped and why: the Racing section.", ""]
    rows: list[list[Any]] = []
    for row in split.rows:
        m, rates, counts = row.entry["metrics"], failure_rates(row.entry), row.entry.get("counts", {})
        interval = "–" if row.interval is None else f"{pct(row.interval[0])}–{pct(row.interval[1])}"
        tokens = (counts.get("prompt_tokens") or 0) + (counts.get("completion_tokens") or 0) if counts else None
        rows.append([row.rank, escape(row.name), pct(m["precision"]), pct(m["recall"]), pct(m["f1"]), interval,
                     pct(m["macro_f1"]), pct(rates["unparseable"]), pct(rates["truncated"]), pct(rates["error"]),
                     pct(rates["ungrounded"]), pct(rates["unknown_label"]),
                     _number(counts.get("mean_latency_s")), _number(counts.get("tokens_per_s"), 1),
                     "–" if tokens is None else str(tokens)]
                    + ([str(row.entry["sentences"])] if raced else [])
                    + ([_number(sentences_per_s(row.entry), 1), _megabytes(row.entry)] if sized else []))
    lines += [_table(rows, ["#", "system", "P", "R", "F1", "F1 95% CI", "macro F1", "unparseable %", "truncated %",
                            "error %", "ungrounded %", "unknown label %", "latency s", "tokens/s", "tokens"]
                     + (["sentences"] if raced else []) + (["sentences/s", "size MB"] if sized else [])), ""]
    ensembles = [row for row in split.rows if row.is_ensemble]
    if ensembles:
        lines += ["## Ensembles", "",
                  "Chosen on a labelled dev sample; p: paired bootstrap (same resamples), the share of resamples "
                  "in which the ensemble does not beat the best single system.", ""]
        rows = []
        for row in ensembles:
            e = row.entry
            best = e.get("best_single", {})
            best_f1 = best.get("metrics", {}).get("f1")
            params = ", ".join(f"{k}={v}" for k, v in sorted(e.get("params", {}).items()))
            rows.append([escape(e["combiner"]), escape(", ".join(e["systems"])), escape(params) or "–",
                         escape(e.get("chosen_on", "–")), pct(e.get("dev_f1")), pct(e["metrics"]["f1"]),
                         escape(best.get("system", "–")), pct(best_f1),
                         "–" if best_f1 is None else f"{100 * (e['metrics']['f1'] - best_f1):+.1f}",
                         _number(row.p_value, 3)])
        lines += [_table(rows, ["combiner", "members", "parameters", "chosen on", "dev F1", "F1", "best single",
                                "its F1", "Δ F1", "p"]), ""]
    labels = split.labels
    if labels:
        lines += ["## F1 per entity type", ""]
        rows = [[escape(row.name)] + [pct(row.entry["metrics"]["per_type"].get(lb, {}).get("f1")) for lb in labels]
                for row in split.rows]
        support = {lb: next((r.entry["metrics"]["per_type"][lb]["support"] for r in split.rows
                             if lb in r.entry["metrics"]["per_type"]), 0) for lb in labels}
        lines += [_table(rows, ["system"] + [f"{escape(lb)} ({support[lb]})" for lb in labels]), ""]
    if raced:
        lines += ["## Racing", "", "Where each raced system stopped: dropped against the leader named, with the "
                  "p-value of that look, or finished with the race.", ""]
        lines += [_table([[escape(row.name), escape(row.entry["race"].get("status", "–")),
                           str(row.entry["race"].get("round", "–")), str(row.entry["race"]["sentences"]),
                           escape(row.entry["race"].get("against", "–")), _number(row.entry["race"].get("p"), 4),
                           escape(row.entry["race"].get("why", "–"))] for row in raced],
                         ["system", "status", "round", "sentences", "against", "p", "why"]), ""]
    lines += _partial_section(split) + _errors_section(split) + _headroom_section(split, figures)
    lines += ["## Plots", ""]
    if figures is None:
        lines += [PLOTS_MISSING, ""]
    else:
        for title, name in (("F1 per entity type", "per_type"), ("F1 against latency", "latency")):
            if name in figures:
                lines += [f"![{title}]({figures[name]})", ""]
    if split.texts is not None:
        lines += ["## Sentences", "",
                  "[Every sentence, gold and each system's spans side by side, filtered by system, "
                  f"type and error class](explorer.html#split={split.slug})", ""]
    lines += ["[All leaderboards](leaderboard.md)", ""]
    return "\n".join(lines + _footer(board))


SCHEMES = (("strict", "strict"), ("exact", "exact"), ("partial", "partial"), ("ent_type", "type"))


def _partial_section(split: Split) -> list[str]:
    rows = [row for row in split.rows if "partial" in row.entry]
    if not rows:
        return []
    lines = ["## Partial matches", "",
             "nervaluate's schemes (SemEval-2013 task 9.1): *strict* (boundaries and type), *exact* (boundaries, any "
             "type), *partial* (an overlap counts half, any type), *type* (an overlap with the right type). Counts: "
             "correct / incorrect / partial / missed / spurious. Strict here can differ from the F1 above only when a "
             "system's predictions overlap (docs/scoring.md).", ""]
    table = []
    for row in rows:
        overall = row.entry["partial"]["overall"]
        counts = ("correct", "incorrect", "partial", "missed", "spurious")
        table.append([escape(row.name)] + [pct(overall[key]["f1"]) for key, _ in SCHEMES]
                     + ["/".join(str(overall[key][c]) for c in counts) for key, _ in SCHEMES])
    lines += [_table(table, ["system"] + [f"{name} F1" for _, name in SCHEMES]
                     + [f"{name} C/I/P/M/S" for _, name in SCHEMES]), ""]
    labels = sorted({label for row in rows for label in row.entry["partial"]["per_type"]})
    if labels:
        lines += ["### Partial F1 per entity type", ""]
        per_type = [row.entry["partial"]["per_type"] for row in rows]
        table = [[escape(row.name)] + [pct(types.get(lb, {}).get("partial", {}).get("f1")) for lb in labels]
                 for row, types in zip(rows, per_type)]
        lines += [_table(table, ["system"] + [escape(lb) for lb in labels]), ""]
    return lines


def _errors_section(split: Split) -> list[str]:
    rows = [row for row in split.rows if "errors" in row.entry]
    if not rows:
        return []
    lines = ["## Errors", "",
             "Every prediction and every gold entity in one class (docs/scoring.md): *exact*; *type*: the right "
             "boundaries, another type; *boundary*: overlapping, the right type; *both*: overlapping, another type; "
             "*spurious* predictions and *missed* gold entities overlap nothing. (P): classes of the predictions, "
             "which sum to them; (G): of the gold entities, which sum to the gold. *overlapping*: predictions sharing "
             "a token with another prediction of the same system (all of them scored).", ""]
    table = []
    for row in rows:
        errors, overlaps = row.entry["errors"], row.entry.get("overlaps", {})
        p, g = errors["predicted"], errors["gold"]
        table.append([escape(row.name), sum(p.values()), overlaps.get("predictions", "–"), p["exact"], p["type"],
                      p["boundary"], p["boundary_type"], p["spurious"], sum(g.values()), g["type"], g["boundary"],
                      g["boundary_type"], g["missed"]])
    lines += [_table(table, ["system", "predictions", "overlapping", "exact", "type (P)", "boundary (P)", "both (P)",
                             "spurious", "gold", "type (G)", "boundary (G)", "both (G)", "missed"]), ""]
    labels = sorted({label for row in rows for label in row.entry["errors"]["per_type"]})
    if labels:
        lines += ["### Errors per entity type", "",
                  "Gold entities of the type by class, and the system's spurious predictions of the type.", ""]
        table = []
        for label in labels:
            for row in rows:
                per = row.entry["errors"]["per_type"].get(label, {})
                g, p = per.get("gold", {}), per.get("predicted", {})
                table.append([escape(label), escape(row.name), sum(g.values()), g.get("exact", 0), g.get("type", 0),
                              g.get("boundary", 0), g.get("boundary_type", 0), g.get("missed", 0),
                              p.get("spurious", 0)])
        lines += [_table(table, ["type", "system", "gold", "exact", "type", "boundary", "both", "missed",
                                 "spurious"]), ""]
    return lines


def _headroom_section(split: Split, figures: dict[str, str] | None) -> list[str]:
    room = split.headroom
    if not room or not room["systems"]:
        return []
    singles = {row.name: row.entry["metrics"] for row in split.rows if not row.is_ensemble}
    ensembles = [row.entry["metrics"] for row in split.rows if row.is_ensemble]

    def best(metrics: list[dict[str, Any]], label: str | None) -> float | None:
        values = [m["recall"] if label is None else m["per_type"].get(label, {}).get("recall", 0.0) for m in metrics]
        return max(values) if values else None

    members = [singles[name] for name in room["systems"] if name in singles]
    lines = ["## Headroom", "",
             f"What the {len(room['systems'])} single systems find together: gold entities found exactly by at "
             "least one of them (their union — no voting combiner finds more; its recall is the oracle recall), by "
             "all of them, by only one; against the best single system's recall and the best ensemble's.", ""]
    table = []
    for label, part in [(None, room), *sorted(room["per_type"].items())]:
        table.append(["all types" if label is None else escape(label), part["gold"], pct(best(members, label)),
                      pct(best(ensembles, label)), pct(part["oracle_recall"]), part["found_by_all"],
                      sum(part["unique"])])
    lines += [_table(table, ["type", "gold", "best single R", "best ensemble R", "union R (oracle)", "found by all",
                             "found by one only"]), ""]
    numbered = [f"{i}" for i in range(1, len(room["systems"]) + 1)]
    lines += ["### Complementarity", "",
              "Gold entities the row's system finds (exactly) that the column's system misses; *alone*: found by no "
              "other system. Then the agreement of their predictions (Jaccard index of their predicted entities, %).",
              ""]
    table = [[n, escape(name)] + [str(x) for x in room["only"][i]] + [room["unique"][i]]
             for i, (n, name) in enumerate(zip(numbered, room["systems"]))]
    lines += [_table(table, ["#", "system"] + numbered + ["alone"]), ""]
    table = [[n, escape(name)] + [pct(x) for x in room["agreement"][i]]
             for i, (n, name) in enumerate(zip(numbered, room["systems"]))]
    lines += [_table(table, ["#", "system"] + numbered), ""]
    if figures is not None and "complementarity" in figures:
        lines += [f"![Complementarity]({figures['complementarity']})", ""]
    return lines


def _language_page(board: Board, language: str) -> str:
    splits = [s for s in board.splits if s.base_language == language]
    lines = [f"# Leaderboards in {code(language)}", "", *_partial_note([r.entry for s in splits for r in s.rows])]
    rows = []
    for split in splits:
        top = split.rows[0]
        interval = "–" if top.interval is None else f"{pct(top.interval[0])}–{pct(top.interval[1])}"
        rows.append([f"[{escape(split.ref)}]({split.slug}.md)", split.sentences, len(split.rows),
                     escape(top.name), pct(top.entry["metrics"]["f1"]), interval])
    lines += [_table(rows, ["dataset split", "sentences", "systems", "best", "F1", "F1 95% CI"]), "",
              "[All leaderboards](leaderboard.md)", ""]
    return "\n".join(lines)


def _transfer_page(board: Board, figures: dict[str, str] | None) -> str:
    lines = ["# Transfer", "",
             "F1 on the column's evaluated split of the ensemble chosen on the row's dev sample "
             "(the diagonal is in-domain).", ""]
    for combiner, matrix in sorted(board.transfer.items()):
        targets = sorted({t for row in matrix.values() for t in row})
        rows = [[escape(src)] + [pct(matrix[src].get(t)) for t in targets] for src in sorted(matrix)]
        lines += [f"## {escape(combiner)}", "",
                  _table(rows, ["chosen on \\\\ evaluated on"] + [escape(t) for t in targets]), ""]
        if figures is not None and combiner in figures:
            lines += [f"![transfer, {escape(combiner)}]({figures[combiner]})", ""]
    if figures is None:
        lines += [PLOTS_MISSING, ""]
    lines += ["[All leaderboards](leaderboard.md)", ""]
    return "\n".join(lines + _footer(board))


def _index(board: Board) -> str:
    lines = ["# nerbench leaderboard", "",
             *_partial_note([r.entry for s in board.splits for r in s.rows], board.documents)]
    for language in board.languages:
        lines += [f"## [{code(language)}](lang-{slug(language)}.md)", ""]
        rows = [[f"[{escape(s.ref)}]({s.slug}.md)", escape(s.rows[0].name), pct(s.rows[0].entry["metrics"]["f1"])]
                for s in board.splits if s.base_language == language]
        lines += [_table(rows, ["dataset split", "best", "F1"]), ""]
    if board.transfer:
        lines += ["## [Transfer between datasets](transfer.md)", ""]
    if any(split.texts is not None for split in board.splits):
        lines += ["## [Every sentence: gold and each system side by side](explorer.html)", ""]
    return "\n".join(lines + _footer(board))


def render(results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    board = build(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = plots.draw(board, out_dir / "plots") if plots.available() else None
    pages = {"leaderboard.md": _index(board)}
    for language in board.languages:
        pages[f"lang-{slug(language)}.md"] = _language_page(board, language)
    for split in board.splits:
        pages[f"{split.slug}.md"] = _split_page(board, split, None if figures is None else figures.get(split.slug, {}))
    if board.transfer:
        pages["transfer.md"] = _transfer_page(board, None if figures is None else figures.get("transfer", {}))
    paths = []
    for name, text in pages.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    if figures:
        paths += sorted((out_dir / "plots").glob("*.svg"))
    page = explorer.write(results, out_dir)
    return paths + ([page] if page else [])
