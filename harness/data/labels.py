"""A corpus's own entity types brought to the manifest's label set by its
`label_map`: merged into a listed label or dropped (to O), each counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

from nerbench.data.tags import DataFormatError
from nerbench.records import Sentence


def map_labels(files: list[tuple[str, list[Sentence]]], label_map: Mapping[str, str | None], labels: set[str],
               dataset_id: str) -> tuple[list[Sentence], Counter[str]]:
    """The sentences of a split's files (each named) with `label_map`
    applied to their gold spans, and what it did ("SRC->DST" or "SRC->O":
    how many spans). A label neither listed nor mapped refuses the split
    once, naming the first and how many spans carry one."""
    mappings: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    first = ""
    out = []
    for where, sentence in ((where, s) for where, sentences in files for s in sentences):
        spans = []
        for span in sentence.spans:
            if span.label in label_map:
                target = label_map[span.label]
                mappings[f"{span.label}->{target or 'O'}"] += 1
                if target is None:
                    continue
                span = replace(span, label=target)
            elif span.label not in labels:
                unknown[span.label] += 1
                first = first or f"{where}: sentence {sentence.id}: label {span.label!r}"
            spans.append(span)
        # A sentence label_map left alone stays the very object read.
        out.append(sentence if tuple(spans) == sentence.spans else replace(sentence, spans=tuple(spans)))
    if unknown:
        found = ", ".join(f"{label} {n}" for label, n in sorted(unknown.items()))
        raise DataFormatError(f"{first} is not in the {dataset_id!r} manifest ({', '.join(sorted(labels))}); "
                              f"the split has {sum(unknown.values())} spans of unlisted labels ({found}); "
                              "map each in the manifest's label_map to a listed label, or to null to drop it")
    return out, mappings
