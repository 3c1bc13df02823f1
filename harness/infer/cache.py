"""The prediction cache: every completion, stored the moment it arrives.

Keyed on the full identity of a request (backend kind, endpoint, model and
digest, the rendered request, prompt format and version), so a rerun of a
finished config makes no backend call and a changed model never hits stale
answers. Errors are never stored.

The identity is stored with each completion (`PredictionCache.identity` reads
it back), compressed: requests of one model × prompt format repeat the same
instructions, labels and schema, so each is deflated against the first
identity of its *family* (everything in it but the request), kept once in the
`families` table. That holds a completion to about 0.5 KB where the plain
JSON took 3.5 KB (`benchmarks/cache_size.py`). Rows written before this
(`family` NULL) hold the plain canonical JSON and read as they always did.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
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


#: The family of an identity: its canonical JSON up to the request, whose key
#: sorts after every other key the runner puts in an identity.
REQUEST_MEMBER = ',"request":'
#: Deflate level and memory level: the dictionary does the compressing, and a
#: larger memory level costs 60 µs per completion to allocate (not 1).
LEVEL, MEM_LEVEL = 1, 4


def family(identity: str) -> str:
    cut = identity.find(REQUEST_MEMBER)
    return identity if cut < 0 else identity[:cut]


class PredictionCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        #: family → (its id, its dictionary)
        self._families: dict[str, tuple[int, bytes]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One writer thread (the event loop); autocommit so each put is durable at once.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # The table as every nerbench has made it; `family` is added below, as to a cache made before it.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS completions ("
                " key TEXT PRIMARY KEY, identity TEXT NOT NULL, generation TEXT NOT NULL,"
                " created TEXT NOT NULL DEFAULT (datetime('now')))"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS families ("
                             " id INTEGER PRIMARY KEY, family TEXT NOT NULL UNIQUE, dictionary TEXT NOT NULL)")
            self._add_family_column()
        except (OSError, sqlite3.Error) as exc:
            raise NerbenchError(f"{self.path}: cannot open the prediction cache: {exc}") from None

    def _add_family_column(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(completions)")}
        if "family" in columns:
            return
        try:
            self._db.execute("ALTER TABLE completions ADD COLUMN family INTEGER REFERENCES families(id)")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # another process added it first
                raise

    def _family(self, identity: str) -> tuple[int, bytes]:
        """The id and dictionary of `identity`'s family; the first identity
        of a family becomes its dictionary."""
        name = family(identity)
        known = self._families.get(name)
        if known is None:
            self._db.execute("INSERT OR IGNORE INTO families (family, dictionary) VALUES (?, ?)", (name, identity))
            number, dictionary = self._db.execute("SELECT id, dictionary FROM families WHERE family = ?",
                                                  (name,)).fetchone()
            known = self._families[name] = (number, dictionary.encode())
        return known

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

    def identity(self, key: str) -> str | None:
        """The canonical JSON `key` is the sha256 of, as stored with its
        completion (None: no such row)."""
        row = self._db.execute("SELECT c.identity, f.dictionary FROM completions c"
                               " LEFT JOIN families f ON f.id = c.family WHERE c.key = ?", (key,)).fetchone()
        if row is None:
            return None
        stored, dictionary = row
        if dictionary is None:
            return str(stored)
        unpacker = zlib.decompressobj(zdict=dictionary.encode())
        return (unpacker.decompress(stored) + unpacker.flush()).decode()

    def put(self, key: str, identity: str, generation: Generation) -> None:
        """Store `generation` under `key`; `identity` is its canonical JSON.
        A cache that cannot be written (a full disk) stops the run: what is
        stored stays, and the rerun asks only for the rest."""
        try:
            number, dictionary = self._family(identity)
            packer = zlib.compressobj(LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, MEM_LEVEL, zdict=dictionary)
            packed = packer.compress(identity.encode()) + packer.flush()
            # ASCII-escaped: a model's text may hold a lone surrogate, which UTF-8 cannot store.
            answer = json.dumps(generation.to_json(), separators=(",", ":"))
            self._db.execute(
                "INSERT OR REPLACE INTO completions (key, identity, generation, family) VALUES (?, ?, ?, ?)",
                (key, packed, answer, number),
            )
        except sqlite3.Error as exc:
            raise NerbenchError(f"{self.path}: cannot store a completion in the prediction cache ({exc}); "
                                "every completion stored so far is kept: fix this and run the same command "
                                "again to resume") from None

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        self._db.close()
