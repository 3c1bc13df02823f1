"""`nerbench review`: the sentences of a real annotation (two teachers on
LeNER-Br train sentences, a fake OpenAI server answering from the gold with
seeded noise) exported for Label Studio, Prodigy and doccano; the tools'
exports — written here as each tool writes them — read back as gold exactly;
every bad review file refused in one line naming file and line; Prodigy's
tasks against its documented schema (token_end inclusive) and spaCy's
`Doc.ents`. The real Label Studio round trip is tests/test_labelstudio.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerbench.cli import cli
from nerbench.distil.review import read_annotation
from nerbench.distil.reviewed import read_reviewed
from nerbench.distil.review_formats import ID_KEY
from nerbench.plugin_system.manager import reset_registry
from nerbench.records import Span

from .conftest import write
from .fake_openai import FakeOpenAI
from .test_distil import gold_teacher, teacher_config, train_sentences

N = 24
TEACHER = "union[t/a/json+t/b/json]"
MEMBERS = ["t/a/json", "t/b/json"]


@pytest.fixture(scope="module")
def annotation(tmp_path_factory, shared_datasets) -> Path:
    """union[t/a/json+t/b/json] on the first N LeNER-Br train sentences: a
    says every gold entity, b drops each with probability 0.5."""
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("annotation")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NERBENCH_DATA_DIR", str(shared_datasets))
        mp.setenv("NERBENCH_LOAD_PLUGINS", "")
        reset_registry()
        sentences = train_sentences()[:N]
        with FakeOpenAI(models=("a", "b"), answer=gold_teacher({s.text: s for s in sentences})) as fake:
            cfg = write(tmp / "teachers.toml", teacher_config(fake.url))
            result = CliRunner().invoke(cli, ["annotate", str(cfg), "--teacher", TEACHER, "--split", "lener_br:train",
                                              "--limit", str(N), "-o", str(tmp / "silver"),
                                              "--cache", str(tmp / "cache.sqlite"), "--no-progress"])
        reset_registry()
    assert result.exit_code == 0, result.output
    return tmp / "silver"


def export(cli_runner, annotation: Path, out: Path, tool: str, n: int = 8, pick: str = "disagreement",
           seed: int = 0) -> Path:
    result = cli_runner.invoke(cli, ["review", "export", str(annotation), "--to", tool, "--pick", pick,
                                     "--n", str(n), "--seed", str(seed), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def import_(cli_runner, export_file: Path, folder: Path):
    return cli_runner.invoke(cli, ["review", "import", str(export_file), "--review", str(folder), "--json"])


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_lines(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


# -- export ---------------------------------------------------------------------


def test_disagreement_picks_the_most_disputed_sentences_and_random_is_seeded(annotation, tmp_path, cli_runner):
    folder = read_annotation(annotation)
    ranked = sorted(folder.tasks.values(), key=lambda t: -(t.disagreement or 0))
    out = export(cli_runner, annotation, tmp_path / "d", "doccano", n=5)
    picked = [t[ID_KEY] for t in lines(out / "tasks.jsonl")]
    assert len(picked) == 5
    # every picked sentence disagrees at least as much as every one left out
    assert min(folder.tasks[i].disagreement for i in picked) >= max(
        t.disagreement for t in ranked if t.sentence.id not in picked)
    assert min(folder.tasks[i].disagreement for i in picked) > 0
    a = [t[ID_KEY] for t in lines(export(cli_runner, annotation, tmp_path / "r1", "doccano", 5, "random", 1)
                                  / "tasks.jsonl")]
    b = [t[ID_KEY] for t in lines(export(cli_runner, annotation, tmp_path / "r2", "doccano", 5, "random", 1)
                                  / "tasks.jsonl")]
    c = [t[ID_KEY] for t in lines(export(cli_runner, annotation, tmp_path / "r3", "doccano", 5, "random", 2)
                                  / "tasks.jsonl")]
    assert a == b and a != c


def test_label_studio_tasks_carry_one_prediction_per_member_and_the_config_the_labels(annotation, tmp_path,
                                                                                       cli_runner):
    out = export(cli_runner, annotation, tmp_path / "ls", "label-studio")
    tasks = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    folder = read_annotation(annotation)
    assert len(tasks) == 8
    for task in tasks:
        truth = folder.tasks[task["data"][ID_KEY]]
        assert task["data"]["text"] == truth.sentence.text
        assert [p["model_version"] for p in task["predictions"]] == MEMBERS
        for prediction in task["predictions"]:
            spans = {Span(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
                     for r in prediction["result"]}
            assert spans == set(truth.members[prediction["model_version"]])
            for r in prediction["result"]:
                assert r["value"]["text"] == truth.sentence.text[r["value"]["start"]:r["value"]["end"]]
                assert (r["from_name"], r["to_name"], r["type"]) == ("label", "text", "labels")
                votes = sum(Span(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) in m
                            for m in truth.members.values())
                assert r["score"] == votes / 2
            if prediction["result"]:
                assert prediction["score"] == pytest.approx(sum(r["score"] for r in prediction["result"])
                                                            / len(prediction["result"]))
    config = (out / "label_config.xml").read_text(encoding="utf-8")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(config)
    assert [label.get("value") for label in root.iter("Label")] == [
        "JURISPRUDENCIA", "LEGISLACAO", "LOCAL", "ORGANIZACAO", "PESSOA", "TEMPO"] or sorted(
        label.get("value") for label in root.iter("Label")) == sorted(
        ["JURISPRUDENCIA", "LEGISLACAO", "LOCAL", "ORGANIZACAO", "PESSOA", "TEMPO"])
    assert all(label.get("hint") for label in root.iter("Label"))
    assert root.find("Text").get("value") == "$text" and root.find("Labels").get("toName") == "text"


def test_prodigy_tasks_follow_the_documented_schema_token_end_inclusive_and_spacy_builds_the_same_ents(
        annotation, tmp_path, cli_runner):
    import spacy
    from spacy.tokens import Doc, Span as SpacySpan

    out = export(cli_runner, annotation, tmp_path / "p", "prodigy")
    folder = read_annotation(annotation)
    vocab = spacy.blank("pt").vocab
    multi_token = 0
    for task in lines(out / "tasks.jsonl"):
        assert set(task) == {"text", "tokens", "spans", "meta"}
        truth = folder.tasks[task["meta"][ID_KEY]]
        for i, token in enumerate(task["tokens"]):
            assert set(token) == {"text", "start", "end", "id", "ws"} and token["id"] == i
            assert task["text"][token["start"]:token["end"]] == token["text"]
        for span in task["spans"]:
            assert set(span) == {"start", "end", "label", "token_start", "token_end"}
            # token_end is the LAST token of the span (inclusive), not one past it
            assert task["tokens"][span["token_start"]]["start"] == span["start"]
            assert task["tokens"][span["token_end"]]["end"] == span["end"]
            multi_token += span["token_end"] > span["token_start"]
        doc = Doc(vocab, words=[t["text"] for t in task["tokens"]], spaces=[t["ws"] for t in task["tokens"]])
        assert doc.text == task["text"]
        doc.ents = [SpacySpan(doc, s["token_start"], s["token_end"] + 1, label=s["label"]) for s in task["spans"]]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
            (s.start, s.end, s.label) for s in sorted(truth.sentence.spans)]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
            (d.start_char, d.end_char, d.label_) for d in
            (doc.char_span(s["start"], s["end"], label=s["label"]) for s in task["spans"])]
        assert "votes" in task["meta"] and set(MEMBERS) <= set(task["meta"])
    assert multi_token > 0  # an exclusive token_end would be caught on these


def test_doccano_tasks_hold_the_teachers_spans_as_label_triples(annotation, tmp_path, cli_runner):
    out = export(cli_runner, annotation, tmp_path / "dc", "doccano")
    folder = read_annotation(annotation)
    for task in lines(out / "tasks.jsonl"):
        truth = folder.tasks[task[ID_KEY]].sentence
        assert task["text"] == truth.text
        assert [tuple(t) for t in task["label"]] == [(s.start, s.end, s.label) for s in truth.spans]


def test_an_export_folder_belongs_to_one_export(annotation, tmp_path, cli_runner):
    out = export(cli_runner, annotation, tmp_path / "x", "doccano")
    again = export(cli_runner, annotation, tmp_path / "x", "doccano")  # the same request: the same files
    assert again == out
    result = cli_runner.invoke(cli, ["review", "export", str(annotation), "--to", "prodigy", "--n", "8",
                                     "-o", str(out)])
    assert result.exit_code == 2 and "holds another review export" in result.output
    result = cli_runner.invoke(cli, ["review", "export", str(annotation), "--to", "doccano", "--n", "99",
                                     "-o", str(tmp_path / "y")])
    assert result.exit_code == 2 and "--n 99: between 1 and the 24 sentences" in result.output


# -- import: each tool's export back as gold ------------------------------------


def test_prodigy_db_out_comes_back_as_gold_with_rejects_and_ignores_counted(annotation, tmp_path, cli_runner):
    out = export(cli_runner, annotation, tmp_path / "p", "prodigy")
    tasks = lines(out / "tasks.jsonl")
    answered = []
    for k, task in enumerate(tasks):
        task = dict(task, _annotator_id="ana", _timestamp=1700000000 + k)
        if k == 0:  # corrected: the first span dropped
            task["spans"] = task["spans"][1:]
        task["answer"] = "reject" if k == 1 else "ignore" if k == 2 else "accept"
        if k != 3:  # the 4th was never answered: not in db-out
            answered.append(task)
    result = import_(cli_runner, write_lines(tmp_path / "db-out.jsonl", answered), out)
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert (counts["accepted"], counts["rejected"], counts["skipped"], counts["unreviewed"]) == (5, 1, 1, 1)
    assert counts["changed"] == 1 and counts["unchanged"] == 4
    gold, provenance = read_reviewed(out / "reviewed.jsonl", labels=read_annotation(annotation).summary["labels"])
    by_id = {t["meta"][ID_KEY]: t for t in answered if t["answer"] == "accept"}
    assert [s.id for s in gold] == list(by_id)
    for s in gold:
        assert [(x.start, x.end, x.label) for x in s.spans] == sorted(
            (x["start"], x["end"], x["label"]) for x in by_id[s.id]["spans"])
    line = lines(out / "reviewed.jsonl")[0]["review"]
    assert line["by"] == "ana" and line["at"].startswith("2023-11-14T22:13:20") and line["changed"] is True
    assert provenance["sentences"] == 5 and provenance["reviewers"] == {"ana": 5}
    assert provenance["sha256"] != provenance["sources_sha256"][0] and len(provenance["sha256"]) == 64
    assert json.loads((out / "import.json").read_text())["reviewed_sha256"] == provenance["sha256"]


def test_doccano_export_comes_back_with_label_or_labels(annotation, tmp_path, cli_runner):
    out = export(cli_runner, annotation, tmp_path / "dc", "doccano")
    tasks = lines(out / "tasks.jsonl")
    exported = []
    for k, task in enumerate(tasks):
        # doccano writes its own id and comments; older versions say `labels`
        task = {"id": 100 + k, **task, "Comments": []}
        if k % 2:
            task["labels"] = task.pop("label")
        if k == 0:
            task["label"] = []  # the reviewer found nothing: a real "no entities"
        exported.append(task)
    result = import_(cli_runner, write_lines(tmp_path / "doccano.jsonl", exported), out)
    assert result.exit_code == 0, result.output
    gold, _ = read_reviewed(out / "reviewed.jsonl")
    assert len(gold) == 8 and gold[0].spans == ()
    assert [[(s.start, s.end, s.label) for s in g.spans] for g in gold[1:]] == [
        sorted(map(tuple, t.get("label", t.get("labels")))) for t in exported[1:]]


# -- bad review files: one line each, naming file and line ------------------------


def bad(cli_runner, tmp_path, folder: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = import_(cli_runner, path, folder)
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("Error: ") and "\n" not in message and "Traceback" not in message
    return message


def test_each_bad_review_file_is_one_line_naming_file_and_line(annotation, tmp_path, cli_runner):
    out = export(cli_runner, annotation, tmp_path / "p", "prodigy")
    tasks = [dict(t, answer="accept") for t in lines(out / "tasks.jsonl")]
    with_span = next(k for k, t in enumerate(tasks) if t["spans"])
    text_len = len(tasks[with_span]["text"])

    def edited(change) -> str:
        copy = json.loads(json.dumps(tasks))
        change(copy[with_span])
        return "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in copy)

    line = with_span + 1
    off = bad(cli_runner, tmp_path, out, "off.jsonl", edited(lambda t: t["spans"][0].update(
        end=text_len + 5, token_start=None) or t["spans"][0].pop("token_start") and t["spans"][0].pop("token_end")))
    assert f"off.jsonl:{line}: span" in off and "is off the text" in off
    unknown = bad(cli_runner, tmp_path, out, "label.jsonl", edited(lambda t: t["spans"][0].update(label="ANIMAL")))
    assert f"label.jsonl:{line}: label 'ANIMAL' is not one of the dataset's" in unknown
    never = bad(cli_runner, tmp_path, out, "never.jsonl", edited(lambda t: t["meta"].update(nerbench_id="nope")))
    assert f"never.jsonl:{line}: sentence 'nope' is not one this review exported" in never
    cut = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tasks)
    truncated = bad(cli_runner, tmp_path, out, "cut.jsonl", cut[: len(cut) - 40])
    assert f"cut.jsonl:{len(tasks)}: invalid JSON" in truncated
    exclusive = bad(cli_runner, tmp_path, out, "exclusive.jsonl", edited(
        lambda t: t["spans"][0].update(token_end=t["spans"][0]["token_end"] + 1)))
    assert f"exclusive.jsonl:{line}:" in exclusive and "token_end is inclusive" in exclusive
    twice = bad(cli_runner, tmp_path, out, "twice.jsonl", cut + json.dumps(tasks[0]) + "\n")
    assert f"twice.jsonl:{len(tasks) + 1}: sentence" in twice and "one answer per sentence" in twice
    edited_text = bad(cli_runner, tmp_path, out, "text.jsonl", edited(lambda t: t.update(text=t["text"] + " !")))
    assert f"text.jsonl:{line}:" in edited_text and "not the one exported" in edited_text
    not_on_tokens = bad(cli_runner, tmp_path, out, "tokens.jsonl", edited(lambda t: [t["spans"][0].update(
        end=t["spans"][0]["end"] - 1), t["spans"][0].pop("token_end")]))
    assert f"tokens.jsonl:{line}:" in not_on_tokens and "is not on the tokens" in not_on_tokens
    answer = bad(cli_runner, tmp_path, out, "answer.jsonl", edited(lambda t: t.update(answer="maybe")))
    assert f"answer.jsonl:{line}: field answer:" in answer
    # A rejected task is no error: counted, never gold.
    rejected = edited(lambda t: t.update(answer="reject"))
    result = import_(cli_runner, write(tmp_path / "rejected.jsonl", rejected), out)
    assert result.exit_code == 0 and json.loads(result.output)["rejected"] == 1
    assert tasks[with_span]["meta"][ID_KEY] not in {s.id for s in read_reviewed(out / "reviewed.jsonl")[0]}


def test_a_bad_label_studio_export_names_the_line_of_its_task(annotation, tmp_path, cli_runner):
    out = export(cli_runner, annotation, tmp_path / "ls", "label-studio")
    tasks = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    for k, task in enumerate(tasks):
        task["id"] = k + 1
        task["annotations"] = [{"id": k, "result": task["predictions"][0]["result"], "was_cancelled": False}]
    first = next(s for s in (json.loads(line) for line in (out / "sentences.jsonl").read_text().splitlines())
                 if s["id"] == tasks[2]["data"][ID_KEY])["tokens"][0]
    tasks[2]["annotations"][0]["result"] = [{"type": "labels", "from_name": "label", "to_name": "text", "value": {
        "start": first["start"], "end": first["end"], "labels": ["GATO"]}}]
    items = [json.dumps(t, ensure_ascii=False, indent=2) for t in tasks]
    text = "[\n" + ",\n".join(items) + "\n]\n"
    start_line = 2 + sum(item.count("\n") + 1 for item in items[:2])  # where the third task opens
    message = bad(cli_runner, tmp_path, out, "ls.json", text)
    assert message.startswith(f"Error: {tmp_path / 'ls.json'}:{start_line}: label 'GATO' is not one of")
    good = json.dumps([dict(t, annotations=[]) for t in tasks], ensure_ascii=False, indent=2)
    truncated = bad(cli_runner, tmp_path, out, "cut.json", good[: len(good) // 2])
    assert "cut.json:" in truncated and "invalid JSON" in truncated


def test_read_reviewed_refuses_what_was_not_reviewed_by_nerbench(annotation, tmp_path, cli_runner):
    from nerbench.errors import NerbenchError

    silver_line = (annotation / "silver.jsonl").read_text(encoding="utf-8").splitlines()[0]
    path = write(tmp_path / "plain.jsonl", silver_line + "\n")
    with pytest.raises(NerbenchError, match=r"plain.jsonl:1: no 'review' record"):
        read_reviewed(path)
    with pytest.raises(NerbenchError, match=r"empty.jsonl: no reviewed sentences"):
        read_reviewed(write(tmp_path / "empty.jsonl", ""))


# -- train on a person's review ---------------------------------------------------


def test_train_learns_from_reviewed_gold_alone_or_in_place_of_its_silver(annotation, tmp_path, cli_runner):
    """`train --reviewed`: the reviewed sentences alone, or each in place of
    its silver one (mixed); train.json records the file's sha256 and counts.
    A reviewed label the dataset lacks, or a clash of gold sources, is one line."""
    out = export(cli_runner, annotation, tmp_path / "dc", "doccano")
    tasks = lines(out / "tasks.jsonl")
    tasks[0]["label"] = []  # the reviewer removed the teachers' spans of the first sentence
    assert import_(cli_runner, write_lines(tmp_path / "doccano.jsonl", tasks), out).exit_code == 0
    reviewed = out / "reviewed.jsonl"
    silver = annotation / "silver.jsonl"
    common = ["--gold", "lener_br:train", "--dev", "lener_br:dev", "--dev-limit", "20", "--option", "max_iterations=5"]

    def train(name: str, *args: str):
        return cli_runner.invoke(cli, ["train", "crf", *args, *common, "-o", str(tmp_path / name), "--json"])

    alone = train("alone", "--reviewed", str(reviewed))
    mixed = train("mixed", "--silver", str(silver), "--reviewed", str(reviewed))
    for result in (alone, mixed):
        assert result.exit_code == 0, result.output
    data_alone = json.loads(alone.stdout)[0]["data"]
    data_mixed = json.loads(mixed.stdout)[0]["data"]
    _, provenance = read_reviewed(reviewed)
    assert data_alone["reviewed"]["sha256"] == provenance["sha256"] == data_mixed["reviewed"]["sha256"]
    assert data_alone["gold_sentences"] == 8 and "silver_sentences" not in data_alone
    assert (data_mixed["gold_sentences"], data_mixed["silver_sentences"]) == (8, N - 8)
    recorded = json.loads((tmp_path / "mixed" / "train.json").read_text())["runs"][0]["data"]["reviewed"]
    assert recorded == provenance
    bad = write(tmp_path / "bad.jsonl", reviewed.read_text().replace('"PESSOA"', '"ANIMAL"', 1))
    refused = [train("x", "--reviewed", str(bad)), train("y", "--reviewed", str(reviewed), "--like", str(silver)),
               train("z", "--reviewed", str(reviewed), "--silver", str(silver), "--budget", "2")]
    for result, says in zip(refused, ["'ANIMAL' is not one of the dataset's", "not with --budget or --like",
                                      "not with --budget or --like"]):
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert says in result.stderr, result.stderr
