"""A trained student scored as a system: a backend kind that reads the
sentence itself (the `student` prompt format hands it over as JSON) and
answers with the student's spans, so `nerbench run` caches, scores and
reports it exactly as it does an LLM — same scorer, intervals, paired tests,
explorer and error classes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nerbench.bases import Backend, PromptFormat, Student
from nerbench.data.manifest import sha256_file
from nerbench.errors import BackendError, NerbenchError
from nerbench.files.paths import contained
from nerbench.files.schema import validate
from nerbench.files.text import read_json
from nerbench.parse.alignment import TokenIndex
from nerbench.records import Generation, Label, ParseResult, Prompt, Request, Sentence, Span, Token

#: What nerbench writes beside a trained model: how it was trained, for what.
META = "student.json"
#: student.json's record of the model folder: each file's size and sha256, at training time.
FILES = "files"
FILES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "type": "object", "required": ["size", "sha256"], "additionalProperties": False,
        "properties": {"size": {"type": "integer", "minimum": 0}, "sha256": {"type": "string",
                                                                              "pattern": "^[0-9a-f]{64}$"}}}}
#: The prompt format student kinds answer.
STUDENT_FORMAT = "student"


def student_id(cls: type[Student]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def read_meta(model_dir: Path) -> dict[str, Any]:
    """A trained student's `student.json`, or one line saying why `model_dir` is none."""
    if not model_dir.is_dir():
        raise NerbenchError(f"{model_dir}: no such model folder")
    if not (model_dir / META).is_file():
        raise NerbenchError(f"{model_dir}: not a trained student (no {META}; `nerbench train` writes one)")
    meta = read_json(contained(model_dir, META, f"{model_dir / META}"), "student metadata")
    if not isinstance(meta, dict) or not {"student", "labels", "language"} <= set(meta):
        raise NerbenchError(f"{model_dir / META}: not a student's metadata (student, labels, language)")
    if FILES in meta:
        validate(meta[FILES], FILES_SCHEMA, str(model_dir / META), FILES)
    return meta


def model_files(model_dir: Path) -> dict[str, Path]:
    """Every file of a model folder but `student.json`, by its path relative
    to the folder, each checked before anything opens it: inside the folder
    (a symlink leading out is refused) and a regular file — a FIFO would
    block its reader for ever, a device would never end."""
    found = {}
    for root, dirs, names in os.walk(model_dir):
        for name in sorted([*dirs, *names]):
            path = Path(root) / name
            rel = path.relative_to(model_dir).as_posix()
            target = contained(model_dir, rel, f"{model_dir}: {rel}")
            mode = target.stat().st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise NerbenchError(f"{path}: not a regular file (a FIFO, socket or device); a model folder holds "
                                    "files only")
            if rel != META:
                found[rel] = target
    return found


def folder_files(model_dir: Path) -> dict[str, dict[str, Any]]:
    """What `student.json` records of a freshly trained model folder: each
    file's size and sha256."""
    return {rel: {"size": path.stat().st_size, "sha256": sha256_file(path)}
            for rel, path in sorted(model_files(model_dir).items())}


def check_files(model_dir: Path, meta: dict[str, Any]) -> None:
    """The model folder holds exactly the files `student.json` records, each
    with its recorded size and digest (a truncated or replaced file is
    refused before a loader sees it). A folder trained before digests were
    recorded has no record: its files are checked for kind and place only
    (its `folder_digest` is in the results of every run that scored it)."""
    files = model_files(model_dir)
    recorded = meta.get(FILES)
    if recorded is None:
        return
    where = model_dir / META
    extra = sorted(set(files) - set(recorded))
    if extra:
        raise NerbenchError(f"{model_dir / extra[0]}: not a file of the trained model ({where} does not record it)")
    for rel, want in sorted(recorded.items()):
        if rel not in files:
            raise NerbenchError(f"{model_dir / rel}: missing ({where} records it)")
        size = files[rel].stat().st_size
        if size != want["size"]:
            raise NerbenchError(f"{model_dir / rel}: {size} bytes, but {where} records {want['size']} "
                                "(truncated or replaced since training)")
        if sha256_file(files[rel]) != want["sha256"]:
            raise NerbenchError(f"{model_dir / rel}: its sha256 is not the one {where} records (changed since "
                                "training)")


def folder_digest(folder: Path) -> tuple[str, int]:
    """sha256 over every file's relative path and bytes, and their total size."""
    digest, size = hashlib.sha256(), 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + data)
        size += len(data)
    return digest.hexdigest(), size


