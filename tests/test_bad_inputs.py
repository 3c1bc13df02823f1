"""Bad input, one case per row: a config, a manifest, a dataset line, a
predictions file, a results file or a command line a user can get wrong.
Each must end with exit status 2 and exactly one line on stderr that names
the place (file and field, or file and line) — never a traceback, and before
any request (the configs point at a port where nothing listens)."""

from __future__ import annotations

import hashlib
import re
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from nerbench.cli import cli

CONFIG = """
[run]
limit = 3

[[backend]]
name = "local"
kind = "openai"
url = "http://127.0.0.1:9"
models = ["m1"]

[[dataset]]
id = "lener_br"
splits = ["test"]

[[format]]
name = "json"
"""


def cfg(old: str = "", new: str = "", extra: str = "") -> str:
    assert old in CONFIG
    return CONFIG.replace(old, new, 1) + extra


@dataclass
class Case:
    id: str
    #: files to write in the test's folder (text or bytes)
    files: dict[str, str | bytes]
    #: the command line; {d} is the test's folder
    args: list[str]
    #: what the one line must name (the file, field or line), and say
    place: str
    says: str = ""
    env: dict[str, str] = field(default_factory=dict)


def run_config(case_id: str, text: str | bytes, place: str, says: str = "", **kw) -> Case:
    return Case(case_id, {"c.toml": text}, ["run", "{d}/c.toml", "--dry-run"], place, says, **kw)


def manifest(fmt: dict, data: bytes, labels: tuple[str, ...] = ("PESSOA", "LOCAL"),
             **changes) -> dict[str, str | bytes]:
    """A dataset `mine` whose test split is `data` (bundled beside the manifest)."""
    doc = {"id": "mine", "name": "mine", "language": "pt", "license": "MIT", "citation": "none",
           "format": fmt, "labels": [{"name": n, "descriptions": {"pt": n.lower()}} for n in labels],
           "splits": {"test": [{"path": "mine/d.txt", "sha256": hashlib.sha256(data).hexdigest(),
                                "bundled": "d.txt"}]}}
    doc.update(changes)
    return {"m.json": json.dumps(doc), "d.txt": data}


def export(files: dict[str, str | bytes], place: str, says: str = "", case_id: str = "") -> Case:
    return Case(case_id, files, ["--registry", "{d}/m.json", "datasets", "export", "mine:test"], place, says)


CONLL = {"type": "conll"}
JSONL = {"type": "sentence-jsonl"}
HAREM = {"type": "harem-json"}


def sentence(**changes) -> bytes:
    obj = {"id": "s1", "text": "Maria mora em Lisboa", "tokens": [
        {"text": "Maria", "start": 0, "end": 5}, {"text": "mora", "start": 6, "end": 10},
        {"text": "em", "start": 11, "end": 13}, {"text": "Lisboa", "start": 14, "end": 20}],
        "spans": [{"start": 0, "end": 5, "label": "PESSOA"}]}
    obj.update(changes)
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode()


def prediction(sentence_id: str = "test-00000", spans: list | None = None, system: str = "s", **changes) -> str:
    obj = {"system": system, "dataset": "lener_br", "split": "test", "sentence_id": sentence_id,
           "spans": [{"start": 8, "end": 22, "label": "PESSOA"}] if spans is None else spans, "status": "ok"}
    obj.update(changes)
    return json.dumps({k: v for k, v in obj.items() if v is not None}) + "\n"


def score(*contents: str | bytes, place: str = "p.jsonl:1", says: str = "", case_id: str = "") -> Case:
    files = {f"p{i or ''}.jsonl": c for i, c in enumerate(contents)}
    return Case(case_id, files, ["score", "--gold", "lener_br:test", *(f"{{d}}/{n}" for n in files)], place, says)


GOOD_RESULTS = {"systems": [{"system": "s", "dataset": "d", "split": "test", "sentences": 1,
                             "metrics": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "macro_f1": 0.5,
                                         "per_type": {"PER": {"precision": 0.5, "recall": 0.5, "f1": 0.5,
                                                              "support": 1}}}}]}


