"""The prediction cache: every completion, stored the moment it arrives.

Keyed on the full identity of a request (backend kind, endpoint, model and
digest, the rendered request, prompt format and version), so a rerun of a
finished config makes no backend call and a changed model never hits stale
answers. Errors are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from nerbench.types import Generation
from nerbench.userdirs import user_cache_dir


def default_cache_path() -> Path:
    env = os.environ.get("NERBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    return user_cache_dir() / "predictions.sqlite"


def cache_key(identity: dict[str, Any]) -> tuple[str, str]:
    """The key of an identity, and the canonical JSON it hashes (stored with
    the completion, so it is serialised once)."""
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest(), canonical


class PredictionCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One writer thread (the event loop); autocommit so each put is durable at once.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS completions ("
            " key TEXT PRIMARY KEY, identity TEXT NOT NULL, generation TEXT NOT NULL,"
            " created TEXT NOT NULL DEFAULT (datetime('now')))"
        )

    def get(self, key: str) -> Generation | None:
        row = self._db.execute("SELECT generation FROM completions WHERE key = ?", (key,)).fetchone()
        return Generation.from_json(json.loads(row[0])) if row else None

    def put(self, key: str, identity: str, generation: Generation) -> None:
        """Store `generation` under `key`; `identity` is its canonical JSON."""
        self._db.execute(
            "INSERT OR REPLACE INTO completions (key, identity, generation) VALUES (?, ?, ?)",
            (key, identity, json.dumps(generation.to_json())),
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        self._db.close()
