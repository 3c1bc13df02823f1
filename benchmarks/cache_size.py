"""Bytes the prediction cache keeps per completion, in the format before
compressed identities and in today's, measured in one run.

    python benchmarks/cache_size.py [--sentences 300] [--smoke]

`nerbench run` answers the first `--sentences` LeNER-Br test sentences in
the `json` and `json-grouped` formats from the instant local server of
benchmarks/throughput.py (a canned answer), into a fresh cache. The same rows
are then written, with sqlite3, in the format every nerbench wrote before
(the identity as plain canonical JSON, the generation as `json.dumps`'
default) into a second file. Both are VACUUMed; bytes per completion = file
size / rows. Every identity read back from the new cache must hash to its key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import InstantServer, config_text, run_nerbench  # noqa: E402  (the same run, the same server)

OLD_SCHEMA = ("CREATE TABLE completions (key TEXT PRIMARY KEY, identity TEXT NOT NULL, generation TEXT NOT NULL,"
              " created TEXT NOT NULL DEFAULT (datetime('now')))")


def vacuumed_size(path: Path) -> int:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.close()
    return path.stat().st_size


def old_format(new: Path, old: Path) -> tuple[int, int]:
    """The new cache's rows written as nerbench wrote them before; (rows,
    identities that hash to their key)."""
    from nerbench.infer.cache import PredictionCache

    cache = PredictionCache(new)
    rows = sqlite3.connect(new).execute("SELECT key, created FROM completions").fetchall()
    db = sqlite3.connect(old)
    db.execute(OLD_SCHEMA)
    hashed = 0
    for key, created in rows:
        identity, generation = cache.identity(key), cache.get(key)
        assert identity is not None and generation is not None, key
        hashed += hashlib.sha256(identity.encode()).hexdigest() == key
        db.execute("INSERT INTO completions (key, identity, generation, created) VALUES (?, ?, ?, ?)",
                   (key, identity, json.dumps(generation.to_json()), created))
    db.commit()
    db.close()
    cache.close()
    return len(rows), hashed


def measure(sentences: int, work: Path) -> dict[str, Any]:
    with InstantServer() as server:
        _, results = run_nerbench(config_text(server.url, "openai", "instant", sentences, 4, ("json", "json-grouped")),
                                  work / "run")
    rows, hashed = old_format(work / "run" / "cache.sqlite", work / "old.sqlite")
    before, after = vacuumed_size(work / "old.sqlite"), vacuumed_size(work / "run" / "cache.sqlite")
    return {"sentences": sentences, "formats": ["json", "json-grouped"],
            "backend_calls": sum(s["counts"]["backend_calls"] for s in results["systems"]),
            "completions": rows, "identities_hashing_to_their_key": hashed,
            "bytes_before": before, "bytes_after": after,
            "bytes_per_completion_before": round(before / rows, 1),
            "bytes_per_completion_after": round(after / rows, 1),
            "ratio": round(after / before, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="20 sentences; checks the output")
    args = parser.parse_args()
    os.environ["NERBENCH_LOAD_PLUGINS"] = ""  # only nerbench's own plugins take part
    with tempfile.TemporaryDirectory() as tmp:
        report = measure(20 if args.smoke else args.sentences, Path(tmp))
    print(json.dumps(report, indent=2))
    if args.smoke:
        from smoke import check, positive

        check(report["completions"] == report["backend_calls"] > 0,
              f"{report['completions']} rows for {report['backend_calls']} backend calls")
        check(report["identities_hashing_to_their_key"] == report["completions"], "an identity lost its key")
        check(positive(report["ratio"]) and report["ratio"] < 1, f"the new format is not smaller: {report['ratio']}")


if __name__ == "__main__":
    main()
