"""Round trip of every prompt format on the real corpora: write the gold
entities as a perfect model would answer, parse them back, compare with gold.

    python scripts/roundtrip.py [--data-dir ../shared/datasets] [--json]

Prints the exact-match rate per format and dataset split, and a sample of the
sentences that do not round-trip with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

from nerbench.api import Generation
from nerbench.plugin_system.manager import get_registry

FORMATS = ("json", "json-grouped", "inline-xml", "inline-bracket", "per-type")


def explain(sentence, got) -> str:
    gold = set(sentence.spans)
    extra, missing = set(got) - gold, gold - set(got)
    text = lambda s: sentence.text[s.start : s.end]  # noqa: E731
    overlapping = any(a != b and a.start < b.end and b.start < a.end for a in gold for b in gold)
    if overlapping:
        return "nested/overlapping gold entities"
    if missing and not extra:
        return "gold entity lost: " + ", ".join(repr(text(s)) for s in sorted(missing))[:120]
    if extra and all(any(text(e) == text(g) for g in gold) for e in extra):
        return "the same surface is also a non-entity (or another entity) elsewhere"
    return (f"extra {sorted((text(s), s.label) for s in extra)[:3]} "
            f"missing {sorted((text(s), s.label) for s in missing)[:3]}")


def roundtrip(dataset, split, fmt_name, occurrence):
    registry = get_registry()
    cls = registry.get("prompt_formats", fmt_name)
    fmt = cls(occurrence=occurrence)
    ok = total = 0
    failures = []
    for sentence in dataset.sentences(split):
        answers = fmt.gold_answer(sentence, dataset.labels, dataset.language)
        parsed = fmt.parse([Generation(a, "stop") for a in answers], sentence, dataset.labels)
        total += 1
        if set(parsed.spans) == set(sentence.spans):
            ok += 1
        else:
            failures.append((sentence.id, explain(sentence, parsed.spans)))
    return ok, total, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--occurrence", default="index")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["NERBENCH_DATA_DIR"] = args.data_dir
    registry = get_registry()
    report = []
    for dataset_id in registry.names("datasets"):
        dataset = registry.get("datasets", dataset_id)
        for split in dataset.splits:
            for fmt_name in FORMATS:
                t0 = time.perf_counter()
                ok, total, failures = roundtrip(dataset, split, fmt_name, args.occurrence)
                reasons = Counter(r.split(":")[0] for _, r in failures)
                report.append({"dataset": dataset_id, "split": split, "format": fmt_name, "ok": ok, "total": total,
                               "rate": ok / total, "reasons": dict(reasons), "examples": failures[:3],
                               "seconds": round(time.perf_counter() - t0, 2)})
                if not args.json:
                    print(f"{dataset_id:16} {split:5} {fmt_name:14} {ok:6}/{total:<6} {100*ok/total:7.3f}%  "
                          f"{dict(reasons)}  {failures[:1]}", flush=True)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
