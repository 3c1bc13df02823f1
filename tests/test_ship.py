"""`nerbench ship`: each built-in student, trained for real on a little
LeNER-Br, built into a spaCy pipeline wheel, installed into a clean venv that
has spaCy and no nerbench, where `spacy.load(NAME)` tags the first LeNER-Br
test sentences exactly as the student does inside nerbench; the wheel
carries its model card. One venv for the session (spaCy from the local
package mirror, ~1 min here)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nerbench import api
from nerbench.cli import cli
from nerbench.plugin_system.manager import reset_registry

from .conftest import write
from .test_students import Data, loaded, trained

pytestmark = pytest.mark.slow
N_TEST = 60
SPACY = {"max_epochs": 4, "batch_size": 8}

#: Runs in the clean venv: spacy.load(NAME), then each sentence tagged from
#: its own tokens (a Doc of them) and from its text (spaCy's tokenizer).
TAGGER = """
import json, sys
import spacy
from spacy.tokens import Doc
try:
    import nerbench
    sys.exit("nerbench is importable here")
except ImportError:
    pass
nlp = spacy.load(sys.argv[1])
out = {"meta": nlp.meta.get("nerbench"), "tokens": [], "text": [], "words": []}
for s in json.load(open(sys.argv[2], encoding="utf-8")):
    words = [t["text"] for t in s["tokens"]]
    spaces = [bool(s["text"][t["end"]:n["start"]]) for t, n in zip(s["tokens"], s["tokens"][1:])] + [False]
    doc = nlp(Doc(nlp.vocab, words=words, spaces=spaces))
    out["tokens"].append([[e.start_char, e.end_char, e.label_] for e in doc.ents])
    doc = nlp(s["text"])
    out["words"].append([t.text for t in doc])
    out["text"].append([[e.start_char, e.end_char, e.label_] for e in doc.ents])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def data(shared_datasets) -> Data:
    """150 train, 20 dev and the first N_TEST test sentences of LeNER-Br."""
    import itertools

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NERBENCH_DATA_DIR", str(shared_datasets))
        mp.setenv("NERBENCH_LOAD_PLUGINS", "")
        reset_registry()
        try:
            dataset = api.lookup("datasets", "lener_br")
            found = Data(dataset)
            found.test = list(itertools.islice(dataset.sentences("test"), N_TEST))
        finally:
            reset_registry()
    return found


@pytest.fixture(scope="session")
def clean_venv(tmp_path_factory) -> Path:
    """A venv with the spaCy nerbench trained with, and no nerbench."""
    import spacy

    venv = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", f"spacy=={spacy.__version__}"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert subprocess.run([str(python), "-c", "import nerbench"], capture_output=True).returncode != 0
    return python


@pytest.mark.parametrize("kind", ["crf", "spacy"])
def test_a_shipped_student_tags_as_it_does_inside_nerbench_where_nerbench_is_not_installed(
        kind, data, clean_venv, tmp_path, cli_runner):
    from nerbench_plugins.students import CrfStudent, SpacyStudent

    cls = {"crf": CrfStudent, "spacy": SpacyStudent}[kind]
    model = tmp_path / "students" / "seed-0"
    trained(cls, kind, SPACY if kind == "spacy" else {}, data, model)
    sentences = data.test
    expected = [[[s.start, s.end, s.label] for s in spans] for spans in loaded(cls, model).predict(sentences)]
    assert sum(map(len, expected)) > 10  # the student finds entities: equality below says something

    # scored by nerbench, so the card carries a score with its interval
    cfg = write(tmp_path / "score.toml", f"""
[run]
limit = {N_TEST}
[[backend]]
name = "{kind}"
kind = "{kind}"
models = ["students/seed-0"]
[[dataset]]
id = "lener_br"
splits = ["test"]
[[format]]
name = "student"
""")
    result = cli_runner.invoke(cli, ["run", str(cfg), "-o", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    name = f"nerbench_test_{kind}"
    result = cli_runner.invoke(cli, ["ship", str(model), "-o", str(tmp_path / "dist"), "--name", name,
                                     "--version", "1.2.3", "--results", str(tmp_path / "run" / "results.json")])
    assert result.exit_code == 0, result.output
    wheel = tmp_path / "dist" / f"pt_{name}-1.2.3-py3-none-any.whl"
    assert wheel.is_file(), result.output
    with zipfile.ZipFile(wheel) as archive:
        files = archive.namelist()
        readme = next(archive.read(f).decode() for f in files if f.endswith("README.md"))
    assert ("crf_features.py" in "\n".join(files)) == (kind == "crf")
    assert "nerbench" not in {Path(f).parts[0] for f in files}
    assert f"A `{kind}` NER student trained by nerbench" in readme and "F1 (95% interval)" in readme

    done = subprocess.run([str(clean_venv), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    data_file = tmp_path / "sentences.json"
    data_file.write_text(json.dumps([s.to_json() for s in sentences], ensure_ascii=False), encoding="utf-8")
    script = write(tmp_path / "tag.py", TAGGER)
    done = subprocess.run([str(clean_venv), str(script), f"pt_{name}", str(data_file)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    shipped = json.loads(done.stdout)
    assert shipped["tokens"] == expected  # the student's own tokens in: exactly its entities out
    # Its text through spaCy's tokenizer: the same entities wherever spaCy cuts the text into the same tokens.
    same = [k for k, s in enumerate(sentences) if shipped["words"][k] == [t.text for t in s.tokens]]
    assert len(same) > N_TEST // 4
    assert [shipped["text"][k] for k in same] == [expected[k] for k in same]
    card = shipped["meta"]
    assert card["kind"] == kind and card["labels"] == sorted(data.names)
    (score,) = card["scores"]
    low, high = score["f1_interval_95"]
    assert low <= score["f1"] <= high and score["sentences"] == N_TEST
    assert card["shipped_with_nerbench"] == api.__version__


def test_ship_refuses_in_one_line_what_it_cannot_ship(tmp_path, cli_runner):
    result = cli_runner.invoke(cli, ["ship", str(tmp_path), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 2 and "not a trained student" in result.output
    (tmp_path / "train.json").write_text("{}")
    (tmp_path / "seed-0").mkdir()
    result = cli_runner.invoke(cli, ["ship", str(tmp_path), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 2 and "ship one of them (seed-0)" in result.output
