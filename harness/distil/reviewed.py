"""Reviewed gold: what `nerbench review import` wrote (`reviewed.jsonl`),
read back and checked — by `review` itself and by `train --reviewed`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nerbench.data.manifest import sha256_file
from nerbench.data.readers import sentence_lines
from nerbench.distil.review_formats import TOOLS
from nerbench.errors import NerbenchError
from nerbench.files.schema import validate
from nerbench.records import Sentence

_REVIEW = {
    "type": "object", "required": ["tool", "export", "source_sha256"],
    "properties": {"tool": {"enum": list(TOOLS)}, "export": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                   "source_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                   "by": {"type": "string"}, "at": {"type": "string"}, "changed": {"type": "boolean"}},
}


def read_reviewed(path: Path, labels: Sequence[str] | None = None,
                  sentences: Mapping[str, Sentence] | None = None) -> tuple[list[Sentence], dict[str, Any]]:
    """Reviewed gold as `review import` writes it (`reviewed.jsonl`), each
    line checked as sentence JSONL is plus its `review` record, one line per
    sentence; with `labels`, every span's label is one of them; with
    `sentences` (e.g. the silver's, or the dataset split's, by id), each is
    one of them with the same text and tokens. Returns the sentences and
    their provenance: the file's sha256 (what a student trained on it
    records), counts, the tools, exports and reviewers."""
    out: list[Sentence] = []
    first: dict[str, str] = {}
    tools: Counter[str] = Counter()
    reviewers: Counter[str] = Counter()
    exports: set[str] = set()
    sources: set[str] = set()
    changed = 0
    for where, obj, sentence in sentence_lines(path, "reviewed gold"):
        if "review" not in obj:
            raise NerbenchError(f"{where}: no 'review' record: not a line `nerbench review import` wrote")
        validate(obj["review"], _REVIEW, where, "review")
        if sentence.id in first:
            raise NerbenchError(f"{where}: sentence {sentence.id!r} again (first at {first[sentence.id]})")
        first[sentence.id] = where
        if labels is not None:
            unknown = [s.label for s in sentence.spans if s.label not in labels]
            if unknown:
                raise NerbenchError(f"{where}: label {unknown[0]!r} is not one of the dataset's "
                                    f"({', '.join(labels)})")
        if sentences is not None:
            known = sentences.get(sentence.id)
            if known is None:
                raise NerbenchError(f"{where}: sentence {sentence.id!r} is not one of the sentences it is "
                                    "trained with")
            if (known.text, known.tokens) != (sentence.text, sentence.tokens):
                raise NerbenchError(f"{where}: sentence {sentence.id!r} has another text or other tokens than "
                                    "the one it is trained with")
        review = obj["review"]
        tools[review["tool"]] += 1
        reviewers[review.get("by", "unknown")] += 1
        exports.add(review["export"])
        sources.add(review["source_sha256"])
        changed += bool(review.get("changed"))
        out.append(sentence)
    if not out:
        raise NerbenchError(f"{path}: no reviewed sentences")
    return out, {"path": str(path), "sha256": sha256_file(path), "sentences": len(out),
                 "spans": sum(len(s.spans) for s in out), "changed": changed, "tools": dict(tools),
                 "reviewers": dict(reviewers), "exports": sorted(exports), "sources_sha256": sorted(sources)}
