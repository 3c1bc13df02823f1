"""Plain data types shared by every stage and every plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Span:
    """An entity: character offsets into the sentence text, end exclusive."""

    start: int
    end: int
    label: str

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    """One unit of evaluation, as in the sentence JSONL interchange format."""

    id: str
    text: str
    tokens: tuple[Token, ...]
    spans: tuple[Span, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "tokens": [{"text": t.text, "start": t.start, "end": t.end} for t in self.tokens],
            "spans": [s.to_json() for s in self.spans],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Sentence:
        return cls(
            id=str(obj["id"]),
            text=obj["text"],
            tokens=tuple(Token(t["text"], int(t["start"]), int(t["end"])) for t in obj["tokens"]),
            spans=tuple(Span(int(s["start"]), int(s["end"]), s["label"]) for s in obj.get("spans", [])),
        )


@dataclass(frozen=True)
class Example:
    """A sentence a student learns from: `sentence.spans` are what it is
    taught, always. A token marked in `missing` outside those spans carries
    no label at all — neither an entity nor "O" (spaCy's missing label: no
    loss there); `missing` is empty or one flag per token."""

    sentence: Sentence
    missing: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if self.missing and len(self.missing) != len(self.sentence.tokens):
            raise ValueError(f"sentence {self.sentence.id}: {len(self.missing)} missing flags for "
                             f"{len(self.sentence.tokens)} tokens")


@dataclass(frozen=True)
class Label:
    """An entity type with descriptions keyed by language code."""

    name: str
    descriptions: dict[str, str] = field(default_factory=dict)

    def description(self, language: str) -> str:
        """The description in `language`, else English, else the bare name."""
        base = language.split("-")[0]
        for key in (language, base, "en"):
            if key in self.descriptions:
                return self.descriptions[key]
        return self.name


@dataclass(frozen=True)
class Prompt:
    """One request a prompt format wants sent for a sentence.

    `schema`: JSON Schema for constrained decoding, or None for free text.
    `min_tokens`: the least `max_tokens` the answer needs (formats that
    rewrite the whole sentence need more than the configured default).
    `key`: what this request is about (e.g. the entity type of a per-type
    request), handed back to `parse` through the order of outputs.
    """

    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any] | None = None
    min_tokens: int = 0
    key: str = ""


@dataclass(frozen=True)
class Request:
    """What a prompt format asks a backend for.

    `schema` is a JSON Schema for constrained decoding, or None for free text.
    `about` ("DATASET:SPLIT:SENTENCE_ID") and `key` (the prompt's) say what
    the request is about, for logs and stand-in backends in tests; they are
    neither sent nor part of the cache key.
    """

    model: str
    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any] | None = None
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 256
    about: str = field(default="", compare=False)
    key: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        # Not asdict(): it deep-copies the schema, and this runs for every request.
        return {"model": self.model, "messages": list(self.messages), "schema": self.schema,
                "temperature": self.temperature, "seed": self.seed, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class Generation:
    """A backend's answer to one request."""

    text: str
    finish_reason: str  # "stop", "length", or what the server said
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        # Not asdict(): its deep copy costs 8 µs, and every completion is stored through this.
        return {"text": self.text, "finish_reason": self.finish_reason, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_s": self.latency_s}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Generation:
        return cls(**obj)


@dataclass(frozen=True)
class Failure:
    """A request that got no answer: the cause it is counted under (e.g.
    "connection", "timeout", "http_500") and the message a user reads."""

    cause: str
    message: str


# Per-sentence statuses of the predictions JSONL format.
STATUS_OK = "ok"
STATUS_UNPARSEABLE = "unparseable"
STATUS_TRUNCATED = "truncated"
STATUS_ERROR = "error"
STATUSES = (STATUS_OK, STATUS_UNPARSEABLE, STATUS_TRUNCATED, STATUS_ERROR)


@dataclass
class ParseResult:
    """What a prompt format made of a sentence's outputs.

    `issues` counts per-mention problems (e.g. "ungrounded", "unknown_label");
    `status` is one of STATUSES for the sentence as a whole.
    """

    spans: list[Span]
    status: str = STATUS_OK
    issues: dict[str, int] = field(default_factory=dict)

    def count(self, issue: str, n: int = 1) -> None:
        self.issues[issue] = self.issues.get(issue, 0) + n


@dataclass(frozen=True)
class Prediction:
    """One system's answer for one sentence (a predictions JSONL line)."""

    system: str
    dataset: str
    split: str
    sentence_id: str
    spans: tuple[Span, ...]
    status: str = STATUS_OK
    issues: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "system": self.system,
            "dataset": self.dataset,
            "split": self.split,
            "sentence_id": self.sentence_id,
            "spans": [s.to_json() for s in self.spans],
            "status": self.status,
        }
        if self.issues:
            data["issues"] = dict(self.issues)
        if self.error:
            data["error"] = self.error
        return data
