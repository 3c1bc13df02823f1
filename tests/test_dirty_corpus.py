"""A dirty corpus ported by manifest alone (docs/porting.md): tags that lost
their B, bare dashes, stray I- and types outside the label set are repaired
or mapped when the manifest says so — each counted for the whole split —
and refused in one line that names the remedy and the count when it does not."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from nerbench.api import ManifestDataset, NerbenchError
from nerbench.cli import cli
from nerbench.data.readers import read_conll
from nerbench.data.tags import Repairs

from .conftest import write

DIRTY = Path(__file__).resolve().parent / "fixtures" / "dirty"
TEST_REPAIRS = {"bare_dash": 1, "missing_prefix": 4, "stray_inside_tag": 1}
TRAIN_REPAIRS = {"missing_prefix": 1, "stray_inside_tag": 1}


def mentions(sentence_json: dict) -> list[tuple[str, str]]:
    text = sentence_json["text"]
    return [(text[s["start"]:s["end"]], s["label"]) for s in sentence_json["spans"]]


def test_lenient_export_repairs_and_maps_every_kind(cli_runner):
    result = cli_runner.invoke(cli, ["--registry", str(DIRTY / "dirty.json"), "datasets", "export", "dirty_pt:test"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [mentions(s) for s in lines] == [
        [("Maria Silva", "PER"), ("Lisboa", "LOC")],        # -PER as B-PER, continued by I-PER; bare - as O
        [("Google", "ORG"), ("DeepMind", "ORG"), ("Londres", "LOC")],  # stray I-ORG; GPE mapped to LOC
        [("Porto FC", "ORG")],                               # MISC dropped; -ORG after -ORG continues it
    ]


def test_repairs_and_mappings_are_counted_per_split_for_the_whole_split():
    dataset = ManifestDataset.from_file(DIRTY / "dirty.json")
    next(iter(dataset.sentences("test")))  # one sentence read (as a --limit 1 would) ...
    dataset.sentences("train").__next__()
    info = dataset.describe()  # ... and the whole split counted
    assert info["repairs"] == {"test": TEST_REPAIRS, "train": TRAIN_REPAIRS}
    assert info["mappings"] == {"test": {"GPE->LOC": 1, "MISC->O": 1}, "train": {"GPE->LOC": 1}}


def test_without_repair_the_split_is_refused_in_one_line_with_the_count_and_the_remedy(cli_runner):
    result = cli_runner.invoke(cli, ["--registry", str(DIRTY / "dirty-raw.json"), "datasets", "export",
                                     "dirty_pt_raw:test"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "test.txt:2: '-PER' is not an IOB2 tag" in line
    assert "the split has 5 bad tags (bare_dash 1, missing_prefix 4)" in line
    assert 'format.repair = "lenient"' in line


def test_an_unlisted_type_is_refused_with_its_count_and_label_map_named(tmp_path, cli_runner):
    manifest = json.loads((DIRTY / "dirty.json").read_text(encoding="utf-8"))
    del manifest["label_map"]
    for name in ("test.txt", "train.txt"):
        shutil.copy(DIRTY / name, tmp_path / name)
    write(tmp_path / "m.json", json.dumps(manifest))
    result = cli_runner.invoke(cli, ["--registry", str(tmp_path / "m.json"), "datasets", "export", "dirty_pt:test"])
    assert result.exit_code == 2
    assert "the split has 2 spans of unlisted labels (GPE 1, MISC 1)" in result.output
    assert "label_map" in result.output and len(result.output.strip().splitlines()) == 1


def test_a_label_map_onto_an_unknown_label_is_refused_naming_the_field(tmp_path):
    manifest = json.loads((DIRTY / "dirty.json").read_text(encoding="utf-8"))
    manifest["label_map"] = {"GPE": "PLACE"}
    path = write(tmp_path / "m.json", json.dumps(manifest))
    with pytest.raises(NerbenchError, match=r"m\.json: field label_map\.GPE: 'PLACE' is not a label"):
        ManifestDataset.from_file(path)


def test_an_unknown_format_type_is_one_clear_error(tmp_path):
    manifest = json.loads((DIRTY / "dirty.json").read_text(encoding="utf-8"))
    manifest["format"] = {"type": "brat"}
    path = write(tmp_path / "m.json", json.dumps(manifest))
    with pytest.raises(NerbenchError, match=r"field format\.type: 'brat' is no format nerbench reads \(built-in: "
                                            r"conll, harem-json, sentence-jsonl"):
        ManifestDataset.from_file(path)


@pytest.mark.parametrize(("scheme", "tags"), [
    ("iob1", "I-PER I-PER B-PER O I-LOC I-LOC O"),
    ("bioes", "B-PER E-PER S-PER O B-LOC E-LOC O"),
    ("bilou", "B-PER L-PER U-PER O B-LOC L-LOC O"),
    ("io", "I-PER PER I-PER O LOC I-LOC O"),
])
def test_tag_schemes_read_as_the_same_entities(tmp_path, scheme, tags):
    words = "Maria Silva João e São Paulo .".split()
    path = write(tmp_path / f"{scheme}.txt", "".join(f"{w} {t}\n" for w, t in zip(words, tags.split())))
    repairs = Repairs()
    (sentence,) = read_conll(path, {"tag_scheme": scheme}, "test", repairs)
    got = [(sentence.text[s.start:s.end], s.label) for s in sentence.spans]
    # IO cannot tell two adjacent entities of one type apart: it reads them as one.
    expected_people = [("Maria Silva João", "PER")] if scheme == "io" else [("Maria Silva", "PER"), ("João", "PER")]
    assert got == [*expected_people, ("São Paulo", "LOC")]
    assert repairs == Counter()  # nothing here needs a repair in its own scheme


def test_an_inside_tag_after_an_end_tag_is_a_counted_repair(tmp_path):
    path = write(tmp_path / "b.txt", "a B-PER\nb E-PER\nc I-PER\n")
    repairs = Repairs()
    (sentence,) = read_conll(path, {"tag_scheme": "bioes"}, "test", repairs)
    assert [(s.start, s.end) for s in sentence.spans] == [(0, 3), (4, 5)]
    assert repairs == {"stray_inside_tag": 1}


def test_an_unrepairable_tag_is_refused_even_when_lenient(tmp_path):
    path = write(tmp_path / "x.txt", "a X-PER\nb -PER\n")
    repairs = Repairs(lenient=True)
    list(read_conll(path, {}, "test", repairs))
    assert repairs == {"missing_prefix": 1}
    with pytest.raises(NerbenchError, match=r"x\.txt:1: 'X-PER' is not an IOB2 tag.*1 bad tags \(not_a_tag 1\); "
                                            r"no repair reads the others"):
        repairs.refuse()


def test_a_manifest_names_a_plugin_format_and_its_reader_repairs_too(tmp_path):
    class SlashTagged(ManifestDataset):
        FORMAT = "slash-tagged-test"

        def read(self, path, split, repairs):
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                words, tags = zip(*(item.rsplit("/", 1) for item in line.split()))
                yield self.from_tags(f"{split}-{lineno}", list(words), list(tags), repairs,
                                     wheres=[f"{path}:{lineno}"] * len(tags))

    data = b"Maria/-PER Silva/I-PER mora/O em/O Londres/B-GPE ./-\n"
    (tmp_path / "d.txt").write_bytes(data)
    manifest = json.loads((DIRTY / "dirty.json").read_text(encoding="utf-8"))
    manifest.update(format={"type": "slash-tagged-test", "repair": "lenient"},
                    splits={"test": [{"path": "x/d.txt", "bundled": "d.txt",
                                      "sha256": hashlib.sha256(data).hexdigest()}]})
    dataset = ManifestDataset.from_file(write(tmp_path / "m.json", json.dumps(manifest)))
    assert type(dataset) is SlashTagged
    (sentence,) = dataset.sentences("test")
    assert [(sentence.text[s.start:s.end], s.label) for s in sentence.spans] == [("Maria Silva", "PER"),
                                                                                 ("Londres", "LOC")]
    assert dataset.describe()["repairs"] == {"test": {"bare_dash": 1, "missing_prefix": 1}}
    assert dataset.describe()["mappings"] == {"test": {"GPE->LOC": 1}}
    with pytest.raises(TypeError, match="format 'slash-tagged-test' of .* is already read by .*SlashTagged"):
        type("Other", (ManifestDataset,), {"FORMAT": "slash-tagged-test"})
    with pytest.raises(TypeError, match="format 'conll' .* is already read by .*ManifestDataset"):
        type("Conll", (ManifestDataset,), {"FORMAT": "conll"})
