"""The leaderboard as data: one row per system (or ensemble) per dataset
split, with bootstrap intervals and paired tests — what every built-in
reporter renders. Computed from results documents alone, deterministically."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from nerbench.data.sample import shared_prefix
from nerbench.data.direction import text_direction
from nerbench.score.bootstrap import f1_interval, paired_p_value


@dataclass
class Row:
    rank: int
    entry: dict[str, Any]  # the results entry (a system or an ensemble)
    interval: tuple[float, float] | None
    p_value: float | None = None  # ensembles: paired bootstrap against the best single system

    @property
    def name(self) -> str:
        return self.entry["system"]

    @property
    def is_ensemble(self) -> bool:
        return "combiner" in self.entry


@dataclass
class Split:
    dataset: str
    split: str
    language: str
    sentences: int
    rows: list[Row] = field(default_factory=list)
    #: the results' headroom of this split (format 2 on), else None
    headroom: dict[str, Any] | None = None
    #: how the results scored overlapping predictions
    scoring: str = "longest-first"
    #: the sentences (id, text, gold) when the results carry them
    texts: list[dict[str, Any]] | None = None
    #: "ltr" or "rtl" where the results record it (else "rtl" for a right-to-left language, else None)
    direction: str | None = None

    @property
    def base_language(self) -> str:
        return self.language.split("-")[0]

    @property
    def ref(self) -> str:
        return f"{self.dataset}:{self.split}"

    @property
    def slug(self) -> str:
        return slug(f"{self.dataset}-{self.split}")

    @property
    def labels(self) -> list[str]:
        return sorted({label for row in self.rows for label in row.entry["metrics"]["per_type"]})


@dataclass
class Board:
    splits: list[Split]
    transfer: dict[str, dict[str, dict[str, float]]]  # combiner → chosen on → evaluated on → F1
    documents: list[dict[str, Any]]

    @property
    def languages(self) -> list[str]:
        return sorted({s.base_language for s in self.splits})


def slug(text: str) -> str:
    """A file-name-safe form of a dataset or split name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def _interval(entry: dict[str, Any]) -> tuple[float, float] | None:
    counts = entry.get("per_sentence")
    return f1_interval(counts) if counts else None


def build(results: list[dict[str, Any]]) -> Board:
    """Group every system and ensemble by dataset split and rank them by F1
    (ties by name, so the order is stable)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    languages: dict[str, str] = {}
    directions: dict[str, str | None] = {}
    transfer: dict[str, dict[str, dict[str, float]]] = {}
    extras: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for doc in results:
        for dataset_id, info in doc.get("datasets", {}).items():
            languages.setdefault(dataset_id, info.get("language", "und"))
            # Results before directions were recorded: a right-to-left language still shows as one.
            rtl = text_direction(languages[dataset_id]) == "rtl"
            directions.setdefault(dataset_id, info.get("direction") or ("rtl" if rtl else None))
        for entry in doc.get("systems", []) + doc.get("ensembles", []):
            groups[(entry["dataset"], entry["split"])].append(entry)
            # Results before format 2 wrote tags longest first (the old rule).
            extras[(entry["dataset"], entry["split"])].setdefault(
                "scoring", doc.get("scoring", {}).get("rule", "longest-first"))
        for room in doc.get("headroom", []):
            extras[(room["dataset"], room["split"])].setdefault("headroom", room)
        for ref, texts in doc.get("sentences", {}).items():
            extras[tuple(ref.rsplit(":", 1))].setdefault("texts", texts)
        for combiner, matrix in doc.get("transfer", {}).items():
            transfer.setdefault(combiner, {}).update(matrix)
    splits = []
    for (dataset, split), entries in sorted(groups.items()):
        entries = sorted(entries, key=lambda e: (-e["metrics"]["f1"], e["system"]))
        singles = {e["system"]: e for e in entries if "combiner" not in e}
        rows = []
        for rank, entry in enumerate(entries, 1):
            row = Row(rank, entry, _interval(entry))
            best = singles.get(entry.get("best_single", {}).get("system", ""))
            if "combiner" in entry and best and entry.get("per_sentence") and best.get("per_sentence"):
                row.p_value = paired_p_value(*shared_prefix(entry["per_sentence"], best["per_sentence"]))
            rows.append(row)
        splits.append(Split(dataset, split, languages.get(dataset, "und"), entries[0]["sentences"], rows,
                            direction=directions.get(dataset), **extras[(dataset, split)]))
    return Board(splits, transfer, results)


def failure_rates(entry: dict[str, Any]) -> dict[str, float | None]:
    """Output failures as shares: statuses of sentences, issues of mentions."""
    counts = entry.get("counts")
    if not counts:
        return {k: None for k in ("unparseable", "truncated", "error", "ungrounded", "unknown_label")}
    n = entry["sentences"] or 1
    mentions = counts["issues"].get("mentions", 0)
    rates: dict[str, float | None] = {k: counts["statuses"].get(k, 0) / n
                                      for k in ("unparseable", "truncated", "error")}
    for issue in ("ungrounded", "unknown_label"):
        rates[issue] = counts["issues"].get(issue, 0) / mentions if mentions else None
    return rates


def flat_row(split: Split, row: Row) -> dict[str, Any]:
    """One row as plain values (the JSON and CSV reporters' shape)."""
    entry, m = row.entry, row.entry["metrics"]
    counts = entry.get("counts", {})
    out: dict[str, Any] = {
        "dataset": split.dataset,
        "split": split.split,
        "language": split.language,
        "rank": row.rank,
        "system": row.name,
        "kind": "ensemble" if row.is_ensemble else "system",
        "sentences": entry["sentences"],
        "precision": m["precision"],
        "recall": m["recall"],
        "f1": m["f1"],
        "f1_ci_low": row.interval[0] if row.interval else None,
        "f1_ci_high": row.interval[1] if row.interval else None,
        "macro_f1": m["macro_f1"],
        "p_vs_best_single": row.p_value,
        "mean_latency_s": counts.get("mean_latency_s"),
        "tokens_per_s": counts.get("tokens_per_s"),
        "total_tokens": (counts.get("prompt_tokens") or 0) + (counts.get("completion_tokens") or 0) if counts else None,
    }
    out.update({f"{k}_rate": v for k, v in failure_rates(entry).items()})
    return out
