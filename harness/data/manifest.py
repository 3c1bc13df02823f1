"""Datasets described by a manifest file: no code needed for a new one."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import httpx
from tqdm import tqdm

from nerbench.bases import Dataset
from nerbench.errors import NerbenchError
from nerbench.files.atomic import atomic_write
from nerbench.data.direction import text_direction
from nerbench.data.labels import map_labels
from nerbench.data.readers import READERS, sentence_from_spans, sentence_from_tags
from nerbench.data.tags import Repairs
from nerbench.records import Label, Sentence, Span
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
    labels = {label["name"] for label in manifest["labels"]}
    for source, target in manifest.get("label_map", {}).items():
        if target is not None and target not in labels:
            raise NerbenchError(f"{path}: field label_map.{source}: {target!r} is not a label of the manifest "
                                f"({', '.join(sorted(labels))}); map to one of them, or to null to drop it")
    for split, entries in manifest["splits"].items():
        for i, entry in enumerate(entries):
            for key in ("path", "bundled"):
                if key in entry:
                    relative_parts(entry[key], f"{path}: field splits.{split}[{i}].{key}")
    return manifest


class ManifestDataset(Dataset):
    """A dataset read from the files a manifest names, checked by sha256.

    A plugin adds a file format by subclassing it with `FORMAT = "name"` and
    overriding `read`; a manifest whose `format.type` is that name is then
    read by the subclass (`from_file`)."""

    #: the `format.type` a subclass reads; "" for the built-in readers
    FORMAT: ClassVar[str] = ""
    #: format.type → the subclass that reads it (filled as plugins define them)
    formats: ClassVar[dict[str, type[ManifestDataset]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.FORMAT:
            return
        taken = cls.formats.get(cls.FORMAT) or (ManifestDataset if cls.FORMAT in READERS else None)
        if taken is not None and taken.__qualname__ != cls.__qualname__:
            raise TypeError(f"format {cls.FORMAT!r} of {cls.__module__}.{cls.__qualname__} is already read by "
                            f"{taken.__module__}.{taken.__qualname__}")
        cls.formats[cls.FORMAT] = cls

    def __init__(self, manifest: dict[str, Any], manifest_dir: Path, data_dir: Path | None = None) -> None:
        self.manifest = manifest
        self.manifest_dir = Path(manifest_dir)
        self._data_dir = data_dir
        self.id = manifest["id"]
        self.language = manifest["language"]
        self.labels = tuple(Label(item["name"], dict(item["descriptions"])) for item in manifest["labels"])
        #: split → what was repaired reading it, by kind (e.g. "stray_inside_tag": an I- read as B-)
        self.repairs: dict[str, Counter[str]] = {}
        #: split → the gold labels `label_map` renamed or dropped ("SRC->DST", "SRC->O")
        self.mappings: dict[str, Counter[str]] = {}
        self._read: dict[str, tuple[list[Path], list[Sentence]]] = {}

    @classmethod
    def from_file(cls, path: Path, data_dir: Path | None = None) -> ManifestDataset:
        """The dataset a manifest describes, read by the class its
        `format.type` names (a built-in reader or a plugin's format)."""
        path = Path(path)
        manifest = load_manifest(path)
        kind = manifest["format"]["type"]
        reader = cls if kind in READERS and not cls.FORMAT else cls.formats.get(kind)
        if reader is None:
            plugins = ", ".join(sorted(cls.formats)) or "none installed"
            raise NerbenchError(f"{path}: field format.type: {kind!r} is no format nerbench reads (built-in: "
                                f"{', '.join(READERS)}; from plugins: {plugins}); a dataset plugin adds one "
                                "(CONTRIBUTING.md)")
        return reader(manifest, path.parent, data_dir)

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
        info["direction"] = text_direction(self.language, self.manifest.get("direction"))
        info["labels"] = [label.name for label in self.labels]
        info["splits"] = list(self.splits)
        info["available"] = {split: self._missing(split) == [] for split in self.splits}
        for key, counts in (("repairs", self.repairs), ("mappings", self.mappings)):
            found = {split: dict(sorted(n.items())) for split, n in sorted(counts.items()) if n}
            if found:
                info[key] = found
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

    def read(self, path: Path, split: str, repairs: Repairs) -> Iterable[Sentence]:
        """One file of `split` as sentences (the built-in readers by
        `format.type`). A plugin's format overrides this: build each sentence
        with `from_tags` or `from_spans`, count what you repair in `repairs`."""
        options = {k: v for k, v in self.manifest["format"].items() if k not in ("type", "repair")}
        return READERS[self.manifest["format"]["type"]](path, options, split, repairs)

    def from_tags(self, sentence_id: str, words: list[str], tags: list[str], repairs: Repairs,
                  text: str | None = None, wheres: list[str] | None = None) -> Sentence:
        """A sentence from words and tags in the manifest's `format.tag_scheme`
        (repairs as `format.repair` says); `text` when the corpus has it."""
        scheme = self.manifest["format"].get("tag_scheme", "iob2")
        return sentence_from_tags(sentence_id, words, tags, text, scheme, repairs, wheres)

    @staticmethod
    def from_spans(sentence_id: str, text: str, spans: Iterable[Span], where: str) -> Sentence:
        """A sentence from its text and character spans, tokenised as nerbench
        tokenises raw text (cut at every span boundary); `where` names it in an error."""
        return sentence_from_spans(sentence_id, text, spans, where)

    def sentences(self, split: str) -> Iterator[Sentence]:
        """The split's sentences. The whole split is read (and cached) before
        the first is yielded, so its repairs and mappings are counted in full
        and bad tags or unknown labels are refused once, with their count."""
        paths = self.files(split)
        cached = self._read.get(split)
        if cached is None or cached[0] != paths:
            cached = self._read[split] = (paths, self._read_split(split, paths))
        yield from cached[1]

    def _read_split(self, split: str, paths: list[Path]) -> list[Sentence]:
        repairs = Repairs(self.manifest["format"].get("repair", "none") == "lenient")
        files = [(str(path), list(self.read(path, split, repairs))) for path in paths]
        repairs.refuse()
        mapped, mappings = map_labels(files, self.manifest.get("label_map", {}), {label.name for label in self.labels},
                                      self.id)
        self.repairs[split], self.mappings[split] = repairs, mappings
        return mapped

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
