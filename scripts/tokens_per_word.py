"""Tokens per word of each language's sentences, by each packaged model's own
tokenizer (llama.cpp's /tokenize on the embedded server; nothing is
generated): what a prompt in another language or script costs.

    NERBENCH_DATA_DIR=../shared/datasets python scripts/tokens_per_word.py [--sentences 200]

Prints one JSON object: model → dataset → tokens per word (nerbench's
tokens of the sentence), tokens per character, and the sentences counted.
docs/porting.md quotes it."""

from __future__ import annotations

import argparse
import json
from itertools import islice

import httpx

from nerbench import llama
from nerbench.plugin_system.manager import get_registry

SPLITS = {"lener_br": "test", "masakhaner2_yor": "test", "uner_tl_trg": "test", "harem-selective": "test"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=200)
    args = parser.parse_args()
    registry = get_registry()
    texts = {ds: [s for s in islice(registry.get("datasets", ds).sentences(split), args.sentences)]
             for ds, split in SPLITS.items()}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for alias, path in (("smollm2-135m", llama.smollm2_path()), ("gemma3-270m", llama.gemma3_path())):
        server = llama.start(path, alias, slots=1, ctx_per_slot=2048, threads=2)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            out[alias] = {}
            for ds, sentences in texts.items():
                tokens = sum(len(client.post("/tokenize", json={"content": s.text}).json()["tokens"])
                             for s in sentences)
                words = sum(len(s.tokens) for s in sentences)
                chars = sum(len(s.text) for s in sentences)
                out[alias][ds] = {"tokens_per_word": round(tokens / words, 3),
                                  "tokens_per_char": round(tokens / chars, 3), "sentences": len(sentences)}
        del server
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