class StudentBackend(Backend):
    """A backend kind serving trained students of one `Student` class: a
    model is the folder `nerbench train` wrote (relative to the config).
    Subclass it, set `student`, and register the subclass as a backend kind."""

    student: ClassVar[type[Student]]
    prompt_formats = (STUDENT_FORMAT,)
    OPTIONS: ClassVar[dict[str, Any] | None] = {}

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self._loaded: dict[str, Student] = {}

    @property
    def endpoint(self) -> str:
        return f"student:{self.name}"

    def model_dir(self, model: str) -> Path:
        path = Path(model).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def check_model(self, model: str) -> None:
        # Checking is loading: the folder's files, the student's own check of
        # what its loader would trust, then the load itself, whose errors are
        # one line (the loaded model is kept for the requests).
        self._tagger(model)

    def _tagger(self, model: str) -> Student:
        if model not in self._loaded:
            self._loaded[model] = self._load(self.model_dir(model))
        return self._loaded[model]

    def _load(self, model_dir: Path) -> Student:
        missing = self.student.missing()
        if missing:
            raise NerbenchError(f"{missing} is not installed; run: {self.student.install}")
        meta = read_meta(model_dir)
        if meta["student"] != student_id(self.student):
            raise NerbenchError(f"{model_dir}: a {meta['student']} model, not one this kind "
                                f"({student_id(self.student)}) loads")
        check_files(model_dir, meta)
        self.student.verify(model_dir)
        # Options come from the folder's author: checked against what the student declares, as train checks them.
        declared = self.student.OPTIONS
        validate(meta.get("options", {}), {"type": "object", "properties": declared or {},
                                           "additionalProperties": declared is None}, str(model_dir / META), "options")
        tagger = self.student(**meta.get("options", {}))
        try:
            tagger.load(model_dir)
        except NerbenchError:
            raise
        except Exception as exc:  # a model library raises what it likes on a bad file: one line, not its traceback
            raise NerbenchError(f"{model_dir}: the model does not load ({type(exc).__name__}: {exc})") from None
        return tagger

    async def describe(self, model: str) -> dict[str, Any]:
        meta = read_meta(self.model_dir(model))
        digest, size = folder_digest(self.model_dir(model))
        return {"digest": f"sha256:{digest}", "endpoint": self.endpoint, "endpoint_identity": "student",
                "labels": list(meta["labels"]), "language": meta["language"], "size_bytes": size,
                "student": meta["student"]}

    async def models(self) -> list[str]:
        return sorted(self._loaded)

    async def health(self) -> dict[str, Any]:
        return {"ok": self.student.missing() is None}

    async def generate(self, request: Request) -> Generation:
        try:
            sentence = decode_sentence(request.messages[-1]["content"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BackendError(f"{self.endpoint}: not a student request ({exc})", cause="bad_request") from None
        tagger = self._tagger(request.model)
        started = time.perf_counter()
        spans = await asyncio.to_thread(tagger.predict, [sentence])
        latency = time.perf_counter() - started
        answer = json.dumps({"spans": [[s.start, s.end, s.label] for s in spans[0]]}, ensure_ascii=False)
        return Generation(answer, "stop", latency_s=latency)


def encode_sentence(sentence: Sentence) -> str:
    return json.dumps({"id": sentence.id, "text": sentence.text,
                       "tokens": [[t.start, t.end] for t in sentence.tokens]}, ensure_ascii=False)


def decode_sentence(content: str) -> Sentence:
    obj = json.loads(content)
    text = obj["text"]
    return Sentence(str(obj["id"]), text, tuple(Token(text[a:b], a, b) for a, b in obj["tokens"]))


class StudentFormat(PromptFormat):
    """The sentence itself, for a student kind; the answer is its spans."""

    version: ClassVar[str] = "1"
    OPTIONS: ClassVar[dict[str, Any] | None] = {}

    def render(self, sentence: Sentence, labels: Sequence[Label], language: str,
               demos: Sequence[Sentence] = ()) -> list[Prompt]:
        return [Prompt(({"role": "user", "content": encode_sentence(sentence)},))]

    def parse(self, outputs: Sequence[Generation], sentence: Sentence, labels: Sequence[Label]) -> ParseResult:
        result = ParseResult([])
        known = {label.name for label in labels}
        index = TokenIndex(sentence.tokens)
        try:
            items = json.loads(outputs[0].text)["spans"]
        except (ValueError, KeyError, TypeError, IndexError):
            result.status = "unparseable"
            return result
        for item in items:
            start, end, label = item
            result.count("mentions")
            if label not in known:
                result.count("unknown_label")
            elif not index.is_aligned(start, end):
                result.count("ungrounded")
            else:
                result.spans.append(Span(start, end, label))
        return result
