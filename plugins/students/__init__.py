"""Built-in students (optional extra `train`): `spacy`, spaCy's efficiency
NER pipeline, and `crf`, a linear-chain CRF (sklearn-crfsuite); each scored
as a system through a backend kind of the same name answering the `student`
prompt format, which this plugin registers too. The libraries are imported
only when a student trains, loads or predicts, so nerbench starts as fast
without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from nerbench import api

from .crf_student import CrfStudent
from .spacy_student import SpacyStudent


class SpacyBackend(api.StudentBackend):
    """Trained `spacy` students: `models = ["DIR/seed-0"]`."""

    student: ClassVar[type[api.Student]] = SpacyStudent


class CrfBackend(api.StudentBackend):
    """Trained `crf` students: `models = ["DIR/seed-0"]`."""

    student: ClassVar[type[api.Student]] = CrfStudent


@api.hookimpl
def register_students(register: Callable[[str, Any], None]) -> None:
    register("spacy", SpacyStudent)
    register("crf", CrfStudent)


@api.hookimpl
def register_backends(register: Callable[[str, Any], None]) -> None:
    register("spacy", SpacyBackend)
    register("crf", CrfBackend)


@api.hookimpl
def register_prompt_formats(register: Callable[[str, Any], None]) -> None:
    register(api.STUDENT_FORMAT, api.StudentFormat)
