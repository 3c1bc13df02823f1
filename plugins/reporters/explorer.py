"""explorer.html: one self-contained page (no server, no network; it works
from file://) with every sentence of a run, gold and each system's and
ensemble's spans side by side, filtered by split, system, entity type and
error class, each sentence's errors listed. Rendered from results documents
alone (format 2 on: they carry the sentences and the scored spans)."""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from nerbench.api import Row, Split, classify
from nerbench.api import build_board as build

CODES = {"exact": "x", "type": "t", "boundary": "b", "boundary_type": "bt", "spurious": "s", "missed": "m"}
#: characters that could end the data's <script> element or open markup, as JSON escapes
_SCRIPT_SAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _spans(row: Row, i: int) -> list[tuple[int, int, str]]:
    return [(int(s), int(e), str(label)) for s, e, label in row.entry["spans"][i]]


def _split_data(split: Split) -> dict[str, Any] | None:
    texts = split.texts or []
    # A raced split's texts are the sentences every system answered; a system that answered more is shown on those.
    rows = [row for row in split.rows if len(row.entry.get("spans", ())) >= len(texts)]
    if not texts or not rows:
        return None
    singles = {row.name: row for row in rows if not row.is_ensemble}
    labels = sorted({g[2] for t in texts for g in t["gold"]} | {s[2] for row in rows for sent in row.entry["spans"]
                                                                for s in sent})
    sentences = []
    for i, text in enumerate(texts):
        gold = [(int(s), int(e), str(label)) for s, e, label in text["gold"]]
        found: dict[str, set[int]] = {}  # system → gold entities it found exactly

        # defaults bind this sentence's values: the helper is only called within this iteration
        def exact(row: Row, gold: list[tuple[int, int, str]] = gold, i: int = i,
                  found: dict[str, set[int]] = found) -> set[int]:
            if row.name not in found:
                found[row.name] = {k for k, c in enumerate(classify(gold, _spans(row, i))[1]) if c == "exact"}
            return found[row.name]

        cells = []
        for row in rows:
            predicted = _spans(row, i)
            pred_classes, gold_classes = classify(gold, predicted)
            cell: dict[str, Any] = {"p": [[s, e, label, CODES[c]] for (s, e, label), c in zip(predicted, pred_classes)],
                                    "g": [CODES[c] for c in gold_classes]}
            status = row.entry.get("sentence_status", {}).get(str(i))
            if status:
                cell["status"] = status
            best = singles.get(row.entry.get("best_single", {}).get("system", "")) if row.is_ensemble else None
            if best is not None:
                cell["fix"] = sorted(exact(row) - exact(best))
                cell["brk"] = sorted(exact(best) - exact(row))
            cells.append(cell)
        sentences.append({"id": text["id"], "text": text["text"], "gold": [list(g) for g in gold], "rows": cells})
    # lang and dir where the results say how the text runs (older results of left-to-right text say nothing)
    where = {"lang": split.language, "dir": split.direction} if split.direction else {}
    return {"slug": split.slug, "ref": split.ref, **where, "labels": labels,
            "systems": [{"name": row.name, "ensemble": row.is_ensemble} for row in rows], "sentences": sentences}


def payload(results: list[dict[str, Any]]) -> dict[str, Any]:
    """What the page shows, as data: per split its sentences, and per system
    and sentence its spans with their error class (`CODES`), the class of
    each gold entity for it, its status when not ok, the text's `lang` and
    `dir` where the results record them, and for an ensemble the
    gold entities it finds and its best single system misses (`fix`) and the
    reverse (`brk`)."""
    splits = [data for data in map(_split_data, build(results).splits) if data is not None]
    return {"splits": splits}


def page(results: list[dict[str, Any]]) -> str | None:
    """The explorer page, or None when the results carry no sentences."""
    data = payload(results)
    if not data["splits"]:
        return None
    names = sorted({str(doc.get("config", {}).get("content", {}).get("run", {}).get("name", "")) for doc in results})
    title = ", ".join(n for n in names if n) or "results"
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    blob = re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_SAFE[m.group()], blob)
    template = resources.files(__package__).joinpath("explorer.html").read_text(encoding="utf-8")
    # One pass, so nothing substituted is itself scanned for placeholders.
    return re.sub(r"\{\{(TITLE|DATA)\}\}", lambda m: html.escape(title) if m.group(1) == "TITLE" else blob, template)


def write(results: list[dict[str, Any]], out_dir: Path) -> Path | None:
    text = page(results)
    if text is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "explorer.html"
    path.write_text(text, encoding="utf-8")
    return path
