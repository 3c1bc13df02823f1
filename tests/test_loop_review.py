"""The active loop through a person's annotation tool: `nerbench loop --to
TOOL` writes each batch for Label Studio, Prodigy or doccano with `review
export`'s code, and `--import` reads the tool's export back with `review
import`'s code — written here as each tool writes it, the way
tests/test_review.py does: accepted, corrected, rejected, skipped and
unreviewed answers. The next round trains on exactly the accepted ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerbench.cli import cli
from nerbench.distil.review_formats import ID_KEY

from .test_loop import dev_teacher, loop_inputs
from .test_review import annotation, lines, write_lines  # noqa: F401  (the module's annotation fixture)

TASKS = {"label-studio": "tasks.json", "prodigy": "tasks.jsonl", "doccano": "tasks.jsonl"}


def first_call(annotated: Path, tmp_path: Path, tool: str, *extra: str) -> list[str]:
    return ["--silver", str(annotated / "silver.jsonl"), *dev_teacher(tmp_path), "--batch", "8", "--to", tool,
            "--option", "max_iterations=10", "--pick", "hybrid", "--delta", "0.01", *extra]


def answer(tool: str, review: Path) -> tuple[list | dict, dict[str, set], dict[str, int]]:
    """The tool's export of the batch in `review`, as the tool writes it: the
    first task with spans corrected (its first span removed), the next ones
    rejected / skipped / left unreviewed as the tool can say, the rest
    accepted as they came. Returns the export, the accepted sentences' spans
    by id, and the counts of the others."""
    if tool == "label-studio":
        tasks = json.loads((review / "tasks.json").read_text(encoding="utf-8"))
        fix = next(k for k, t in enumerate(tasks) if t["predictions"][0]["result"])
        accepted, others = {}, {"rejected": 0, "skipped": 1, "unreviewed": 1}
        for k, task in enumerate(tasks):
            task["id"] = k + 1
            result = task["predictions"][0]["result"][1:] if k == fix else task["predictions"][0]["result"]
            if k in ((fix + 1) % 8, (fix + 2) % 8):
                task["annotations"] = [] if k == (fix + 2) % 8 else [{"result": [], "was_cancelled": True}]
                continue
            task["annotations"] = [{"id": k, "result": result, "was_cancelled": False,
                                    "completed_by": {"email": "ana@example.org"}}]
            accepted[task["data"][ID_KEY]] = {(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
                                              for r in result}
        return tasks, accepted, others
    tasks = lines(review / TASKS[tool])
    key = "spans" if tool == "prodigy" else "label"
    fix = next(k for k, t in enumerate(tasks) if t[key])
    out, accepted = [], {}
    for k, task in enumerate(tasks):
        if k == fix:
            task[key] = task[key][1:]
        if tool == "prodigy":
            if k == (fix + 3) % 8:  # never answered: not in db-out
                continue
            task["answer"] = {(fix + 1) % 8: "reject", (fix + 2) % 8: "ignore"}.get(k, "accept")
            if task["answer"] == "accept":
                accepted[task["meta"][ID_KEY]] = {(s["start"], s["end"], s["label"]) for s in task["spans"]}
        else:
            if k in ((fix + 1) % 8, (fix + 2) % 8):  # not approved: left out of the export
                continue
            task = {"id": 100 + k, **task, "Comments": []}
            accepted[task[ID_KEY]] = {tuple(t) for t in task["label"]}
        out.append(task)
    others = ({"rejected": 1, "skipped": 1, "unreviewed": 1} if tool == "prodigy"
              else {"rejected": 0, "skipped": 0, "unreviewed": 2})
    return out, accepted, others


def write_export(tool: str, exported: list | dict, path: Path) -> Path:
    if tool == "label-studio":
        path.write_text(json.dumps(exported, ensure_ascii=False, indent=2), encoding="utf-8")
        return path
    return write_lines(path, exported)


@pytest.mark.parametrize("tool", list(TASKS))
def test_a_loop_round_trip_through_the_tool_trains_on_exactly_the_accepted_sentences(
        annotation, tmp_path, cli_runner, tool):  # noqa: F811
    folder = tmp_path / "loop"
    result = cli_runner.invoke(cli, ["loop", str(folder), *first_call(annotation, tmp_path, tool,
                                                                      "--review-cost", "30")])
    assert result.exit_code == 0, result.output
    review = folder / "round-0" / "review"
    assert f"{review / TASKS[tool]} in {tool}" in result.output and "--import EXPORT_FILE" in result.output
    sent = json.loads((folder / "round-0" / "round.json").read_text())["sent"]
    manifest = json.loads((review / "review.json").read_text())
    assert manifest["request"]["sentence_ids"] == sent == manifest["sentence_ids"]
    assert (manifest["request"]["round"], manifest["tool"]) == (0, tool)
    assert [s["id"] for s in lines(review / "sentences.jsonl")] == sent

    exported, accepted, others = answer(tool, review)
    assert 0 < len(accepted) < len(sent)
    result = cli_runner.invoke(cli, ["loop", str(folder), "--import",
                                     str(write_export(tool, exported, tmp_path / "export"))])
    assert result.exit_code == 0, result.output
    assert f"{len(accepted)} sentences reviewed (1 corrected)" in result.output
    back = lines(folder / "round-0" / "reviewed.jsonl")
    assert {b["id"]: {(s["start"], s["end"], s["label"]) for s in b["spans"]} for b in back} == accepted
    record = json.loads((folder / "round-1" / "round.json").read_text())
    assert record["came_back"] == {"round": 0, "sent": 8, "reviewed": len(accepted), **others}
    assert record["reviewed"] == len(accepted) and record["silver_sentences"] == 24 - len(accepted)
    # the round trained on exactly the accepted sentences' gold: the rest stays silver, none taught as "no entity"
    data = json.loads((folder / "round-1" / "model" / "student.json").read_text())["data"]
    assert data["gold_ids"] == sorted(accepted) and data["gold_sentences"] == len(accepted)
    assert not set(record["sent"]) & set(accepted)
    assert json.loads((folder / "round-1" / "review" / "review.json").read_text())["request"]["round"] == 1
    cost = record["cost"]
    teacher = json.loads((annotation / "annotation.json").read_text())["teacher_cost"]
    answered = len(accepted) + others["rejected"] + others["skipped"]
    assert cost["teacher"] == teacher and teacher["calls"] > 0
    assert (cost["reviewed"], cost["answered"], cost["person_s"]) == (len(accepted), answered, 30 * answered)
    assert f"teacher: {teacher['calls']:,} calls" in result.output
    assert "at 30 s each" in result.output


def test_a_bad_import_is_one_line_and_loses_nothing(annotation, tmp_path, cli_runner):  # noqa: F811
    folder = tmp_path / "loop"
    assert cli_runner.invoke(cli, ["loop", str(folder), *first_call(annotation, tmp_path, "prodigy")]).exit_code == 0
    review = folder / "round-0" / "review"
    tasks = [dict(t, answer="accept") for t in lines(review / "tasks.jsonl")]
    round_0 = write_lines(tmp_path / "round-0.jsonl", tasks)
    silver_ids = [s["id"] for s in lines(annotation / "silver.jsonl")]
    never = next(i for i in silver_ids if i not in {t["meta"][ID_KEY] for t in tasks})
    stranger = write_lines(tmp_path / "never.jsonl", [dict(tasks[0], meta={**tasks[0]["meta"], ID_KEY: never}),
                                                       *tasks[1:]])

    def refused(export: Path, says: str) -> None:
        before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        result = cli_runner.invoke(cli, ["loop", str(folder), "--import", str(export)])
        assert result.exit_code == 2 and says in result.stderr, result.output
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before  # nothing written

    refused(stranger, f"never.jsonl:1: sentence {never!r} is not one this review exported")
    waiting = cli_runner.invoke(cli, ["loop", str(folder)])
    assert waiting.exit_code == 0 and "round 0: waiting for the review" in waiting.output
    assert cli_runner.invoke(cli, ["loop", str(folder), "--import", str(round_0)]).exit_code == 0
    # round 0's export again, now that round 1 waits: its sentences are not the ones round 1 sent
    refused(round_0, "is not one this review exported")
    assert len(lines(folder / "round-0" / "reviewed.jsonl")) == 8 and not (folder / "round-2").exists()
    result = cli_runner.invoke(cli, ["loop", str(folder), "--import", str(round_0), "--reviewer",
                                     "gold:lener_br:train"])
    assert result.exit_code == 2 and "not both" in result.stderr


def test_the_tool_needs_an_annotation_folder_and_import_a_batch_written_for_a_tool(tmp_path, cli_runner):
    first = loop_inputs(tmp_path)
    result = cli_runner.invoke(cli, ["loop", str(tmp_path / "no"), *first, "--to", "doccano"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "--to doccano: the batches are written from an annotation folder" in result.stderr
    assert not (tmp_path / "no").exists()
    folder = tmp_path / "loop"
    assert cli_runner.invoke(cli, ["loop", str(folder), *first]).exit_code == 0
    result = cli_runner.invoke(cli, ["loop", str(folder), "--import", str(tmp_path / "teacher.jsonl")])
    assert result.exit_code == 2 and "round 0's batch was not written for a tool" in result.stderr, result.output
    assert not (folder / "round-0" / "reviewed.jsonl").exists()
