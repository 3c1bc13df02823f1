"""Distil, end to end on a tiny real sample: teachers (a fake OpenAI server
answering from the gold with seeded noise, so the silver is known) annotate
LeNER-Br train sentences with their gold withheld, the exports read back
exactly, students train on silver, gold and a gold budget, and a trained
student is scored by `nerbench run` beside its teachers."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from nerbench.cli import cli
from nerbench.files.folders import owned_folder
from nerbench.distil.picks import pick
from nerbench.distil.silver import SilverSentence, token_spans, write_conll
from nerbench.distil.train import example, read_silver
from nerbench.plugin_system.manager import get_registry
from nerbench.records import Sentence, Span, Token

from .conftest import write
from .fake_openai import FakeOpenAI, sentence_of

N = 24


def train_sentences() -> list[Sentence]:
    return list(get_registry().get("datasets", "lener_br").sentences("train"))


def gold_teacher(by_text: dict[str, Sentence]):
    """Answers the json format: model "a" every gold entity, model "b" each
    dropped with probability 0.5 (seeded by sentence): they disagree."""

    def answer(body):
        sentence = by_text.get(sentence_of(body))
        if sentence is None:
            return '{"entities": []}'
        rng = random.Random(f"{body['model']}:{sentence.id}")
        keep = [s for s in sentence.spans if body["model"] == "a" or rng.random() < 0.5]
        return json.dumps({"entities": [{"text": sentence.text[s.start:s.end], "label": s.label} for s in keep]},
                          ensure_ascii=False)

    return answer


def teacher_config(url: str, shots: int = 0) -> str:
    demo = f'shots = {shots}\ndemos = "similar"\ndemo_split = "train"\n' if shots else ""
    return f"""
[[backend]]
name = "t"
kind = "openai"
url = "{url}"
models = ["a", "b"]
concurrency = 4

