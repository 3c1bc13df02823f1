"""A trained student scored as a system: a backend kind that reads the
sentence itself (the `student` prompt format hands it over as JSON) and
answers with the student's spans, so `nerbench run` caches, scores and
reports it exactly as it does an LLM — same scorer, intervals, paired tests,
explorer and error classes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from nerbench.bases import Backend, PromptFormat, Student
from nerbench.errors import BackendError, NerbenchError
from nerbench.files.text import read_json
from nerbench.parse.alignment import TokenIndex
from nerbench.records import Generation, Label, ParseResult, Prompt, Request, Sentence, Span, Token

#: What nerbench writes beside a trained model: how it was trained, for what.
META = "student.json"
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
    meta = read_json(model_dir / META, "student metadata")
    if not isinstance(meta, dict) or not {"student", "labels", "language"} <= set(meta):
        raise NerbenchError(f"{model_dir / META}: not a student's metadata (student, labels, language)")
    return meta


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
        missing = self.student.missing()
        if missing:
            raise NerbenchError(f"{missing} is not installed; run: {self.student.install}")
        meta = read_meta(self.model_dir(model))
        if meta["student"] != student_id(self.student):
            raise NerbenchError(f"{self.model_dir(model)}: a {meta['student']} model, not one this kind "
                                f"({student_id(self.student)}) loads")

    def _tagger(self, model: str) -> Student:
        if model not in self._loaded:
            self.check_model(model)
            tagger = self.student(**read_meta(self.model_dir(model)).get("options", {}))
            tagger.load(self.model_dir(model))
            self._loaded[model] = tagger
        return self._loaded[model]

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
