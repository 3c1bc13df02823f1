"""`datasets check`, `datasets list --json` and `datasets export -o` on the
dirty fixture corpus: counts of the whole split, and never a truncated output."""

from __future__ import annotations

import hashlib
import json

from nerbench.cli import cli

from .conftest import write
from .test_dirty_corpus import DIRTY, TEST_REPAIRS, TRAIN_REPAIRS, mentions


def test_datasets_check_and_list_show_the_counts(cli_runner):
    registry = ["--registry", str(DIRTY / "dirty.json")]
    result = cli_runner.invoke(cli, [*registry, "datasets", "check", "dirty_pt", "--json"])
    assert result.exit_code == 0, result.output
    checked = json.loads(result.output)
    assert checked["test"] == {"sentences": 3, "tokens": 22, "spans": {"PER": 1, "LOC": 2, "ORG": 3},
                               "repairs": TEST_REPAIRS, "mappings": {"GPE->LOC": 1, "MISC->O": 1}}
    assert checked["train"]["repairs"] == TRAIN_REPAIRS
    table = cli_runner.invoke(cli, [*registry, "datasets", "check", "dirty_pt"])
    assert table.exit_code == 0 and "missing_prefix 4" in table.output and "GPE->LOC 1" in table.output
    listed = json.loads(cli_runner.invoke(cli, [*registry, "datasets", "list", "--json"]).output)
    (mine,) = [d for d in listed if d["id"] == "dirty_pt"]
    assert mine["repairs"] == {"test": TEST_REPAIRS, "train": TRAIN_REPAIRS}
    assert mine["mappings"]["train"] == {"GPE->LOC": 1}


def test_export_of_a_split_bad_further_on_writes_nothing(tmp_path, cli_runner):
    """The bad tag is in the second sentence: nothing of the first is written
    (a truncated output with exit 2 would pass for a whole one)."""
    manifest = json.loads((DIRTY / "dirty-raw.json").read_text(encoding="utf-8"))
    data = b"Maria B-PER\nmora O\n\nem O\nLisboa -LOC\n"
    (tmp_path / "d.txt").write_bytes(data)
    manifest["splits"] = {"test": [{"path": "x/d.txt", "bundled": "d.txt",
                                    "sha256": hashlib.sha256(data).hexdigest()}]}
    write(tmp_path / "m.json", json.dumps(manifest))
    args = ["--registry", str(tmp_path / "m.json"), "datasets", "export", "dirty_pt_raw:test"]
    result = cli_runner.invoke(cli, args)
    assert result.exit_code == 2 and result.stdout == "" and "d.txt:5: '-LOC'" in result.stderr
    out = tmp_path / "out" / "test.jsonl"
    result = cli_runner.invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 2 and not out.exists() and not list(out.parent.glob("*"))
    manifest.update(id="lenient", format={"type": "conll", "repair": "lenient"})
    write(tmp_path / "m2.json", json.dumps(manifest))  # (one registry per test: another manifest, another id)
    result = cli_runner.invoke(cli, ["--registry", str(tmp_path / "m2.json"), "datasets", "export", "lenient:test",
                                     "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert [mentions(json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines()] == [
        [("Maria", "PER")], [("Lisboa", "LOC")]]