[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "json"
{demo}"""


@pytest.fixture
def annotated(tmp_path, cli_runner):
    """union[t/a/json+t/b/json] annotating the first N train sentences."""
    sentences = train_sentences()[:N]
    with FakeOpenAI(models=("a", "b"), answer=gold_teacher({s.text: s for s in sentences})) as fake:
        cfg = write(tmp_path / "teachers.toml", teacher_config(fake.url))
        out = tmp_path / "silver"
        result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "union[t/a/json+t/b/json]",
                                         "--split", "lener_br:train", "--limit", str(N), "-o", str(out),
                                         "--cache", str(tmp_path / "cache.sqlite"), "--no-progress"])
        assert result.exit_code == 0, result.output
        asked = sum(fake.sent.values())
        port = fake.port
    return out, sentences, asked, (cfg, port)


def test_the_teacher_never_sees_the_gold_and_the_silver_is_its_union_with_votes(annotated, tmp_path, cli_runner):
    out, sentences, asked, (cfg, port) = annotated
    assert asked == 2 * len({s.text for s in sentences})  # identical sentences are asked once
    silver = read_silver(out / "silver.jsonl")
    assert [s.sentence.id for s in silver] == [s.id for s in sentences]
    for s, gold in zip(silver, sentences):
        # Model a says every gold entity: the union is the gold, each span with its members' votes.
        assert set(s.sentence.spans) == set(gold.spans)
        rng = random.Random(f"b:{gold.id}")
        b = {span for span in gold.spans if rng.random() < 0.5}
        assert dict(zip(s.sentence.spans, s.votes)) == {span: 1 + (span in b) for span in gold.spans}
        assert s.members == 2
        assert s.disagreement == pytest.approx(0.0 if len(b) == len(gold.spans) else 1 - 2 * len(b) / (
            len(b) + len(gold.spans)), abs=1e-6)
    summary = json.loads((out / "annotation.json").read_text())
    assert summary["sentences"] == N and summary["spans"] == sum(len(s.spans) for s in sentences)
    assert summary["teacher"]["members"] == ["t/a/json", "t/b/json"] and summary["partial"] is False
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert Counter(r["system"] for r in rows) == {"t/a/json": N, "t/b/json": N,
                                                   "union[t/a/json+t/b/json]": N}
    # Cached like a run: the same command again, the server back on its port, asks nothing.
    with FakeOpenAI(models=("a", "b"), port=port) as fake:
        result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "union[t/a/json+t/b/json]",
                                         "--split", "lener_br:train", "--limit", str(N), "-o", str(tmp_path / "again"),
                                         "--cache", str(tmp_path / "cache.sqlite"), "--no-progress"])
        assert result.exit_code == 0 and sum(fake.sent.values()) == 0, result.output
    assert (tmp_path / "again" / "silver.jsonl").read_text() == (out / "silver.jsonl").read_text()


def test_the_exports_read_back_exactly(annotated):
    out, sentences, _, _ = annotated
    silver = read_silver(out / "silver.jsonl")
    spans = {s.sentence.id: set(s.sentence.spans) for s in silver}
    # CoNLL, read by nerbench's own reader: the same tokens and spans.
    from nerbench.data.readers import read_conll

    conll = list(read_conll(out / "silver.conll", {"separator": "tab"}, "silver"))
    assert [s.id for s in conll] == [s.sentence.id for s in silver]
    assert {s.id: set(s.spans) for s in conll} == spans
    assert [s.tokens for s in conll] == [s.sentence.tokens for s in silver]
    # Span JSONL (Prodigy's spans with token indexes, doccano's label triples).
    lines = [json.loads(line) for line in (out / "silver.spans.jsonl").read_text().splitlines()]
    for line, s in zip(lines, silver):
        assert line["text"] == s.sentence.text and line["meta"]["id"] == s.sentence.id
        assert {(a, b, lab) for a, b, lab in line["label"]} == {(x.start, x.end, x.label) for x in s.sentence.spans}
        for item in line["spans"]:
            first, last = s.sentence.tokens[item["token_start"]], s.sentence.tokens[item["token_end"]]
            assert (first.start, last.end) == (item["start"], item["end"])
    # spaCy's DocBin: the entities of each Doc are the silver spans.
    import spacy  # nerbench[train], as the README's test command installs it
    from spacy.tokens import DocBin

    docs = list(DocBin().from_bytes((out / "silver.spacy").read_bytes()).get_docs(spacy.blank("pt").vocab))
    assert [d.user_data["id"] for d in docs] == [s.sentence.id for s in silver]
    for doc, s in zip(docs, silver):
        assert doc.text == s.sentence.text
        assert {(e.start_char, e.end_char, e.label_) for e in doc.ents} == {
            (x.start, x.end, x.label) for x in s.sentence.spans}


def test_demonstrations_never_include_an_annotated_sentence(tmp_path, cli_runner):
    sentences = train_sentences()
    annotated = sentences[:N]
    with FakeOpenAI(models=("a",), answer=gold_teacher({s.text: s for s in annotated})) as fake:
        cfg = write(tmp_path / "t.toml", teacher_config(fake.url, shots=3).replace('models = ["a", "b"]',
                                                                                   'models = ["a"]'))
        result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "t/a/json", "--split", "lener_br:train",
                                         "--limit", str(N), "-o", str(tmp_path / "s"), "--no-progress"])
        assert result.exit_code == 0, result.output
        bodies = list(fake.bodies.values())
    texts = {s.text for s in annotated}

    def said(content: str) -> str:
        return sentence_of({"messages": [{"role": "user", "content": content}]})

    # Each request asks about one annotated sentence (its last turn) after demonstrations, none of them one.
    assert len(bodies) == len(texts)
    demos = 0
    for body in bodies:
        turns = [said(m["content"]) for m in body["messages"] if m["role"] == "user"]
        assert turns[-1] in texts and not any(t in texts for t in turns[:-1])
        demos += len(turns) - 1
    assert demos > 2 * len(bodies)
    summary = json.loads((tmp_path / "s" / "annotation.json").read_text())
    assert summary["demonstrations_excluded"] > 0


def test_a_misaligned_or_overlapping_span_is_counted_not_dropped_in_silence(tmp_path):
    tokens = (Token("Maria", 0, 5), Token("da", 6, 8), Token("Silva", 9, 14))
    sentence = Sentence("s1", "Maria da Silva", tokens,
                        (Span(0, 14, "PESSOA"), Span(0, 5, "PESSOA"), Span(1, 5, "LOCAL")))
    kept, lost = token_spans(sentence)
    assert kept == [(0, 3, "PESSOA")] and lost == {"misaligned": 1, "overlapping": 1}
    silver = [SilverSentence(sentence, (1, 1, 1), 1, None)]
    assert write_conll(tmp_path / "s.conll", silver) == {"misaligned": 1, "overlapping": 1}
    assert "Maria\tB-PESSOA\nda\tI-PESSOA\nSilva\tI-PESSOA\n" in (tmp_path / "s.conll").read_text()


def test_missing_and_o_teach_different_examples_and_disagreement_picks_the_disputed():
    tokens = (Token("Maria", 0, 5), Token("mora", 6, 10), Token("em", 11, 13), Token("Lisboa", 14, 20))
    sentence = Sentence("s1", "Maria mora em Lisboa", tokens, (Span(0, 5, "PESSOA"),))
    assert example(sentence, "O").missing == ()
    assert example(sentence, "missing").missing == (False, True, True, True)
    silver = [SilverSentence(Sentence(f"s{i}", "x", (Token("x", 0, 1),)), (), 3, d)
              for i, d in enumerate([0.0, 0.9, 0.5, 0.9, 0.1])]
    assert pick("disagreement", silver, 2, 0) == ["s1", "s3"]
    assert pick("disagreement", silver, 3, 0) == ["s1", "s2", "s3"]
    random_picks = {tuple(pick("random", silver, 2, s)) for s in range(20)}
    assert len(random_picks) > 3  # random is not disagreement in disguise


def test_annotate_the_users_own_text_tokenised_as_nerbench_does(tmp_path, cli_runner):
    text = tmp_path / "mine.txt"
    text.write_text("O Supremo Tribunal Federal julgou o caso.\n\nMaria da Silva, de Brasília, recorreu.\n")

    def answer(body):
        said = sentence_of(body)
        found = [{"text": "Supremo Tribunal Federal", "label": "ORGANIZACAO"}] if "Supremo" in said else [
            {"text": "Maria da Silva", "label": "PESSOA"}, {"text": "Brasília", "label": "LOCAL"}]
        return json.dumps({"entities": found}, ensure_ascii=False)

    with FakeOpenAI(models=("a",), answer=answer) as fake:
        cfg = write(tmp_path / "t.toml", teacher_config(fake.url).replace('models = ["a", "b"]', 'models = ["a"]'))
        result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "t/a/json", "--text", str(text),
                                         "--dataset", "lener_br", "-o", str(tmp_path / "s"), "--no-progress"])
    assert result.exit_code == 0, result.output
    silver = read_silver(tmp_path / "s" / "silver.jsonl")
    assert [s.sentence.id for s in silver] == ["line-1", "line-3"]
    second = silver[1].sentence
    assert [t.text for t in second.tokens] == ["Maria", "da", "Silva", ",", "de", "Brasília", ",", "recorreu", "."]
    assert {(second.text[s.start:s.end], s.label) for s in second.spans} == {("Maria da Silva", "PESSOA"),
                                                                            ("Brasília", "LOCAL")}


def test_annotate_refuses_what_it_cannot_do_in_one_line(tmp_path, cli_runner):
    cfg = write(tmp_path / "t.toml", teacher_config("http://127.0.0.1:9"))
    cases = [
        (["--teacher", "t/c/json", "--split", "lener_br:train"], "not a system of"),
        (["--teacher", "union[t/a/json+t/x/json]", "--split", "lener_br:train"], "'t/x/json' is not a system"),
        (["--teacher", "t/a/json"], "give --split ID:SPLIT or --text FILE"),
        (["--teacher", "t/a/json", "--split", "lener_br:nope"], "no split 'nope'"),
        (["--teacher", "t/a/json", "--split", "lener_br:train", "--sample", "100000"], "has only"),
    ]
    for args, says in cases:
        result = cli_runner.invoke(cli, ["annotate", str(cfg), *args, "-o", str(tmp_path / "o"), "--no-progress"])
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, (args, result.output)
        assert says in result.stderr, (args, result.stderr)


def test_a_sample_annotated_in_pieces_resumes_from_its_output_and_asks_what_the_whole_would(tmp_path, cli_runner):
    """Caches do not always travel (another machine, a new session): the
    output folder is enough to resume, and a piece of a sample (--limit)
    keeps the whole sample out of the demonstrations, so the pieces ask
    exactly what annotating the sample at once asks."""
    sentences = train_sentences()
    answer = gold_teacher({s.text: s for s in sentences})

    def annotate(fake: FakeOpenAI, out: str, cache: str, *extra: str):
        before = set(fake.bodies), sum(fake.sent.values())
        result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "union[t/a/json+t/b/json]",
                                         "--split", "lener_br:train", "--sample", "12", "--seed", "3", *extra,
                                         "-o", str(tmp_path / out), "--cache", str(tmp_path / cache), "--no-progress"])
        assert len(fake.bodies) - len(before[0]) == sum(fake.sent.values()) - before[1]  # nothing asked twice
        return result, set(fake.bodies) - before[0]

    with FakeOpenAI(models=("a", "b"), answer=answer) as fake:
        cfg = write(tmp_path / "t.toml", teacher_config(fake.url, shots=2))
        whole, asked_whole = annotate(fake, "whole", "c0.sqlite")
        port = fake.port
    assert whole.exit_code == 0, whole.output
    with FakeOpenAI(models=("a", "b"), answer=answer, port=port) as fake:
        first, asked_first = annotate(fake, "pieces", "c1.sqlite", "--limit", "5")
        assert first.exit_code == 0, first.output
        rest, asked_rest = annotate(fake, "pieces", "c2.sqlite")  # a fresh cache: only the folder remembers
        assert rest.exit_code == 0, rest.output
        assert "reused 5 sentences' answers" in rest.stderr
        assert asked_first | asked_rest == asked_whole and not asked_first & asked_rest and asked_first
        for name in ("silver.jsonl", "predictions.jsonl", "silver.conll"):
            assert (tmp_path / "pieces" / name).read_text() == (tmp_path / "whole" / name).read_text(), name
        summary = json.loads((tmp_path / "pieces" / "annotation.json").read_text())
        assert summary["reused_sentences"] == 5 and summary["sentences"] == 12
        # Another teacher over the same systems takes their answers from the union's folder: nothing is asked.
        sent = sum(fake.sent.values())
        result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "majority[t/a/json+t/b/json]", "--split",
                                         "lener_br:train", "--sample", "12", "--seed", "3", "--reuse",
                                         str(tmp_path / "pieces"), "-o", str(tmp_path / "majority"), "--cache",
                                         str(tmp_path / "c4.sqlite"), "--no-progress"])
        assert result.exit_code == 0 and "reused 12 sentences' answers" in result.stderr, result.output
        assert sum(fake.sent.values()) == sent
        both = [[sp for sp, votes in zip(s.sentence.spans, s.votes) if votes == 2]
                for s in read_silver(tmp_path / "pieces" / "silver.jsonl")]
        assert [list(s.sentence.spans) for s in read_silver(tmp_path / "majority" / "silver.jsonl")] == both
        assert any(both) and sum(map(len, both)) < summary["spans"]
        # Another draw in the same folder would mix demonstrations: refused before any request.
        other, asked = annotate(fake, "pieces", "c3.sqlite", "--seed", "4")
    assert other.exit_code == 2 and not asked and other.stderr.count("\n") == 1, other.output
    assert "asked with another seed (3, now 4)" in other.stderr
    # Another config (here its server's address) is refused as well.
    cfg.write_text(teacher_config("http://127.0.0.1:9", shots=2))
    result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "union[t/a/json+t/b/json]", "--split",
                                     "lener_br:train", "--sample", "12", "--seed", "3", "-o", str(tmp_path / "pieces"),
                                     "--no-progress"])
    assert result.exit_code == 2 and "an annotation of another config" in result.stderr, result.output


def test_teacher_cost_adds_up_over_the_pieces_an_older_annotation_json_counts_what_it_has(tmp_path, cli_runner):
    """teacher_cost sums every piece's model calls (counted here by the
    server) and wall time; an annotation.json without it (written before
    nerbench kept it) counts its own call, and is incomplete when it had
    itself reused a piece it did not keep the cost of."""
    sentences = train_sentences()
    out = tmp_path / "pieces"
    with FakeOpenAI(models=("a", "b"), answer=gold_teacher({s.text: s for s in sentences})) as fake:
        cfg = write(tmp_path / "t.toml", teacher_config(fake.url))

        def piece(limit: int) -> tuple[dict, int]:
            before = sum(fake.sent.values())
            result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "union[t/a/json+t/b/json]",
                                             "--split", "lener_br:train", "--sample", "12", "--seed", "3",
                                             "--limit", str(limit), "-o", str(out),
                                             "--cache", str(tmp_path / f"c{limit}.sqlite"), "--no-progress"])
            assert result.exit_code == 0, result.output
            return json.loads((out / "annotation.json").read_text()), sum(fake.sent.values()) - before

        first, asked_first = piece(4)
        second, asked_second = piece(8)
        assert asked_first > 0 and asked_second > 0 and second["reused_sentences"] == 4
        assert first["teacher_cost"] == {"calls": asked_first, "wall_s": first["wall_s"], "pieces": 1,
                                         "complete": True}
        cost = second["teacher_cost"]
        assert (cost["calls"], cost["pieces"], cost["complete"]) == (asked_first + asked_second, 2, True)
        assert cost["wall_s"] == pytest.approx(first["wall_s"] + second["wall_s"], abs=0.002)
        # As an older nerbench wrote it: no teacher_cost, and it had reused 4 sentences of an earlier piece.
        del second["teacher_cost"]
        (out / "annotation.json").write_text(json.dumps(second))
        third, asked_third = piece(12)
    cost = third["teacher_cost"]
    assert (cost["calls"], cost["pieces"], cost["complete"]) == (asked_second + asked_third, 2, False)
    assert cost["wall_s"] == pytest.approx(second["wall_s"] + third["wall_s"], abs=0.002)


def test_an_output_folder_belongs_to_one_job(tmp_path, cli_runner):
    """annotate -o continues only what was asked identically and refuses the
    rest (another draw, another text of as many lines, a smaller --limit, a
    run's folder); run -o refuses an annotation's; a folder being written is
    refused to a second command. Nothing is replaced."""
    sentences = train_sentences()
    text, other_text = tmp_path / "a.txt", tmp_path / "b.txt"
    text.write_text("O Supremo Tribunal Federal julgou.\nMaria recorreu.\n")
    other_text.write_text("A Câmara votou.\nJoão recorreu.\n")
    with FakeOpenAI(models=("a", "b"), answer=gold_teacher({s.text: s for s in sentences})) as fake:
        cfg = write(tmp_path / "t.toml", teacher_config(fake.url))

        def annotate(out: str, *args: str):
            return cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", "t/a/json", *args, "-o",
                                           str(tmp_path / out), "--no-progress"])

        assert annotate("s", "--split", "lener_br:train", "--sample", "6", "--seed", "1").exit_code == 0
        silver = (tmp_path / "s" / "silver.jsonl").read_text()
        refusals = [
            (annotate("s", "--split", "lener_br:train", "--sample", "6", "--seed", "2"), "another seed"),
            (annotate("s", "--split", "lener_br:train", "--sample", "7", "--seed", "1"), "another sample"),
            (annotate("s", "--split", "lener_br:train", "--sample", "6", "--seed", "1", "--limit", "2"),
             "holds 6 annotated sentences and this would write 2"),
        ]
        assert annotate("t", "--text", str(text), "--dataset", "lener_br").exit_code == 0
        refusals.append((annotate("t", "--text", str(other_text), "--dataset", "lener_br"), "another text sha256"))
        run = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "r"), "--limit", "2", "--no-progress"])
        assert run.exit_code == 0, run.output
        predictions = (tmp_path / "r" / "predictions.jsonl").read_text()
        refusals.append((annotate("r", "--split", "lener_br:train", "--limit", "2"), "(results.json: run)"))
        refusals.append((cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "s"), "--limit", "2",
                                                 "--no-progress"]), "(annotation.json: annotation)"))
        with owned_folder(tmp_path / "s", "annotation"):  # another command is writing into it
            refusals.append((annotate("s", "--split", "lener_br:train", "--sample", "6", "--seed", "1"),
                             "another nerbench command is writing into it"))
    for result, says in refusals:
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert says in result.stderr, result.stderr
    assert (tmp_path / "s" / "silver.jsonl").read_text() == silver
    assert (tmp_path / "r" / "predictions.jsonl").read_text() == predictions


def files_of(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_students_train_on_the_silver_and_are_scored_as_systems(annotated, tmp_path, cli_runner):
    out, sentences, _, _ = annotated
    for student, options in (("crf", ["--option", "max_iterations=20"]), ("spacy", ["--option", "max_epochs=2"])):
        result = cli_runner.invoke(cli, ["train", student, "--silver", str(out / "silver.jsonl"), "--gold",
                                         "lener_br:train", "--dev", "lener_br:dev", "--dev-limit", "10",
                                         "--unlabelled", "missing", *options, "-o", str(tmp_path / student)])
        assert result.exit_code == 0, result.output
        meta = json.loads((tmp_path / student / "seed-0" / "student.json").read_text())
        assert meta["data"]["silver_sentences"] == N and meta["data"]["unlabelled"] == "missing"
        dev = meta["dev"]
        assert dev["split"].startswith("lener_br:dev (first 10, ") and dev["used_for"] == "early stopping"
        assert dev["sentences"] == 10 - int(dev["split"].split(", ")[1].split()[0])
        assert meta["labels"] == sorted(["PESSOA", "ORGANIZACAO", "LOCAL", "TEMPO", "LEGISLACAO", "JURISPRUDENCIA"])
    cfg = write(tmp_path / "students.toml", """
[run]
limit = 10

[[backend]]
name = "students"
kind = "crf"
models = ["crf/seed-0"]

[[backend]]
name = "spacy"
kind = "spacy"
models = ["spacy/seed-0"]

[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "student"
""")
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "scored"), "--no-progress"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "scored" / "results.json").read_text())
    by = {s["backend"]["kind"]: s for s in results["systems"]}
    assert set(by) == {"crf", "spacy"}
    for entry in by.values():
        assert entry["sentences"] == 10 and entry["counts"]["statuses"] == {"ok": 10}
        assert entry["backend"]["size_bytes"] > 0 and entry["backend"]["digest"].startswith("sha256:")
        assert 0.0 <= entry["metrics"]["f1"] <= 1.0 and entry["counts"]["mean_latency_s"] > 0
    page = (tmp_path / "scored" / "lener_br-test.md").read_text()
    assert "sentences/s" in page and "size MB" in page


def test_a_student_for_other_labels_or_a_missing_model_is_refused_before_any_request(annotated, tmp_path,
                                                                                    cli_runner):
    out, _, _, _ = annotated
    result = cli_runner.invoke(cli, ["train", "crf", "--silver", str(out / "silver.jsonl"), "--gold", "lener_br:train",
                                     "--dev", "lener_br:dev", "--dev-limit", "5", "--option", "max_iterations=5",
                                     "-o", str(tmp_path / "crf")])
    assert result.exit_code == 0, result.output
    meta = tmp_path / "crf" / "seed-0" / "student.json"
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps({**doc, "labels": ["PER", "ORG", "LOC"]}))
    text = ('[[backend]]\nname = "s"\nkind = "crf"\nmodels = ["{m}"]\n'
            '[[dataset]]\nid = "lener_br"\nsplits = ["test"]\n[[format]]\nname = "student"\n')
    for model, says in (("crf/seed-0", "trained for the labels LOC, ORG, PER"), ("nope", "nope: no such model folder"),
                        (".", "not a trained student")):
        cfg = write(tmp_path / "c.toml", text.replace("{m}", model))
        result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "o"), "--limit", "2", "--no-progress"])
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, (model, result.output)
        assert says in result.stderr, (model, result.stderr)
        assert not (tmp_path / "o" / "results.json").exists()


def test_a_gold_budget_is_spent_where_the_teachers_disagree(annotated, tmp_path, cli_runner):
    out, sentences, _, _ = annotated
    silver = read_silver(out / "silver.jsonl")
    result = cli_runner.invoke(cli, ["train", "crf", "--silver", str(out / "silver.jsonl"), "--gold", "lener_br:train",
                                     "--budget", "5", "--pick", "disagreement", "--dev", "lener_br:dev", "--dev-limit",
                                     "5", "--option", "max_iterations=5", "-o", str(tmp_path / "mixed")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "mixed" / "seed-0" / "student.json").read_text())["data"]
    assert data["gold_sentences"] == 5 and data["silver_sentences"] == N - 5 and data["use"] == "mixed"
    most = sorted(silver, key=lambda s: -(s.disagreement or 0))[4].disagreement
    assert all(s.disagreement >= most for s in silver if s.sentence.id in data["gold_ids"])


def test_refusals_come_before_the_first_request_or_the_first_model(annotated, tmp_path, cli_runner, monkeypatch):
    """A --teacher combiner that cannot be used as named asks no member;
    train options that clash train nothing; an interrupted training exits
    130 and leaves no half model where the last one was."""
    out, sentences, _, _ = annotated
    with FakeOpenAI(models=("a", "b"), answer=gold_teacher({s.text: s for s in sentences})) as fake:
        cfg = write(tmp_path / "t.toml", teacher_config(fake.url))
        for teacher, says in (("weighted[t/a/json+t/b/json]", "is fitted on dev"),
                              ("bogus[t/a/json+t/b/json]", "unknown combiner 'bogus'")):
            result = cli_runner.invoke(cli, ["annotate", str(cfg), "--teacher", teacher, "--split", "lener_br:train",
                                             "--limit", "3", "-o", str(tmp_path / "x"), "--no-progress"])
            assert result.exit_code == 2 and says in result.stderr, result.output
        assert sum(fake.sent.values()) == 0
    silver = str(out / "silver.jsonl")
    base = ["train", "crf", "--gold", "lener_br:train", "--dev", "lener_br:dev", "--dev-limit", "10",
            "--option", "max_iterations=3"]
    clashes = [(["--budget", "5"], "--budget buys the gold of silver sentences: give --silver"),
               (["--silver", silver, "--seed", "1", "--seed", "1"], "--seed 1 is given twice"),
               (["--silver", silver, "--limit", "5"], "not with --silver"),
               (["--silver", silver, "--like", silver], "give --silver or --like, not both")]
    for args, says in clashes:
        result = cli_runner.invoke(cli, [*base, *args, "-o", str(tmp_path / "never")])
        assert result.exit_code == 2 and says in result.stderr and result.stderr.count("\n") == 1, result.output
    assert not (tmp_path / "never").exists()
    trained = cli_runner.invoke(cli, [*base, "--silver", silver, "-o", str(tmp_path / "crf")])
    assert trained.exit_code == 0, trained.output
    before = {p.name: p.read_bytes() for p in (tmp_path / "crf" / "seed-0").iterdir()}
    other = cli_runner.invoke(cli, ["train", "spacy", *base[2:-2], "--silver", silver, "-o", str(tmp_path / "crf")])
    assert other.exit_code == 2 and "holds the models of student 'crf', not 'spacy'" in other.stderr, other.output

    from nerbench_plugins.students.crf_student import CrfStudent

    def interrupted(self, examples, dev, labels, language, out_dir, seed):
        (out_dir / "model.crfsuite").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(CrfStudent, "train", interrupted)
    again = cli_runner.invoke(cli, [*base, "--silver", silver, "-o", str(tmp_path / "crf")])
    assert again.exit_code == 130 and "Interrupted." in again.stderr, again.output
    assert {p.name: p.read_bytes() for p in (tmp_path / "crf" / "seed-0").iterdir()} == before
    assert [p.name for p in (tmp_path / "crf").iterdir() if p.name.startswith(".")] == []
