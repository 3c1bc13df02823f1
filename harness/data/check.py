"""What a dataset's splits hold once read: for `datasets check` and
`datasets list --json` (sentences, tokens, spans per label, repairs, mappings)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from nerbench.bases import Dataset


def check_split(dataset: Dataset, split: str) -> dict[str, Any]:
    """Read the whole of `split` (refusing it as reading does) and count it."""
    sentences = tokens = 0
    spans: Counter[str] = Counter()
    for sentence in dataset.sentences(split):
        sentences += 1
        tokens += len(sentence.tokens)
        spans.update(span.label for span in sentence.spans)
    info = dataset.describe()
    return {"sentences": sentences, "tokens": tokens,
            "spans": {label.name: spans[label.name] for label in dataset.labels},
            "repairs": info.get("repairs", {}).get(split, {}),
            "mappings": info.get("mappings", {}).get(split, {})}


def check_dataset(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """`check_split` for every split."""
    return {split: check_split(dataset, split) for split in dataset.splits}


def read_available(dataset: Dataset) -> None:
    """Read every split whose files are here, so `describe` counts their
    repairs and mappings in full; a split not fetched is left out."""
    info = dataset.describe()
    for split in dataset.splits:
        if info.get("available", {}).get(split, True):
            for _ in dataset.sentences(split):
                pass
