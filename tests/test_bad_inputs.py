"""Bad input, one case per row: a config, a manifest, a dataset line, a
predictions file, a results file or a command line a user can get wrong.
Each must end with exit status 2 and exactly one line on stderr that names
the place (file and field, or file and line) — never a traceback, and before
any request (the configs point at a port where nothing listens)."""

from __future__ import annotations

import hashlib
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
