"""HAREM's ALT alternatives and vague categories (docs/harem.md): the JSON the
reader reads already resolved them with the convention the published
Portuguese numbers use — the first class valid in the scenario, the
alternative with the most entities — checked here against Linguateca's
original First HAREM golden collection, and the reader passes every label
through unchanged."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from nerbench.plugin_system.manager import get_registry

SELECTIVE = {"PESSOA", "ORGANIZACAO", "LOCAL", "TEMPO", "VALOR"}
TOTAL = SELECTIVE | {"ABSTRACCAO", "ACONTECIMENTO", "COISA", "OBRA", "OUTRO"}
# An entity of the original markup: <CATEG[|CATEG...] TIPO="..." MORF="...">text</CATEG...>
ENTITY = re.compile(r'<([A-Z|]+)((?: [A-Z]+="[^"]*")*)>(.*?)</\1>', re.S)
ALT = re.compile(r"<ALT>(.*?)</ALT>", re.S)


def original(shared_datasets) -> dict[str, str]:
    """DOCID → the text of the First HAREM golden collection (ISO-8859-1, CRLF)."""
    raw = (shared_datasets / "harem" / "original" / "ColeccaoDouradaHAREM.txt").read_bytes().decode("latin-1")
    raw = raw.replace("\r\n", "\n")
    return {m.group(1).strip(): m.group(2)
            for m in re.finditer(r"<DOC>\s*<DOCID>(.*?)</DOCID>.*?<TEXTO>(.*?)</TEXTO>", raw, re.S)}


def classes(tag: str) -> list[str]:
    # the original calls OUTRO VARIADO
    return ["OUTRO" if c == "VARIADO" else c for c in tag.split("|")]


def entities(text: str, valid: set[str]) -> Counter:
    """(text, first valid class) of each entity: the convention under test."""
    out: Counter = Counter()
    for m in ENTITY.finditer(text):
        ok = [c for c in classes(m.group(1)) if c in valid]
        if ok:
            out[(" ".join(m.group(3).split()), ok[0])] += 1
    return out


def alternatives(block: str) -> list[str]:
    """An ALT block's alternatives: split at the bars outside tags."""
    parts, depth, current = [], 0, ""
    for ch in block:
        depth += (ch == "<") - (ch == ">")
        if ch == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


def converted(shared_datasets, scenario: str) -> dict[str, Counter]:
    out = {}
    for split in ("train", "dev"):
        for doc in json.loads((shared_datasets / "harem" / f"FirstHAREM-{scenario}-{split}.json").read_text("utf-8")):
            out[doc["doc_id"]] = Counter((" ".join(e["text"].split()), e["label"]) for e in doc["entities"])
    return out


@pytest.mark.parametrize(("scenario", "valid", "vague_exceptions"), [
    ("selective", SELECTIVE, []),
    # This copy of the collection is an earlier revision than the XML the
    # JSON was converted from; in one place the classes themselves differ.
    ("total", TOTAL, [("HAREM-594-08181", "Chanel")]),
])
def test_json_keeps_the_first_valid_class_and_the_alternative_with_most_entities(
        shared_datasets, scenario, valid, vague_exceptions):
    docs, json_docs = original(shared_datasets), converted(shared_datasets, scenario)
    assert set(docs) == set(json_docs) and len(docs) == 129
    first, exceptions, alt_blocks = 0, [], 0
    for doc_id, text in docs.items():
        found = json_docs[doc_id]
        for m in ENTITY.finditer(ALT.sub("", text)):
            ok = list(dict.fromkeys(c for c in classes(m.group(1)) if c in valid))
            if len(classes(m.group(1))) < 2 or not ok:
                continue
            mention = " ".join(m.group(3).split())
            if found[(mention, ok[0])]:
                first += 1
            else:
                assert any(found[(mention, c)] for c in ok[1:]), (doc_id, mention)
                exceptions.append((doc_id, mention))
        for m in ALT.finditer(text):
            options = [entities(a, valid) for a in alternatives(m.group(1))]
            if all(o == options[0] for o in options):
                continue
            sizes = [sum(o.values()) for o in options]
            chosen = options[sizes.index(max(sizes))]  # the first of the largest
            assert all(found[k] >= v for k, v in chosen.items()), (doc_id, m.group(1)[:80])
            alt_blocks += 1
    assert exceptions == vague_exceptions
    assert first >= 40 and alt_blocks >= 50  # there is something to check in both scenarios


def test_the_reader_passes_every_label_through(shared_datasets):
    """Whatever the JSON says is what is scored: the reader's gold spans are
    the JSON's entities, label for label (it only trims blanks at the edges)."""
    dataset = get_registry().get("datasets", "harem-selective")
    for split, name in (("dev", "FirstHAREM-selective-dev"), ("test", "MiniHAREM-selective")):
        docs = json.loads((shared_datasets / "harem" / f"{name}.json").read_text("utf-8"))
        expected = Counter(e["label"] for d in docs for e in d["entities"])
        assert Counter(s.label for sentence in dataset.sentences(split) for s in sentence.spans) == expected
