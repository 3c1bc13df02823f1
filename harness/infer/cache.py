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

from nerbench.errors import NerbenchError
from nerbench.records import Generation
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
        try:
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
        except (OSError, sqlite3.Error) as exc:
            raise NerbenchError(f"{self.path}: cannot open the prediction cache: {exc}") from None

    def get(self, key: str) -> Generation | None:
        """The stored completion, or None — also for a row that does not read
        back as one (written by something else): it is asked again and
        replaced, never fatal."""
        try:
            row = self._db.execute("SELECT generation FROM completions WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise NerbenchError(f"{self.path}: cannot read the prediction cache: {exc}") from None
        if row is None:
            return None
        try:
            generation = Generation.from_json(json.loads(row[0]))
        except (ValueError, TypeError, RecursionError):
            return None
        return generation if isinstance(generation.text, str) and isinstance(generation.finish_reason, str) else None

    def put(self, key: str, identity: str, generation: Generation) -> None:
        """Store `generation` under `key`; `identity` is its canonical JSON.
        A cache that cannot be written (a full disk) stops the run: what is
        stored stays, and the rerun asks only for the rest."""
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO completions (key, identity, generation) VALUES (?, ?, ?)",
                (key, identity, json.dumps(generation.to_json())),
            )
        except sqlite3.Error as exc:
            raise NerbenchError(f"{self.path}: cannot store a completion in the prediction cache ({exc}); "
                                "every completion stored so far is kept: fix this and run the same command "
                                "again to resume") from None

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        self._db.close()
