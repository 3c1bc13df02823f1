"""Cut the LeNER-Br samples that ship with nerbench from the upstream files
(https://github.com/peluz/lener-br at 4999cb7f, MIT), so the quick start runs
few-shot and chooses its ensemble with no download:

- demos.conll: the first DEMOS sentences of the train split that have at
  least one entity and at most 300 characters (nerbench's demonstration
  limit) — the few-shot demonstration pool;
- dev-sample.conll: the first DEV sentences of the dev split — the labelled
  sample ensembles are chosen on.

Sentences are copied line for line. Usage:
    python scripts/lener_samples.py DIR_WITH_train.conll_AND_dev.conll
"""

from __future__ import annotations

import sys
from pathlib import Path

DEMOS = 1000
DEV = 100
OUT = Path(__file__).resolve().parents[1] / "datasets_registry" / "manifests" / "samples" / "lener_br"


def sentences(path: Path) -> list[list[str]]:
    blocks, block = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)
    return blocks


def text_of(block: list[str]) -> str:
    return " ".join(line.split()[0] for line in block)


def write(path: Path, blocks: list[list[str]]) -> None:
    path.write_text("".join("\n".join(b) + "\n\n" for b in blocks), encoding="utf-8")


def main(source: Path) -> None:
    demos = [b for b in sentences(source / "train.conll")
             if any(line.split()[-1] != "O" for line in b) and len(text_of(b)) <= 300][:DEMOS]
    write(OUT / "demos.conll", demos)
    write(OUT / "dev-sample.conll", sentences(source / "dev.conll")[:DEV])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
