"""Datasets described by a manifest file: no code needed for a new one."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from nerbench.bases import Dataset
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.data.readers import READERS, DataFormatError
from nerbench.records import Label, Sentence
from nerbench.userdirs import user_cache_dir
from nerbench.files.paths import contained, relative_parts
from nerbench.files.text import read_json
from nerbench.files.schema import load_schema, validate

REGISTRY_PACKAGE = "nerbench_registry"


def default_data_dir() -> Path:
    """`NERBENCH_DATA_DIR`, else the user cache dir."""
    env = os.environ.get("NERBENCH_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return user_cache_dir() / "data"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}


def checked_sha256(path: Path) -> str:
    """`sha256_file`, computed once per file version (path, size, mtime) in a process."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        _verified[key] = sha256_file(path)
    return _verified[key]


def load_manifest(path: Path) -> dict[str, Any]:
    manifest = read_json(path, "manifest")
    validate(manifest, load_schema(REGISTRY_PACKAGE, "manifest.schema.json"), str(path))
    for split, entries in manifest["splits"].items():
        for i, entry in enumerate(entries):
            for key in ("path", "bundled"):
                if key in entry:
                    relative_parts(entry[key], f"{path}: field splits.{split}[{i}].{key}")
    return manifest


class ManifestDataset(Dataset):
    """A dataset read from the files a manifest names, checked by sha256."""

    def __init__(self, manifest: dict[str, Any], manifest_dir: Path, data_dir: Path | None = None) -> None:
        self.manifest = manifest
        self.manifest_dir = Path(manifest_dir)
        self._data_dir = data_dir
        self.id = manifest["id"]
        self.language = manifest["language"]
        self.labels = tuple(Label(item["name"], dict(item["descriptions"])) for item in manifest["labels"])
        #: split → what was repaired reading it (e.g. "stray_inside_tag": an I- read as B-)
        self.repairs: dict[str, Counter[str]] = {}

    @classmethod
    def from_file(cls, path: Path, data_dir: Path | None = None) -> ManifestDataset:
        path = Path(path)
        return cls(load_manifest(path), path.parent, data_dir)

    @property
    def data_dir(self) -> Path:
        return self._data_dir or default_data_dir()

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.manifest["splits"])

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps(self.manifest, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(canonical).hexdigest()

    def describe(self) -> dict[str, Any]:
        keys = ("name", "language", "license", "citation", "homepage", "notes")
        info = {k: self.manifest[k] for k in keys if k in self.manifest}
        info["labels"] = [label.name for label in self.labels]
        info["splits"] = list(self.splits)
        info["available"] = {split: self._missing(split) == [] for split in self.splits}
        repairs = {split: dict(sorted(n.items())) for split, n in sorted(self.repairs.items()) if n}
        if repairs:
            info["repairs"] = repairs
        return info

    def _field(self, entry: dict[str, Any], key: str) -> str:
        for split, entries in self.manifest["splits"].items():
            for i, e in enumerate(entries):
                if e is entry:
                    return f"dataset {self.id!r} manifest: field splits.{split}[{i}].{key}"
        return f"dataset {self.id!r} manifest: field {key}"

    def _local(self, entry: dict[str, Any], data_dir: Path | None = None) -> Path:
        """Where `entry` lives in the data dir: refused when it leads out of it."""
        return contained(data_dir or self.data_dir, entry["path"], self._field(entry, "path"))

    def _bundled(self, entry: dict[str, Any]) -> Path | None:
        if "bundled" not in entry:
            return None
        return contained(self.manifest_dir, entry["bundled"], self._field(entry, "bundled"))

    def _locate(self, entry: dict[str, Any]) -> Path | None:
        bundled = self._bundled(entry)
        if bundled is not None and bundled.is_file():
            return bundled
        local = self._local(entry)
        return local if local.is_file() else None

    def _missing(self, split: str) -> list[dict[str, Any]]:
        return [e for e in self.manifest["splits"][split] if self._locate(e) is None]

    def files(self, split: str) -> list[Path]:
        self.check_split(split)
        paths = []
        for entry in self.manifest["splits"][split]:
            path = self._locate(entry)
            if path is None:
                raise NerbenchError(
                    f"dataset {self.id!r} split {split!r}: {entry['path']} is not in {self.data_dir}; "
                    f"run `nerbench datasets fetch {self.id}` (or set --data-dir / NERBENCH_DATA_DIR)"
                )
            if checked_sha256(path) != entry["sha256"]:
                raise NerbenchError(
                    f"{path}: sha256 does not match the {self.id!r} manifest; "
                    f"delete it and run `nerbench datasets fetch {self.id}`"
                )
            paths.append(path)
        return paths

    def sentences(self, split: str) -> Iterator[Sentence]:
        """The split's sentences; a gold label the manifest does not list is
        an error naming the file and the sentence."""
        fmt = dict(self.manifest["format"])
        reader = READERS[fmt.pop("type")]
        labels = {label.name for label in self.labels}
        repairs = self.repairs[split] = Counter()
        for path in self.files(split):
            for sentence in reader(path, fmt, split, repairs):
                for span in sentence.spans:
                    if span.label not in labels:
                        raise DataFormatError(f"{path}: sentence {sentence.id}: label {span.label!r} is not in the "
                                              f"{self.id!r} manifest ({', '.join(sorted(labels))})")
                yield sentence

    def fetch(self, data_dir: Path | None = None, progress: bool = True) -> list[Path]:
        """Download every file not present yet (in `data_dir` or bundled) and
        verify its sha256."""
        target_dir = Path(data_dir) if data_dir else self.data_dir
        done = []
        for split in self.splits:
            for entry in self.manifest["splits"][split]:
                target = self._local(entry, target_dir)
                bundled = self._bundled(entry)
                present = next((p for p in (target, bundled) if p is not None and p.is_file()
                                and checked_sha256(p) == entry["sha256"]), None)
                if present is not None:
                    done.append(present)
                    continue
                if target.exists():
                    raise NerbenchError(f"{target}: exists and is not the file the {self.id!r} manifest names "
                                        "(its sha256 differs); move it away to fetch the dataset's own")
                if "url" not in entry:
                    raise NerbenchError(f"dataset {self.id!r}: {entry['path']} has no url to fetch it from")
                download(entry["url"], target, entry["sha256"], progress)
                done.append(target)
        return done


def download(url: str, target: Path, sha256: str, progress: bool = True) -> None:
    """Stream `url` to `target` atomically; refuse it when the sha256 differs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with atomic_write(target, binary=True) as out, \
                httpx.stream("GET", url, follow_redirects=True, timeout=60) as resp:
            if resp.status_code != 200:
                raise NerbenchError(f"{url}: HTTP {resp.status_code} while fetching {target.name}")
            total = int(resp.headers.get("content-length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            if digest.hexdigest() != sha256:
                raise NerbenchError(f"{url}: sha256 {digest.hexdigest()} does not match the manifest's {sha256}")
    except httpx.HTTPError as exc:
        raise NerbenchError(f"{url}: download failed: {exc}") from None


def bundled_manifests() -> list[Path]:
    """The manifests that ship in `datasets_registry/manifests/`."""
    folder = resources.files(REGISTRY_PACKAGE).joinpath("manifests")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".json"))
