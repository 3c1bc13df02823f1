"""The built-in students, trained for real on a little real LeNER-Br (150
train sentences, 20 gold dev sentences for early stopping, 20 test
sentences): they load back to the same predictions, their spans sit on the
sentence's tokens with the dataset's labels, one seed gives one model, the
*missing* and "O" readings of unlabelled tokens teach differently, and a
trained student served as a backend through the `student` format answers
exactly what it predicts."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest

import nerbench.plugin_system.manager
from nerbench import api
from nerbench.distil.train import TrainingData, example, train_student
from nerbench.students import META

from nerbench_plugins.students import CrfBackend, CrfStudent, SpacyBackend, SpacyStudent
from nerbench_plugins.students.crf_student import taught
from nerbench_plugins.students.spacy_student import Layout, spacy_language, training_example

# nerbench[train] (the README's test command installs it): without it these tests fail, not skip.
import sklearn_crfsuite  # noqa: E402, F401
import spacy  # noqa: E402, F401

N_TRAIN, N_DEV, N_TEST = 150, 20, 20
#: A few seconds of spaCy on one core: enough epochs that it predicts something.
SPACY = {"max_epochs": 4, "batch_size": 8}


class Data:
    def __init__(self, dataset: api.Dataset) -> None:
        self.language = dataset.language
        self.labels = list(dataset.labels)
        self.names = [label.name for label in dataset.labels]
        self.train = list(itertools.islice(dataset.sentences("train"), N_TRAIN))
        self.dev = list(itertools.islice(dataset.sentences("dev"), N_DEV))
        self.test = list(itertools.islice(dataset.sentences("test"), N_TEST))


@pytest.fixture(scope="module")
def data(shared_datasets) -> Data:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NERBENCH_DATA_DIR", str(shared_datasets))
        mp.setenv("NERBENCH_LOAD_PLUGINS", "")
        nerbench.plugin_system.manager.reset_registry()
        try:
            return Data(api.lookup("datasets", "lener_br"))
        finally:
            nerbench.plugin_system.manager.reset_registry()


def trained(cls: type[api.Student], name: str, options: dict, data: Data, out: Path, seed: int = 0) -> dict:
    """Trained as `nerbench train` trains (student.json written beside the model)."""
    training = TrainingData([[api.Example(s) for s in data.train]], {"gold_sentences": len(data.train)})
    return train_student(cls, name, options, training, data.dev, data.names, data.language, out, seed,
                         "lener_br:dev")


@pytest.fixture(scope="module")
def crf_model(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("crf") / "seed-0"
    trained(CrfStudent, "crf", {}, data, out)
    return out


@pytest.fixture(scope="module")
def spacy_model(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("spacy") / "seed-0"
    trained(SpacyStudent, "spacy", SPACY, data, out)
    return out


def loaded(cls: type[api.Student], model: Path) -> api.Student:
    student = cls(**json.loads((model / META).read_text(encoding="utf-8"))["options"])
    student.load(model)
    return student


def assert_on_tokens(predicted: list[list[api.Span]], sentences: list[api.Sentence], labels: list[str]) -> None:
    assert len(predicted) == len(sentences)
    for spans, sentence in zip(predicted, sentences):
        starts, ends = {t.start for t in sentence.tokens}, {t.end for t in sentence.tokens}
        for span in spans:
            assert span.start in starts and span.end in ends and span.start < span.end, (sentence.id, span)
            assert span.label in labels
        ordered = sorted(spans)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:])), "overlapping predictions"


# -- registration ----------------------------------------------------------


def test_the_plugin_registers_both_students_their_backends_and_the_student_format():
    assert api.lookup("students", "spacy") is SpacyStudent
    assert api.lookup("students", "crf") is CrfStudent
    assert api.lookup("backends", "spacy").student is SpacyStudent
    assert api.lookup("backends", "crf").student is CrfStudent
    assert api.lookup("prompt_formats", api.STUDENT_FORMAT) is api.StudentFormat
    assert SpacyStudent.missing() is None and CrfStudent.missing() is None


def test_missing_names_the_library_when_it_is_not_installed(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("spacy", "sklearn_crfsuite") else real(name, *a))
    assert SpacyStudent.missing() == "spacy"
    assert CrfStudent.missing() == "sklearn-crfsuite"


# -- crf -------------------------------------------------------------------


def test_crf_trains_loads_and_predicts_on_tokens(crf_model, data):
    meta = json.loads((crf_model / META).read_text(encoding="utf-8"))
    report = meta["report"]
    assert report["sentences"] == N_TRAIN and report["left_out"] == 0
    assert len(report["dev_f1"]) == 1 and 0.0 <= report["best_dev_f1"] <= 1.0
    assert report["features"]["version"] == "2" and "shape" in report["features"]["set"]
    predicted = loaded(CrfStudent, crf_model).predict(data.test)
    assert_on_tokens(predicted, data.test, data.names)
    assert any(predicted), "150 sentences teach the CRF something"


def test_crf_one_seed_is_one_model(crf_model, data, tmp_path):
    again = tmp_path / "again"
    trained(CrfStudent, "crf", {}, data, again)
    assert (again / "model.crfsuite").read_bytes() == (crf_model / "model.crfsuite").read_bytes()
    assert loaded(CrfStudent, again).predict(data.test) == loaded(CrfStudent, crf_model).predict(data.test)


def test_crf_grid_keeps_the_best_setting_on_dev(data, tmp_path):
    student = CrfStudent(c1=[0.05, 1.0], max_iterations=30)
    steps: list[tuple[int, int]] = []
    student.on_progress = lambda done, total: steps.append((done, total))
    report = student.train([api.Example(s) for s in data.train], data.dev, data.names, data.language, tmp_path, 0)
    assert [(s["c1"], s["c2"]) for s in report["settings"]] == [(0.05, 0.1), (1.0, 0.1)]
    # one bar over the grid: the second setting's iterations follow the first's 30
    first, second = (s["iterations"] for s in report["settings"])
    assert steps == [(k, 60) for k in [*range(1, first + 1), *range(31, 31 + second)]]
    best = max(report["settings"], key=lambda s: s["dev_f1"])
    assert report["best_dev_f1"] == best["dev_f1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.json", "model.crfsuite"]


def test_crf_missing_leaves_out_silent_sentences_and_teaches_the_rest_as_o(data, tmp_path):
    as_o = [api.Example(s) for s in data.train]
    as_missing = [example(s, "missing") for s in data.train]
    silent = sum(1 for s in data.train if not s.spans)
    assert 0 < silent < N_TRAIN
    kept_o, left_o, _ = taught(as_o)
    kept_m, left_m, missing_as_o = taught(as_missing)
    assert (len(kept_o), left_o) == (N_TRAIN, 0)
    assert (len(kept_m), left_m) == (N_TRAIN - silent, silent)
    assert {e.sentence.id for e in kept_m} == {s.id for s in data.train if s.spans}
    assert missing_as_o == sum(sum(e.missing) for e in kept_m) > 0
    report = CrfStudent(max_iterations=20).train(as_missing, data.dev, data.names, data.language, tmp_path, 0)
    assert (report["sentences"], report["left_out"], report["missing_as_O"]) == (N_TRAIN - silent, silent,
                                                                                 missing_as_o)


# -- spacy -----------------------------------------------------------------


def test_spacy_trains_with_early_stopping_loads_and_predicts_on_tokens(spacy_model, data):
    report = json.loads((spacy_model / META).read_text(encoding="utf-8"))["report"]
    assert 1 <= report["epochs"] <= SPACY["max_epochs"] and len(report["dev_f1"]) == report["epochs"]
    assert report["best_dev_f1"] == max(report["dev_f1"]) == report["dev_f1"][report["best_epoch"] - 1]
    assert report["language"] == "pt" and report["config"] == "efficiency ner"
    student = loaded(SpacyStudent, spacy_model)
    predicted = student.predict(data.test)
    assert_on_tokens(predicted, data.test, data.names)
    assert any(predicted), "four epochs on 150 sentences teach spaCy something"
    # The folder holds the best epoch's weights: its dev F1 is the one reported.
    from nerbench_plugins.students.common import strict_f1

    assert strict_f1(student.predict(data.dev), data.dev) == report["best_dev_f1"]


def test_spacy_one_seed_is_one_model_in_a_process(spacy_model, data, tmp_path):
    first = json.loads((spacy_model / META).read_text(encoding="utf-8"))["report"]
    report = trained(SpacyStudent, "spacy", SPACY, data, tmp_path / "again")["report"]
    assert (report["dev_f1"], report["loss"]) == (first["dev_f1"], first["loss"])
    assert (loaded(SpacyStudent, tmp_path / "again").predict(data.test)
            == loaded(SpacyStudent, spacy_model).predict(data.test))


def test_spacy_continues_from_a_loaded_model(spacy_model, data, tmp_path):
    student = loaded(SpacyStudent, spacy_model)
    student.options["max_epochs"] = 1
    report = student.train([api.Example(s) for s in data.train[:20]], data.dev, data.names, data.language,
                           tmp_path, 0)
    assert report["continued"] and report["epochs"] == 1
    assert_on_tokens(student.predict(data.test), data.test, data.names)


def test_pretraining_then_gold_continues_the_first_phase_and_ships_the_final_model_alone(data, tmp_path):
    phases = [[api.Example(s) for s in data.train[:100]], [api.Example(s) for s in data.train[100:]]]
    about = {"silver_sentences": 100, "gold_sentences": len(data.train) - 100}
    meta = train_student(SpacyStudent, "spacy", SPACY, TrainingData(phases, about), data.dev, data.names,
                         data.language, tmp_path / "seed-0", 0, "lener_br:dev")
    first, second = meta["report"]
    assert (first["continued"], second["continued"]) == (False, True)
    assert (first["sentences"], second["sentences"]) == (100, len(data.train) - 100)
    assert sorted(p.name for p in (tmp_path / "seed-0").iterdir()) == ["model", META]
    assert_on_tokens(loaded(SpacyStudent, tmp_path / "seed-0").predict(data.test), data.test, data.names)
    with pytest.raises(api.NerbenchError, match="cannot continue training"):
        train_student(CrfStudent, "crf", {}, TrainingData(phases, about), data.dev, data.names, data.language,
                      tmp_path / "crf", 0, "lener_br:dev")


def test_spacy_missing_tokens_are_missing_in_the_gold_not_o(data):

    nlp = spacy.blank("pt")
    sentence = next(s for s in data.train if s.spans and len(s.spans) < len(s.tokens))
    gold_o = training_example(nlp, api.Example(sentence))[0].get_aligned_ner()
    gold_missing = training_example(nlp, example(sentence, "missing"))[0].get_aligned_ner()
    assert gold_o != gold_missing
    for tag_o, tag_missing in zip(gold_o, gold_missing):
        if tag_o == "O":
            assert tag_missing is None  # no loss there
        else:
            assert tag_missing == tag_o  # the taught spans are taught either way
    silent = next(s for s in data.train if not s.spans)
    assert set(training_example(nlp, example(silent, "missing"))[0].get_aligned_ner()) == {None}
    assert set(training_example(nlp, api.Example(silent))[0].get_aligned_ner()) == {"O"}


def test_spacy_docs_are_the_sentence_text_exactly(data):

    vocab = spacy.blank("pt").vocab
    for sentence in data.train + data.dev:
        layout = Layout(sentence)
        doc = layout.doc(vocab)
        assert doc.text == sentence.text
        assert [doc[j].text for j in layout.where] == [t.text for t in sentence.tokens]
    # Other whitespace than one space, and text no token covers, become tokens of their own.
    text = "  Lei  nº\t8.078 ( CDC)  "
    tokens = tuple(api.Token(w, text.index(w), text.index(w) + len(w)) for w in ("Lei", "nº", "8.078", "CDC"))
    sentence = api.Sentence("s", text, tokens, (api.Span(2, 15, "LEGISLACAO"),))
    layout = Layout(sentence)
    doc = layout.doc(vocab)
    assert doc.text == text
    ex = training_example(spacy.blank("pt"), api.Example(sentence, (False, True, False, True)))[0]
    assert ex.reference.ents[0].text == "Lei  nº\t8.078"
    doc.set_ents([spacy.tokens.Span(doc, layout.where[0], layout.where[3] + 1, "LEGISLACAO")])
    assert layout.spans(doc, sentence) == [api.Span(2, 21, "LEGISLACAO")]


def test_spacy_language_is_the_base_language_else_multi_language():
    assert spacy_language("pt-BR") == ("pt", None)
    assert spacy_language("yo") == ("yo", None)
    used, note = spacy_language("zz")
    assert used == "xx" and note and "'zz'" in note


# -- served as a system ----------------------------------------------------


@pytest.mark.parametrize("backend_cls, model_fixture", [(SpacyBackend, "spacy_model"), (CrfBackend, "crf_model")])
def test_a_student_backend_answers_through_the_student_format_exactly_its_predictions(backend_cls, model_fixture,
                                                                                     data, request):
    model = request.getfixturevalue(model_fixture)
    expected = loaded(backend_cls.student, model).predict(data.test)
    backend = backend_cls("students", {})
    backend.check_model(str(model))
    fmt = api.StudentFormat()

    async def answers() -> list[api.ParseResult]:
        out = []
        for sentence in data.test:
            prompts = fmt.render(sentence, data.labels, data.language)
            generation = await backend.generate(api.Request(str(model), prompts[0].messages))
            out.append(fmt.parse([generation], sentence, data.labels))
        return out

    results = asyncio.run(answers())
    assert [r.spans for r in results] == expected
    assert all(r.status == api.STATUS_OK and not r.issues.get("ungrounded") for r in results)
    assert any(expected)


def test_a_student_named_by_an_absolute_path_is_called_by_its_folder(tmp_path):
    from nerbench.config.load import model_refs

    (ref,) = model_refs(tmp_path / "c.toml", 0, {"models": [str(tmp_path / "run" / "seed-0")]})
    assert (ref.name, ref.id) == ("seed-0", str(tmp_path / "run" / "seed-0"))
    (relative,) = model_refs(tmp_path / "c.toml", 0, {"models": ["run/seed-0"]})
    assert relative.name == "run/seed-0"  # as before: names of existing results do not change


def test_crf_shape_of_a_caseless_word_is_its_kind_not_the_word():
    from nerbench_plugins.students.crf_features import shape

    assert shape("محمد") == shape("القاهرة") == "LL"  # Arabic: letters without case
    assert set(shape("दिल्ली")) == {"L", "m"}  # Devanagari: letters and vowel signs (combining marks)
    assert (shape("Supremo"), shape("12/03/2010")) == ("Xxx", "dd/dd/dd")  # cased scripts as before