def leaderboard(content: str | bytes, place: str = "r.json", says: str = "", case_id: str = "") -> Case:
    return Case(case_id, {"r.json": content}, ["leaderboard", "{d}/r.json", "-o", "{d}/out"], place, says)


def results(**changes) -> str:
    doc = json.loads(json.dumps(GOOD_RESULTS))
    for key, value in changes.items():
        doc["systems"][0][key] = value
    return json.dumps(doc)


PUBLISHED = Path(__file__).resolve().parents[1] / "leaderboards" / "porting-tl"


def rescore(change, says: str, case_id: str, line: int = 1) -> Case:
    """`nerbench rescore` on a copy of a published run whose predictions were
    tampered with: `change` rewrites the first prediction line (a list of lines
    may be returned to add some)."""
    lines = (PUBLISHED / "predictions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(lines[0])
    new = change(first)
    tampered = [json.dumps(x) + "\n" for x in (new if isinstance(new, list) else [new])] + lines[1:]
    return Case(case_id, {"run/results.json": (PUBLISHED / "results.json").read_bytes(),
                          "run/predictions.jsonl": "".join(tampered)},
                ["rescore", "{d}/run", "-o", "{d}/new.json"], f"run/predictions.jsonl:{line}", says)


CASES = [
    # --- config: syntax and schema
    run_config("toml syntax", "[[backend]\nname = 'x'\n", "c.toml", "invalid TOML"),
    run_config("config not UTF-8", b"[run]\nname = \"\xff\xfe\"\n", "c.toml", "invalid TOML"),
    Case("config missing", {}, ["run", "{d}/nope.toml"], "nope.toml", "cannot read config"),
    run_config("no models", cfg('models = ["m1"]', "models = []"), "field backend[0].models"),
    run_config("limit of the wrong type", cfg("limit = 3", "limit = 'five'"), "field run.limit"),
    run_config("no [[format]]", cfg("[[format]]", "[[formatt]]"), "c.toml", "'format' is a required property"),
    run_config("misspelt generation key", cfg(extra="\n[generation]\ntemprature = 0\n"), "field generation"),
    run_config("two backends, one name", cfg(extra='\n[[backend]]\nname = "local"\nkind = "openai"\n'
                                                  'url = "http://127.0.0.1:10"\nmodels = ["m"]\n'),
               "field backend", "used twice"),
    run_config("one model twice", cfg('models = ["m1"]', 'models = ["m1", "m1"]'), "field backend[0].models",
               "two models"),
    # --- config: names that no plugin registered
    run_config("unknown backend kind", cfg('kind = "openai"', 'kind = "openia"'), "field backend[0].kind",
               "Did you mean 'openai'"),
    run_config("unknown dataset", cfg('id = "lener_br"', 'id = "lener"'), "field dataset[0].id"),
    run_config("unknown format", cfg('name = "json"', 'name = "jsonn"'), "field format[0]", "Did you mean 'json'"),
    run_config("unknown split", cfg('splits = ["test"]', 'splits = ["tset"]'), "field dataset[0].splits[0]"),
    run_config("unknown combiner", cfg(extra='\n[ensemble]\ncombiners = ["majorty"]\n'),
               "field ensemble.combiners[0]", "Did you mean 'majority'"),
    run_config("unknown reporter", cfg("limit = 3", 'limit = 3\nreporters = ["markdwn"]'),
               "field run.reporters[0]", "Did you mean 'markdown'"),
    # --- config: backend options (declared by each kind, checked at plan time)
    run_config("retries = 0", cfg('models = ["m1"]', 'models = ["m1"]\nretries = 0'), "field backend[0].retries"),
    run_config("timeout = 'abc'", cfg('models = ["m1"]', 'models = ["m1"]\ntimeout = "abc"'),
               "field backend[0].timeout"),
    run_config("port 99999", cfg("127.0.0.1:9", "127.0.0.1:99999"), "field backend[0]", "port 99999"),
    run_config("url not http", cfg("http://127.0.0.1:9", "ftp://127.0.0.1:9"), "field backend[0]", "http://HOST"),
    run_config("misspelt backend key", cfg('models = ["m1"]', 'models = ["m1"]\ntimout = 5'), "field backend[0]",
               "Did you mean 'timeout'"),
    run_config("missing url", cfg('url = "http://127.0.0.1:9"\n', ""), "field backend[0]", "needs option 'url'"),
    run_config("concurrency = 0", cfg('models = ["m1"]', 'models = ["m1"]\nconcurrency = 0'),
               "field backend[0].concurrency"),
    run_config("circuit_breaker = 0", cfg('models = ["m1"]', 'models = ["m1"]\ncircuit_breaker = 0'),
               "field backend[0].circuit_breaker"),
    run_config("api_key_env unset", cfg('models = ["m1"]', 'models = ["m1"]\napi_key_env = "NERBENCH_TEST_UNSET_KEY"'),
               "field backend[0]", "NERBENCH_TEST_UNSET_KEY is not set"),
    run_config("url and urls", cfg('models = ["m1"]', 'models = ["m1"]\nurls = ["http://127.0.0.1:10"]'),
               "field backend[0]", "url or urls"),
    run_config("one endpoint twice in urls", cfg('url = "http://127.0.0.1:9"',
                                                 'urls = ["http://127.0.0.1:9", "http://127.0.0.1:9/"]'),
               "field backend[0].urls"),
    # --- config: datasets, formats, ensembles
    run_config("dataset twice", cfg(extra='\n[[dataset]]\nid = "lener_br"\nsplits = ["dev"]\n'), "field dataset[1]",
               "configured twice"),
    run_config("format twice without alias", cfg(extra='\n[[format]]\nname = "json"\n'), "field format[1]",
               "alias"),
    run_config("format option of the wrong type", cfg('name = "json"', 'name = "json"\nmax_entities = "x"'),
               "field format[0].max_entities"),
    run_config("unknown format option", cfg('name = "json"', 'name = "json"\nmax_entitys = 3'), "field format[0]",
               "Did you mean 'max_entities'"),
    run_config("combiner option of the wrong type",
               cfg(extra='\n[ensemble]\ncombiners = [{name = "vote", k = "two"}]\n'),
               "field ensemble.combiners[0].k"),
    run_config("combiner twice without an alias",
               cfg(extra='\n[ensemble]\ncombiners = ["vote", {name = "vote", k = 2}]\n'),
               "field ensemble.combiners[1]", "give one an alias"),
    run_config("judge naming no backend", cfg(extra='\n[ensemble]\ncombiners = [{name = "llm-judge", '
                                                    'judges = ["nope/m"]}]\n'),
               "field ensemble.combiners[0]", "names no configured backend"),
    run_config("evaluating on the ensemble's dev split", cfg('splits = ["test"]', 'splits = ["test", "dev"]',
                                                             '\n[ensemble]\ncombiners = ["majority"]\n'),
               "field dataset[0].splits", "ensemble dev split"),
    run_config("registry file missing", cfg("limit = 3", 'limit = 3\nregistry = ["nope.json"]'), "nope.json",
               "cannot read manifest"),
    # --- manifests
    Case("manifest invalid JSON", {"m.json": "{not json"}, ["--registry", "{d}/m.json", "datasets", "list"],
         "m.json:1", "invalid JSON"),
    Case("manifest not UTF-8", {"m.json": b'{"id": "\xff"}'}, ["--registry", "{d}/m.json", "datasets", "list"],
         "m.json", "not UTF-8"),
    export({**manifest(CONLL, b"Maria B-PESSOA\n"), "m.json": json.dumps({"id": "mine"})}, "m.json",
           "required property", "manifest lacks fields"),
    # --- dataset lines
    export(manifest(CONLL, b"Maria B-PESSOA\nem O\nLisb\xf4a B-LOCAL\n"), "d.txt:3", "not UTF-8", "CoNLL not UTF-8"),
    export(manifest(CONLL, b"Maria B-PESSOA\nmora X-TAG\n"), "d.txt:2", "not an IOB2 tag", "CoNLL bad tag"),
    export(manifest(CONLL, b"Maria\n"), "d.txt:1", "columns", "CoNLL too few columns"),
    export(manifest(CONLL, b"Maria B-PER\n"), "d.txt", "label 'PER' is not in the 'mine' manifest",
           "CoNLL label not in the manifest"),
    export(manifest(JSONL, sentence(tokens=[{"text": "Maria", "start": 0, "end": 50}])), "d.txt:1", "token",
           "sentence JSONL token out of range"),
    export(manifest(JSONL, sentence(spans=[{"start": 14, "end": 99, "label": "LOCAL"}])), "d.txt:1", "outside",
           "sentence JSONL span out of range"),
    export(manifest(JSONL, sentence(spans=[{"start": 5, "end": 0, "label": "LOCAL"}])), "d.txt:1", "span 5-0",
           "sentence JSONL span reversed"),
    export(manifest(JSONL, sentence(spans=[{"start": 1, "end": 5, "label": "PESSOA"}])), "d.txt:1",
           "token boundaries", "sentence JSONL span off token boundaries"),
    export(manifest(JSONL, b'{"id": "s1", "text": \n'), "d.txt:1", "invalid JSON", "sentence JSONL invalid JSON"),
    export(manifest(JSONL, b"[" * 5000 + b"\n"), "d.txt:1", "invalid JSON: nested too deep", "sentence JSONL nested"),
    export(manifest(HAREM, json.dumps([{"doc_id": "D1", "doc_text": "Maria", "entities": [
        {"start_offset": 3, "end_offset": 40, "label": "PESSOA"}]}]).encode()), "d.txt", "out of range",
        "HAREM offsets out of range"),
    export(manifest(HAREM, b'{"doc_id": "D1"}'), "d.txt", "expected a JSON list", "HAREM not a list"),
    export(manifest(HAREM, b"\xff\xfe[]"), "d.txt", "not UTF-8", "HAREM not UTF-8"),
    export({**manifest(CONLL, b"Maria B-PESSOA\n"), "d.txt": b"Maria B-LOCAL\n"}, "d.txt", "sha256",
           "data file changed"),
    # --- predictions
    score('{"system": "s", \n', says="invalid JSON", case_id="predictions invalid JSON"),
    score(b"\xff\xfe\n", says="not UTF-8", case_id="predictions not UTF-8"),
    score(prediction(spans=[{"start": 8, "end": 10_000, "label": "PESSOA"}]), says="past the end",
          case_id="predicted span out of range"),
    score(prediction(spans=[{"start": -3, "end": 4, "label": "PESSOA"}]), says="negative", case_id="negative span"),
    score(prediction(spans=[{"start": 22, "end": 8, "label": "PESSOA"}]), says="reversed", case_id="reversed span"),
    score(prediction(spans=[{"start": 8, "end": 22, "label": "PERSON"}]), says="label 'PERSON'",
          case_id="label the dataset lacks"),
    score(prediction(), prediction(), place="p1.jsonl:1", says="also in", case_id="one system in two files"),
    score(prediction() + prediction(), place="p.jsonl:2", says="already answered", case_id="sentence given twice"),
    score(prediction(status="done"), says="field 'status'", case_id="unknown status"),
    score(prediction(spans=None) .replace('"spans": [{"start": 8, "end": 22, "label": "PESSOA"}], ', ""),
          says="field 'spans' is missing", case_id="missing spans"),
    score(prediction(sentence_id="nope"), says="not in lener_br:test", case_id="sentence not in the split"),
    score(prediction(spans=[{"start": "8", "end": 22, "label": "PESSOA"}]), says="integer start",
          case_id="span offset as text"),
    # --- results
    leaderboard("[]", says="expected a JSON object", case_id="results []"),
    leaderboard("{}", says="'systems' is a required property", case_id="results {}"),
    leaderboard(b"\x89PNG\r\n\x1a\n\x00\x00", says="not UTF-8", case_id="results binary"),
    leaderboard(results(metrics=None), place="r.json: field systems[0].metrics", case_id="results without metrics"),
    leaderboard(json.dumps({"systems": []}), place="r.json: field systems", case_id="results with no systems"),
    leaderboard('{"systems": [', place="r.json:1", says="invalid JSON", case_id="results invalid JSON"),
    leaderboard("[" * 5000, says="nested too deep", case_id="results nested"),
    leaderboard(results(sentences="many"), place="field systems[0].sentences", case_id="results wrong type"),
    leaderboard(json.dumps({**GOOD_RESULTS, "nerbench_version": "0.1.0"}), place="r.json: field",
                says="'datasets' is a required property", case_id="results with provenance but no datasets"),
    # --- paths that leave their folder (manifests, configs and plugins come from strangers)
    Case("manifest split path climbs out", manifest(CONLL, b"Maria B-PESSOA\n", splits={"test": [
        {"path": "../../home/x.conll", "sha256": "0" * 64, "bundled": "d.txt"}]}),
         ["--registry", "{d}/m.json", "datasets", "list"], "m.json: field splits.test[0].path",
         "leads out of its folder"),
    Case("manifest split path absolute", manifest(CONLL, b"Maria B-PESSOA\n", splits={"test": [
        {"path": "/etc/x.conll", "sha256": "0" * 64}]}),
         ["--registry", "{d}/m.json", "datasets", "list"], "m.json: field splits.test[0].path", "absolute path"),
    Case("manifest bundled file climbs out", manifest(CONLL, b"Maria B-PESSOA\n", splits={"test": [
        {"path": "mine/d.txt", "sha256": "0" * 64, "bundled": "../d.txt"}]}),
         ["--registry", "{d}/m.json", "datasets", "export", "mine:test"], "m.json: field splits.test[0].bundled",
         "leads out of its folder"),
    run_config("run name climbs out of runs/", cfg("limit = 3", 'limit = 3\nname = "../../x"'), "c.toml",
               "field run.name: '../../x' leads out of its folder"),
    run_config("template file outside the config's folder", cfg('name = "json"', 'name = "json"\n'
                                                                'system_template = "../secret.txt"'),
               "c.toml: field format[0]", "format option system_template: '../secret.txt' leads out"),
    run_config("registry manifest by absolute path", cfg("limit = 3", 'limit = 3\nregistry = ["/tmp/m.json"]'),
               "c.toml: field run.registry[0]", "absolute path"),
    run_config("grammar file outside the config's folder", cfg('kind = "openai"', 'kind = "llamacpp"\n'
                                                               'grammar = "../../etc/g.gbnf"'),
               "c.toml: field backend[0].models[0]", "option grammar: '../../etc/g.gbnf' leads out of its folder"),
    # --- tampered predictions: rescore refuses what score refuses, with the same line
    rescore(lambda p: {**p, "spans": [{"start": 0, "end": 100000, "label": "LOC"}]}, "past the end of sentence",
            "rescore: span past the end"),
    rescore(lambda p: {**p, "spans": [{"start": 0, "end": 5, "label": "PESSOA"}]}, "label 'PESSOA' is not one of",
            "rescore: a label the dataset lacks"),
    rescore(lambda p: [p, p], "already answered sentence", "rescore: a sentence answered twice", line=2),
    rescore(lambda p: {**p, "sentence_id": "nope"}, "sentence_id 'nope' is not in", "rescore: an unknown sentence"),
    # --- smaller points
    run_config("concurrency with max_concurrency", cfg('models = ["m1"]', 'models = ["m1"]\nconcurrency = 8\n'
                                                       'max_concurrency = 4'),
               "c.toml: field backend[0].max_concurrency", "concurrency = 8 is fixed"),
    run_config("bad search lists the choices", cfg(extra='\n[ensemble]\nsearch = "random"\n'),
               "c.toml: field ensemble.search", 'expected one of "none", "greedy", "exhaustive"'),
    run_config("bad concurrency says what is allowed", cfg('models = ["m1"]', 'models = ["m1"]\nconcurrency = "x"'),
               "c.toml: field backend[0].concurrency", 'expected an integer ≥ 1 or "adaptive"'),
    # --- command lines
    Case("--option k=abc", {"p.jsonl": prediction()},
         ["ensemble", "--gold", "lener_br:test", "{d}/p.jsonl", "--combiner", "vote", "--option", "k=abc"],
         "--option.k", "not of type 'integer'"),
    Case("--option without =", {"p.jsonl": prediction()},
         ["ensemble", "--gold", "lener_br:test", "{d}/p.jsonl", "--combiner", "vote", "--option", "k"],
         "--option 'k'", "KEY=VALUE"),
    Case("unknown combiner on the command line", {"p.jsonl": prediction()},
         ["ensemble", "--gold", "lener_br:test", "{d}/p.jsonl", "--combiner", "majorty"], "--combiner",
         "Did you mean 'majority'"),
    Case("--dev without predictions", {"p.jsonl": prediction()},
         ["ensemble", "--gold", "lener_br:test", "{d}/p.jsonl", "--combiner", "vote", "--dev", "lener_br:dev"],
         "--dev", "--dev-predictions"),
    Case("misspelt option", {}, ["run", "--limt", "3"], "nerbench run", "--limit"),
    Case("unknown command", {}, ["rnu"], "nerbench", "No such command 'rnu'"),
    Case("--limit 0", {}, ["run", "--limit", "0", "--dry-run"], "nerbench run", "--limit"),
    Case("--gold without a split", {"p.jsonl": prediction()}, ["score", "--gold", "lener_br", "{d}/p.jsonl"],
         "--gold lener_br", "expected ID:SPLIT"),
    Case("--gold with an unknown split", {"p.jsonl": prediction()},
         ["score", "--gold", "lener_br:tset", "{d}/p.jsonl"], "--gold lener_br:tset", "no split 'tset'"),
    Case("export an unknown dataset", {}, ["datasets", "export", "lenerbr:test"], "lenerbr:test",
         "Did you mean 'lener_br'"),
    Case("predictions file missing", {}, ["score", "--gold", "lener_br:test", "{d}/nope.jsonl"], "nope.jsonl",
         "cannot read predictions"),
    Case("unknown reporter on the command line", {"r.json": json.dumps(GOOD_RESULTS)},
         ["leaderboard", "{d}/r.json", "-o", "{d}/out", "--reporter", "markdwn"], "--reporter",
         "Did you mean 'markdown'"),
    Case("output is a file", {"r.json": json.dumps(GOOD_RESULTS), "out": "a file"},
         ["leaderboard", "{d}/r.json", "-o", "{d}/out/sub"], "out/sub", "cannot create the output directory"),
]


def test_the_table_is_large_and_its_ids_unique():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_naming_the_place_and_exit_2(case: Case, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("NERBENCH_TEST_UNSET_KEY", raising=False)
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    args = [a.replace("{d}", str(tmp_path)) for a in case.args]
    result = CliRunner().invoke(cli, args, prog_name="nerbench")
    assert isinstance(result.exception, SystemExit), result.exception  # not an exception escaping
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    place = case.place.replace("{d}", str(tmp_path))
    assert place in lines[0], lines[0]
    assert case.says in lines[0], lines[0]


# -- paths, outputs and notes beyond the table ---------------------------------


def test_the_path_check_refuses_a_planted_climb_an_absolute_path_and_a_symlink_out(tmp_path):
    from nerbench.errors import NerbenchError
    from nerbench.files.paths import contained

    home, outside = tmp_path / "data", tmp_path / "elsewhere"
    (home / "ok").mkdir(parents=True)
    outside.mkdir()
    (home / "link").symlink_to(outside, target_is_directory=True)
    assert contained(home, "ok/file.conll", "f") == home / "ok" / "file.conll"
    assert contained(home, "ok/../ok/file.conll", "f") == home / "ok" / "../ok/file.conll"
    for bad, says in [("../elsewhere/x", "leads out of its folder"), ("/etc/passwd", "absolute path"),
                      ("link/x", "through a symlink"), ("~/x", "absolute path"), (".", "names the folder itself")]:
        with pytest.raises(NerbenchError, match=re.escape(says)):
            contained(home, bad, "field path")


def test_a_manifest_file_reached_through_a_symlink_out_of_the_data_dir_is_refused(tmp_path, monkeypatch):
    data, outside = tmp_path / "data", tmp_path / "outside"
    outside.mkdir()
    (outside / "d.txt").write_bytes(b"Maria B-PESSOA\n")
    data.mkdir()
    (data / "mine").symlink_to(outside, target_is_directory=True)
    files = manifest(CONLL, b"Maria B-PESSOA\n")
    doc = json.loads(files["m.json"])
    del doc["splits"]["test"][0]["bundled"]
    (tmp_path / "m.json").write_text(json.dumps(doc))
    monkeypatch.setenv("NERBENCH_DATA_DIR", str(data))
    result = CliRunner().invoke(cli, ["--registry", str(tmp_path / "m.json"), "datasets", "export", "mine:test"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "field splits.test[0].path: 'mine/d.txt' leads out of" in result.stderr and "symlink" in result.stderr


def test_fetch_never_replaces_a_file_it_did_not_write(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "mine").mkdir(parents=True)
    (data / "mine" / "d.txt").write_text("the user's own file")
    files = manifest(CONLL, b"Maria B-PESSOA\n")
    doc = json.loads(files["m.json"])
    del doc["splits"]["test"][0]["bundled"]
    doc["splits"]["test"][0]["url"] = "http://127.0.0.1:9/d.txt"
    (tmp_path / "m.json").write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "--registry", str(tmp_path / "m.json"),
                                      "datasets", "fetch", "mine", "--no-progress"])
    assert result.exit_code == 2 and "exists and is not the file" in result.stderr, result.output
    assert (data / "mine" / "d.txt").read_text() == "the user's own file"


def test_leaderboard_ranks_a_system_once(tmp_path):
    one = tmp_path / "a.json"
    one.write_text(json.dumps(GOOD_RESULTS))
    same = tmp_path / "b.json"
    same.write_text(json.dumps(GOOD_RESULTS))
    result = CliRunner().invoke(cli, ["leaderboard", str(one), str(same), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "identical in" in result.stderr and "ranked once" in result.stderr
    page = (tmp_path / "out" / "d-test.md").read_text()
    assert sum(bool(re.match(r"\| \d+ +\| s +\|", line)) for line in page.splitlines()) == 1
    other = tmp_path / "c.json"
    other.write_text(results(metrics={**GOOD_RESULTS["systems"][0]["metrics"], "f1": 0.9}))
    result = CliRunner().invoke(cli, ["leaderboard", str(one), str(one), "-o", str(tmp_path / "out1")])
    assert result.exit_code == 0 and "given twice; read once" in result.stderr, result.output
    result = CliRunner().invoke(cli, ["leaderboard", str(one), str(other), "-o", str(tmp_path / "out2")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "c.json: field systems[0]" in result.stderr and "is also in" in result.stderr
    twice = tmp_path / "d.json"
    twice.write_text(json.dumps({"systems": GOOD_RESULTS["systems"] * 2}))
    result = CliRunner().invoke(cli, ["leaderboard", str(twice), "-o", str(tmp_path / "out3")])
    assert result.exit_code == 2 and "d.json: field systems[1]" in result.stderr and "twice" in result.stderr


def test_output_paths_into_missing_folders_are_made_not_a_traceback(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("results.json", "predictions.jsonl"):
        (run / name).write_bytes((PUBLISHED / name).read_bytes())
    result = CliRunner().invoke(cli, ["rescore", str(run), "-o", str(tmp_path / "new" / "deep" / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "new" / "deep" / "r.json").read_text())["systems"]
    preds = tmp_path / "p.jsonl"
    preds.write_text(prediction() + prediction(system="t", spans=[]))
    out = tmp_path / "no" / "such" / "dir" / "e.jsonl"
    result = CliRunner().invoke(cli, ["ensemble", "--gold", "lener_br:test", str(preds), "--combiner", "union",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().count("\n") > 0


def test_score_limit_says_what_it_does_not_score(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(prediction() + prediction("test-00005"))
    result = CliRunner().invoke(cli, ["score", "--gold", "lener_br:test", str(preds), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "--limit 2: 1 prediction lines about later sentences of lener_br:test are not scored" in result.stderr


def test_vote_with_k_above_the_number_of_systems_says_so(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(prediction() + prediction(system="t", spans=[]))
    result = CliRunner().invoke(cli, ["ensemble", "--gold", "lener_br:test", str(preds), "--combiner", "vote",
                                      "--option", "k=5"])
    assert result.exit_code == 0, result.output
    assert "k = 5 but only 2 systems are combined: k is capped at 2" in result.stderr
