"""The prediction cache's storage: identities compressed against their
family's first, rows that every earlier nerbench wrote still read, and rows
this one writes still read the way earlier ones read them."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from nerbench.infer.cache import PredictionCache, cache_key
from nerbench.records import Generation

SYSTEM = ("Você é um sistema de reconhecimento de entidades nomeadas. Tipos:\n"
          + "\n".join(f"- TIPO{i}: uma descrição longa do tipo {i}, com exemplos" for i in range(12)))


def identity(model: str, sentence: str) -> dict:
    """Shaped as the runner shapes one: what its family shares, then the request."""
    return {"backend_kind": "openai", "endpoint": "http://127.0.0.1:8080", "model": model, "digest": None,
            "prompt_format": "json", "prompt_format_version": "2", "prompt_format_options": {},
            "request": {"model": model, "messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": f"Texto: {sentence}"}],
                        "schema": {"type": "object", "maxItems": len(sentence)}, "temperature": 0.0, "seed": 0,
                        "max_tokens": 64}}


def test_identities_read_back_exactly_and_are_stored_compressed_once_per_family(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = PredictionCache(path)
    stored = {}
    for model in ("a", "b"):
        for n in range(20):
            key, canonical = cache_key(identity(model, f"O ministro {n} falou em Brasília no dia {n} de março."))
            cache.put(key, canonical, Generation(f'{{"entities": [{n}]}}', "stop", 300 + n, 6, 0.5))
            stored[key] = canonical
    # A second process writing the same family reuses it.
    other = PredictionCache(path)
    key, canonical = cache_key(identity("a", "Outra frase, de outro processo."))
    other.put(key, canonical, Generation("{}", "length"))
    stored[key] = canonical
    for key, canonical in stored.items():
        assert cache.identity(key) == canonical
        assert hashlib.sha256(canonical.encode()).hexdigest() == key
    assert cache.get(key) == Generation("{}", "length")
    assert cache.identity("0" * 64) is None
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM families").fetchone()[0] == 2
    sizes = db.execute("SELECT length(identity) FROM completions").fetchall()
    plain = sum(len(c.encode()) for c in stored.values())
    assert sum(n for (n,) in sizes) < plain / 5
    # What nerbench before this read of a row (the generation's JSON) reads the same from rows written now.
    generations = dict(db.execute("SELECT key, generation FROM completions"))
    assert Generation.from_json(json.loads(generations[key])) == Generation("{}", "length")


def test_a_cache_written_in_the_old_format_reads_back_and_takes_new_rows(tmp_path):
    """The schema and row format every nerbench wrote before compressed
    identities, written here with sqlite3 directly."""
    path = tmp_path / "old.sqlite"
    old = {}
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS completions ("
                   " key TEXT PRIMARY KEY, identity TEXT NOT NULL, generation TEXT NOT NULL,"
                   " created TEXT NOT NULL DEFAULT (datetime('now')))")
        for n in range(3):
            key, canonical = cache_key(identity("a", f"Frase antiga número {n}."))
            generation = {"text": f'{{"entities": [{n}]}}', "finish_reason": "stop", "prompt_tokens": n,
                          "completion_tokens": None, "latency_s": 1.25}
            db.execute("INSERT INTO completions (key, identity, generation, created) VALUES (?, ?, ?, ?)",
                       (key, canonical, json.dumps(generation), "2026-11-22 10:00:00"))
            old[key] = (canonical, Generation(**generation))
    db.close()

    cache = PredictionCache(path)
    for key, (canonical, generation) in old.items():
        assert cache.get(key) == generation
        assert cache.identity(key) == canonical
    new_key, new_canonical = cache_key(identity("a", "Uma frase nova."))
    cache.put(new_key, new_canonical, Generation("{}", "stop"))
    cache.close()

    again = PredictionCache(path)  # opened once more: the added column and table are there already
    assert len(again) == 4
    assert again.identity(new_key) == new_canonical and again.get(new_key) == Generation("{}", "stop")
    for key, (canonical, generation) in old.items():
        assert again.get(key) == generation and again.identity(key) == canonical
    # An earlier nerbench writing into the cache this one has opened: its row reads too.
    late_key, late_canonical = cache_key(identity("b", "Escrita por uma versão anterior."))
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO completions (key, identity, generation) VALUES (?, ?, ?)",
                   (late_key, late_canonical, json.dumps({"text": "x", "finish_reason": "stop"})))
    db.close()
    assert again.get(late_key) == Generation("x", "stop") and again.identity(late_key) == late_canonical
    created = sqlite3.connect(path).execute("SELECT created FROM completions WHERE key = ?", (key,)).fetchone()
    assert created == ("2026-11-22 10:00:00",)
