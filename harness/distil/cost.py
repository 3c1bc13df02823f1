"""What the active loop has cost so far, in the units a user pays — each
round's `cost` in `round.json`, and the line `nerbench loop` prints:

- `teacher`: the `teacher_cost` of the annotation.json beside the silver
  (model calls, seconds, pieces, whether every piece was counted), or None
  when the silver lies in no annotation folder;
- `reviewed`: the sentences taken as gold so far; `answered`: those and the
  ones the person rejected or skipped (they took the person's time too);
- `person_s`: `answered` × the person's seconds per sentence, None when the
  loop was not told them (nerbench never invents them);
- `student_s`, `student_s_total`: the student's training seconds this round
  and over every round (each model's `student.json`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nerbench.distil.annotate import teacher_cost
from nerbench.distil.review_formats import REJECTED, SKIPPED
from nerbench.files.schema import validate
from nerbench.files.text import read_json

_TRAINED = {"type": "object", "required": ["train_s"], "properties": {"train_s": {"type": "number", "minimum": 0}}}


def loop_cost(annotation: Path | None, review_cost: float | None, folder: Path, done: int,
              came_back: Sequence[Mapping[str, Any]], train_s: float) -> dict[str, Any]:
    """The cost of the loop in `folder` up to round `done`, whose student
    trained `train_s` seconds: the silver's `annotation` folder (None: not
    known), a person's `review_cost` seconds a sentence (None: not known),
    and what came back of each earlier round (its reviewed, rejected and
    skipped sentences)."""
    teacher = None
    if annotation is not None:
        path = annotation / "annotation.json"
        teacher = teacher_cost(read_json(path, "annotation"), str(path))
    trained = []
    for k in range(done):
        path = folder / f"round-{k}" / "model" / "student.json"
        meta = read_json(path, "student.json")
        validate(meta, _TRAINED, str(path))
        trained.append(meta["train_s"])
    answered = sum(c["reviewed"] + c[REJECTED] + c[SKIPPED] for c in came_back)
    return {"teacher": teacher, "reviewed": sum(c["reviewed"] for c in came_back), "answered": answered,
            "review_cost_s": review_cost,
            "person_s": None if review_cost is None else round(answered * review_cost, 3),
            "student_s": round(train_s, 3), "student_s_total": round(sum(trained) + train_s, 3)}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h"


def cost_line(cost: Mapping[str, Any]) -> str:
    """The cost as a person reads it, in hours."""
    teacher = cost["teacher"]
    if teacher is None:
        said = "teacher: not known (no annotation.json beside the silver)"
    else:
        said = f"teacher: {teacher['calls']:,} calls, {_hours(teacher['wall_s'])}" + (
            "" if teacher["complete"] else " at least (an earlier piece of the annotation was not counted)")
    more = cost["answered"] - cost["reviewed"]
    said += f"; reviewed {cost['reviewed']:,} sentences" + (f", {more:,} more rejected or skipped" if more else "")
    if cost["person_s"] is None:
        said += " (the person's time: not known without --review-cost)"
    else:
        said += f" ({_hours(cost['person_s'])} at {cost['review_cost_s']:g} s each)"
    return said + f"; student: {_hours(cost['student_s'])} this round, {_hours(cost['student_s_total'])} in all"
