"""Distillation's files are data from strangers (issue 36, round 4): a
results file, a student folder, a silver file, an export and a race record
are each checked before anything trusts them, and none of them chooses where
a request goes or which secret it carries."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest

from nerbench.cli import cli
from nerbench.data.readers import read_conll
from nerbench.distil.silver import SilverSentence, silver_sentences, write_conll, write_docbin, write_silver_jsonl
from nerbench.files.predictions import write_predictions
from nerbench.plugin_system.manager import get_registry
from nerbench.records import STATUS_ERROR, Prediction, Sentence, Span, Token

from .configs import backend, config, run_config, write_config
from .fake_openai import FakeOpenAI
from .test_run_ensembles import BACKEND, LENER, gold_echo  # noqa: F401  (the fixture)


def one_line_refusal(result, *says: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for s in says:
        assert s in result.output, result.output


def annotate_args(source: Path, out: Path, *extra: str) -> list[str]:
    return ["annotate", str(source), "--teacher", "t/m/json", "--split", "lener_br:test", "--limit", "2",
            "-o", str(out), "--cache", str(out.parent / f"{out.name}.sqlite"), "--no-progress", *extra]


def test_a_results_file_never_chooses_where_a_request_goes_nor_its_secret(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setenv("SOME_VAR", "s3cret")
    with FakeOpenAI() as ours, FakeOpenAI() as theirs:
        text = config(backend("t", "openai", ["m"], url=ours.url), run={"limit": 2})
        result, _ = run_config(cli_runner, tmp_path, text, "run")
        assert result.exit_code == 0, result.output
        path = tmp_path / "run" / "results.json"
        doc = json.loads(path.read_text())
        doc["config"]["content"]["backend"][0].update(url=theirs.url, api_key_env="SOME_VAR")
        path.write_text(json.dumps(doc))
        before = sum(ours.sent.values())
        # As it stands: refused, showing what it would use, and nothing is asked.
        refused = cli_runner.invoke(cli, annotate_args(path, tmp_path / "a"))
        one_line_refusal(refused, "--config", "--trust-endpoints", theirs.url, "SOME_VAR")
        # The run's own config has the recorded sha256: the edited content is caught.
        edited = cli_runner.invoke(cli, annotate_args(path, tmp_path / "b", "--config", str(tmp_path / "run.toml")))
        one_line_refusal(edited, "field config.content", "edited")
        assert sum(theirs.sent.values()) == 0 and not theirs.headers
        # The user's own config: its backend, matched by name, is asked; theirs never.
        mine = write_config(tmp_path / "mine.toml", config(backend("t", "openai", ["m"], url=ours.url)))
        done = cli_runner.invoke(cli, annotate_args(path, tmp_path / "c", "--config", str(mine)))
        assert done.exit_code == 0, done.output
        assert sum(theirs.sent.values()) == 0 and sum(ours.sent.values()) - before == 2
        # Trusted when told, each url and key variable shown.
        trusted = cli_runner.invoke(cli, annotate_args(path, tmp_path / "d", "--trust-endpoints"))
        assert trusted.exit_code == 0, trusted.output
        assert theirs.url in trusted.output and "SOME_VAR" in trusted.output
        # The run's config beside its results (as leaderboards ship it): the edit is caught even when trusted.
        shutil.copy(tmp_path / "run.toml", tmp_path / "run" / "run.toml")
        one_line_refusal(cli_runner.invoke(cli, annotate_args(path, tmp_path / "e", "--trust-endpoints")),
                         "field config.content")


# --- B: a student folder is checked before anything is asked ---------------------------------------------

N_TRAIN = 40


def train_one(cli_runner, tmp_path: Path, student: str, *options: str) -> Path:
    out = tmp_path / student
    result = cli_runner.invoke(cli, ["train", student, "--gold", "lener_br:train", "--limit", str(N_TRAIN),
                                     "--dev", "lener_br:dev", "--dev-limit", "10", "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return out / "seed-0"


def student_config(tmp_path: Path, kind: str, model: Path) -> Path:
    return write_config(tmp_path / f"{kind}.toml", config(backend("s", kind, [str(model.relative_to(tmp_path))]),
                                                         datasets=[{"id": "lener_br", "splits": ["test"],
                                                                    "limit": 3}], formats=["student"]))


def rerecord(model: Path, *names: str) -> None:
    """What a hostile author does: student.json records the files as they are now."""
    meta = json.loads((model / "student.json").read_text())
    for name in names:
        data = (model / name).read_bytes()
        meta["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (model / "student.json").write_text(json.dumps(meta))


def nerbench_process(*args: str) -> subprocess.CompletedProcess:
    """nerbench in a process of its own: a model file that crashes its reader must not take the test down."""
    return subprocess.run([sys.executable, "-m", "nerbench", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def crf(tmp_path, cli_runner) -> Path:
    return train_one(cli_runner, tmp_path, "crf")


def test_a_student_json_records_every_model_file_and_an_intact_folder_runs(crf, tmp_path, cli_runner):
    meta = json.loads((crf / "student.json").read_text())
    assert set(meta["files"]) == {"model.crfsuite", "features.json"}
    assert meta["files"]["model.crfsuite"]["size"] == (crf / "model.crfsuite").stat().st_size
    cfg = student_config(tmp_path, "crf", crf)
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    # A folder trained before digests were recorded still loads (its files checked for kind and place only).
    del meta["files"]
    (crf / "student.json").write_text(json.dumps(meta))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o2"), "--no-progress"])
    assert result.exit_code == 0, result.output


def test_a_truncated_crf_model_is_one_line_not_a_segfault_even_with_its_digest_recorded(crf, tmp_path):
    cfg = student_config(tmp_path, "crf", crf)
    data = (crf / "model.crfsuite").read_bytes()
    (crf / "model.crfsuite").write_bytes(data[:3000])
    done = nerbench_process("run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress")
    assert done.returncode == 2 and "3000 bytes" in done.stderr and "truncated" in done.stderr, done
    rerecord(crf, "model.crfsuite")
    done = nerbench_process("run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress")
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "model.crfsuite: not a CRFsuite model that loads" in done.stderr, done.stderr


@pytest.mark.parametrize("how", ["fifo", "garbage", "missing", "symlink out", "extra file", "old folder garbage",
                                 "old folder fifo"])
def test_a_bad_model_file_is_one_line_before_anything_is_asked(how, crf, tmp_path, cli_runner):
    model = crf / "model.crfsuite"
    if how.startswith("old folder"):  # trained before digests were recorded
        meta = json.loads((crf / "student.json").read_text())
        del meta["files"]
        (crf / "student.json").write_text(json.dumps(meta))
    if how != "extra file":
        model.unlink()
    if how.endswith("fifo"):  # read, it would block for ever and ignore SIGTERM
        os.mkfifo(model)
    elif how.endswith("garbage"):
        model.write_bytes(b"garbage\n")
    elif how == "symlink out":
        outside = tmp_path / "elsewhere.crfsuite"
        outside.write_bytes(b"x")
        model.symlink_to(outside)
    elif how == "extra file":
        (crf / "sidecar.bin").write_bytes(b"x")
    cfg = student_config(tmp_path, "crf", crf)
    result = cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"])
    one_line_refusal(result, "field backend[0].models[0]", "model.crfsuite" if how != "extra file" else "sidecar")


def test_a_spacy_config_path_leading_out_of_the_model_folder_is_refused(tmp_path, cli_runner):
    model = train_one(cli_runner, tmp_path, "spacy", "--option", "max_epochs=1")
    cfg = student_config(tmp_path, "spacy", model)
    assert cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"]).exit_code == 0
    config_cfg = model / "model" / "config.cfg"
    other = tmp_path / "other"
    shutil.copytree(model / "model", other)
    config_cfg.write_text(config_cfg.read_text().replace("[components.ner]\n",
                                                         f'[components.ner]\nsource = "{other}"\n', 1))
    rerecord(model, "model/config.cfg")
    one_line_refusal(cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"]), "[components.ner] source",
                     "leads out of the model folder")


# --- C: silver is checked like predictions --------------------------------------------------------------

def silver_folder(tmp_path: Path, n: int = 30, errored: tuple[str, ...] = (), partial: bool = False) -> Path:
    """A silver folder as `nerbench annotate` writes it: two members, their
    answers (the gold; an error for `errored`), the union, annotation.json."""
    sentences = list(islice(get_registry().get("datasets", "lener_br").sentences("train"), n))
    members = ("t/a/json", "t/b/json")
    answers = {m: {s.id: ([] if s.id in errored else list(s.spans)) for s in sentences} for m in members}
    silver = silver_sentences(sentences, {s.id: answers[members[0]][s.id] for s in sentences}, answers)
    out = tmp_path / "silver"
    out.mkdir()
    write_silver_jsonl(out / "silver.jsonl", silver)
    write_predictions(out / "predictions.jsonl", [
        Prediction(m, "lener_br", "train", s.id, tuple(answers[m][s.id]),
                   STATUS_ERROR if s.id in errored else "ok") for m in members for s in sentences])
    (out / "annotation.json").write_text(json.dumps({
        "teacher": {"name": "union", "members": list(members)}, "dataset": "lener_br",
        "labels": [label.name for label in get_registry().get("datasets", "lener_br").labels],
        "sentence_ids": [s.id for s in sentences], "partial": partial or bool(errored)}))
    return out


def train_silver(cli_runner, tmp_path: Path, silver: Path, *extra: str):
    return cli_runner.invoke(cli, ["train", "crf", "--silver", str(silver / "silver.jsonl"), "--gold", "lener_br:train",
                                   "--dev", "lener_br:dev", "--dev-limit", "10", "-o", str(tmp_path / "student"),
                                   *extra])


def edit_line(path: Path, lineno: int, change) -> None:
    lines = path.read_text().splitlines()
    obj = json.loads(lines[lineno - 1])
    change(obj)
    lines[lineno - 1] = json.dumps(obj, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n")


def spanned_line(path: Path) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if json.loads(line)["spans"])


@pytest.mark.parametrize("case", ["duplicate id", "unknown label", "votes above members", "record disagrees",
                                  "partial without answers"])
def test_bad_silver_is_one_line_naming_file_line_and_field(case, tmp_path, cli_runner):
    silver = silver_folder(tmp_path)
    path = silver / "silver.jsonl"
    line = spanned_line(path)
    says: tuple[str, ...] = ()
    if case == "duplicate id":
        first = json.loads(path.read_text().splitlines()[0])["id"]
        edit_line(path, 2, lambda o: o.update(id=first))
        says = (f"{path}:2", "again", f"{path}:1")
    elif case == "unknown label":
        edit_line(path, line, lambda o: o["spans"][0].update(label="BOGUS"))
        says = (f"{path}:{line}", "spans[0].label", "BOGUS")
    elif case == "votes above members":
        edit_line(path, line, lambda o: o["spans"][0].update(votes=3))
        says = (f"{path}:{line}", "spans[0].votes")
    elif case == "record disagrees":
        record = json.loads((silver / "annotation.json").read_text())
        record["sentence_ids"] = record["sentence_ids"][1:]
        (silver / "annotation.json").write_text(json.dumps(record))
        says = ("annotation.json: field sentence_ids",)
    else:
        record = json.loads((silver / "annotation.json").read_text())
        record["partial"] = True
        (silver / "annotation.json").write_text(json.dumps(record))
        (silver / "predictions.jsonl").unlink()
        says = ("annotation.json: field partial",)
    one_line_refusal(train_silver(cli_runner, tmp_path, silver), *says)


def test_partial_silver_is_refused_unless_allowed_and_its_unanswered_sentences_are_never_taught(tmp_path,
                                                                                                   cli_runner):
    ids = [s.id for s in islice(get_registry().get("datasets", "lener_br").sentences("train"), 30)]
    silver = silver_folder(tmp_path, 30, errored=tuple(ids[:4]))
    one_line_refusal(train_silver(cli_runner, tmp_path, silver), "partial silver", "--allow-partial")
    result = train_silver(cli_runner, tmp_path, silver, "--allow-partial")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "student" / "train.json").read_text())["runs"][0]["data"]
    assert data["unanswered_left_out"] == 4 and data["allow_partial"] is True
    assert data["silver_sentences"] == len(ids) - 4


# --- D: every export reads back, or the sentence is counted with its reason -------------------------------

def hostile_silver() -> list[SilverSentence]:
    def sentence(sid: str, text: str, words: list[tuple[int, int]], spans=()) -> SilverSentence:
        tokens = tuple(Token(text[a:b], a, b) for a, b in words)
        return SilverSentence(Sentence(sid, text, tokens, tuple(spans)), tuple(1 for _ in spans), 1, None)

    return [
        sentence("plain", "Rio de Janeiro", [(0, 3), (4, 6), (7, 14)], [Span(0, 14, "LOCAL")]),
        sentence("hash", "# Rio é bom", [(0, 1), (2, 5), (6, 7), (8, 11)], [Span(2, 5, "LOCAL")]),
        sentence("tab", "a\tb Rio", [(0, 3), (4, 7)], [Span(4, 7, "LOCAL")]),
        sentence("newline", "Rio\nde Janeiro", [(0, 3), (4, 6), (7, 14)], [Span(0, 14, "LOCAL")]),
        sentence("leading", "  Rio", [(2, 5)], [Span(2, 5, "LOCAL")]),
        sentence("uncovered", "Rio, SP", [(0, 3), (5, 7)], [Span(0, 3, "LOCAL")]),
        sentence("empty", "…", []),
        sentence("two spaces", "Rio  de Janeiro", [(0, 3), (5, 7), (8, 15)], [Span(0, 15, "LOCAL")]),
        sentence("last", "Lisboa", [(0, 6)], [Span(0, 6, "LOCAL")]),
    ]


def test_every_silver_export_reads_back_identically_or_the_sentence_is_counted(tmp_path):
    silver = hostile_silver()
    lost = write_conll(tmp_path / "silver.conll", silver)
    back = list(read_conll(tmp_path / "silver.conll", {"separator": "tab"}, "silver"))
    exported = {s.id: s for s in back}
    assert len(back) == len(exported)
    for s in silver:
        if s.sentence.id in exported:
            assert exported[s.sentence.id] == s.sentence, s.sentence.id
    assert sum(lost.values()) == len(silver) - len(exported)
    assert set(exported) == {"plain", "two spaces", "last"}
    assert lost["sentences_without_tokens"] == 1 and lost["conll_first_token_is_a_comment"] == 1
    docbin = write_docbin(tmp_path / "silver.spacy", silver, "pt")
    assert docbin is not None
    import spacy
    from spacy.tokens import DocBin

    docs = list(DocBin().from_bytes((tmp_path / "silver.spacy").read_bytes()).get_docs(spacy.blank("pt").vocab))
    by_id = {s.sentence.id: s.sentence for s in silver}
    for doc in docs:
        gold = by_id[doc.user_data["id"]]
        assert doc.text == gold.text
        assert {(e.start_char, e.end_char, e.label_) for e in doc.ents} == {(x.start, x.end, x.label)
                                                                              for x in gold.spans}
    assert sum(docbin.values()) == len(silver) - len(docs)
    assert docbin["sentences_without_tokens"] == 1 and docbin["docbin_text_is_not_tokens_and_single_spaces"] == 4


# --- E: race settings are checked before the first request -------------------------------------------------

@pytest.mark.parametrize("race, field", [({"method": "bogus"}, "run.race.method"),
                                         ({"delta": 1.0}, "run.race.delta"),
                                         ({"rounds": 50}, "run.race.rounds")])
def test_race_settings_that_cannot_run_are_refused_at_dry_run_naming_the_field(race, field, tmp_path, cli_runner,
                                                                                gold_echo):  # noqa: F811
    cfg = write_config(tmp_path / "c.toml", config(BACKEND, datasets=[LENER], run={"limit": 40, "race": race},
                                                   ensemble={"combiners": ["union"], "search": "none",
                                                             "dev_limit": 10}))
    for extra in (["--dry-run"], ["-o", str(tmp_path / "o"), "--no-progress"]):
        one_line_refusal(cli_runner.invoke(cli, ["run", str(cfg), *extra]), f"field {field}")
    assert not gold_echo.asked  # not even the dev sample


def test_a_race_of_one_system_scores_it_on_its_whole_split(tmp_path, cli_runner, gold_echo):  # noqa: F811
    one = backend("echo", "gold-echo", ["good"])
    cfg = write_config(tmp_path / "c.toml", config(one, datasets=[LENER], run={"limit": 40, "race": {"rounds": 5}}))
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads((tmp_path / "o" / "results.json").read_text())["systems"]
    assert entry["sentences"] == 40 and entry["race"]["sentences"] == 40


# --- F: rescore checks a race record as it checks predictions ---------------------------------------------

RACED = Path(__file__).resolve().parents[1] / "leaderboards" / "pt-raced"


def dropped_system(doc: dict) -> dict:
    return next(s for s in doc["systems"] if s["race"]["status"] == "dropped")


def double_count(doc: dict) -> None:
    entry = dropped_system(doc)
    entry["sentences"] *= 2
    entry["race"]["sentences"] *= 2


def no_race_anywhere(doc: dict) -> None:
    del doc["race"]
    for entry in doc["systems"]:
        del entry["race"]


@pytest.mark.parametrize("tamper, says", [
    (double_count, "field systems[0].sentences"),
    (lambda d: dropped_system(d).update(sentences=2 * dropped_system(d)["sentences"]), "race.sentences"),
    (lambda d: d["race"]["settings"].update(seed=1), "stored predictions lack"),
    (lambda d: d.pop("race"), "field race: missing"),
    (no_race_anywhere, "stored predictions lack"),
    (lambda d: d["race"].update(sentences={"lener_br:test": "300"}), "field race.sentences"),
    (lambda d: d["race"]["settings"].update(seed="zero"), "field race.settings.seed"),
], ids=["count doubled", "count doubled, race record not", "seed changed", "race record deleted",
        "every race record deleted", "raced-over count not a number", "seed not a number"])
def test_a_tampered_race_record_is_one_line_not_other_f1_values(tamper, says, tmp_path, cli_runner):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(RACED / "predictions.jsonl", run / "predictions.jsonl")
    doc = json.loads((RACED / "results.json").read_text())
    tamper(doc)
    (run / "results.json").write_text(json.dumps(doc))
    one_line_refusal(cli_runner.invoke(cli, ["rescore", str(run), "-o", str(tmp_path / "new.json")]),
                     str(run / "results.json"), says)
    assert not (tmp_path / "new.json").exists()


@pytest.mark.parametrize("options, says", [({"model_filename": "/etc/passwd"}, "model_filename"),
                                           ({"c1": "lots"}, "field options.c1")])
def test_a_student_json_gives_only_options_the_student_declares(options, says, crf, tmp_path, cli_runner):
    meta = json.loads((crf / "student.json").read_text())
    meta["options"] = options
    (crf / "student.json").write_text(json.dumps(meta))
    cfg = student_config(tmp_path, "crf", crf)
    one_line_refusal(cli_runner.invoke(cli, ["run", str(cfg), "--dry-run"]), "student.json", says)
