"""Leaderboards: GitHub-safe markdown, byte-identical re-rendering, bootstrap
intervals and paired tests checked against direct computation."""

from __future__ import annotations

import csv
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from nerbench.score.bootstrap import f1_interval, paired_p_value
from nerbench.cli import cli
from nerbench.score.prf import prf
from nerbench_plugins.reporters import markdown, plots

FIXTURES = Path(__file__).parent / "fixtures" / "hostile"


def render(tmp_path, cli_runner, *reporters: str) -> Path:
    out = tmp_path / "board"
    args = ["leaderboard", str(FIXTURES / "results.json"), "-o", str(out)]
    for name in reporters:
        args += ["--reporter", name]
    result = cli_runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


def test_hostile_names_render_as_expected_markdown(tmp_path, cli_runner, monkeypatch, golden):
    monkeypatch.setattr(plots, "available", lambda: False)
    out = render(tmp_path, cli_runner)
    golden(out, FIXTURES / "expected")
    page = (out / "toy-test.md").read_text(encoding="utf-8")
    # every table row has exactly the header's number of cells: no name broke out of its cell
    for table in page.split("\n\n"):
        rows = [line for line in table.splitlines() if line.startswith("|")]
        cells = {len(row.replace("\\|", "").split("|")) for row in rows}
        assert len(cells) <= 1, table
    assert markdown.PLOTS_MISSING in page


def test_re_rendering_is_byte_identical_plots_included(tmp_path, cli_runner):
    first = render(tmp_path / "1", cli_runner, "markdown", "json", "csv")
    second = render(tmp_path / "2", cli_runner, "markdown", "json", "csv")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert any(str(f).endswith(".svg") for f in files), "matplotlib is in the test extra: plots are expected"
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for f in files:
        assert (first / f).read_bytes() == (second / f).read_bytes(), f
    page = (first / "toy-test.md").read_text(encoding="utf-8")
    assert "![F1 per entity type](plots/toy-test-per-type.svg)" in page
    assert "<svg" in (first / "plots" / "toy-test-per-type.svg").read_text(encoding="utf-8")


def test_json_and_csv_rows(tmp_path, cli_runner):
    out = render(tmp_path, cli_runner, "json", "csv")
    rows = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    assert [r["system"] for r in rows] == ["vote[a|b/*m*/<f>+`tick`/m_2/json]", "a|b/*m*/<f>", "`tick`/m_2/json"]
    assert rows[0]["kind"] == "ensemble" and rows[0]["p_vs_best_single"] is not None
    assert rows[1]["f1_ci_low"] <= rows[1]["f1"] <= rows[1]["f1_ci_high"]
    with (out / "leaderboard.csv").open(encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [r["system"] for r in table] == [r["system"] for r in rows]


def test_plots_reporter_without_matplotlib_is_a_one_line_error(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    result = cli_runner.invoke(cli, ["leaderboard", str(FIXTURES / "results.json"), "-o", str(tmp_path),
                                     "--reporter", "plots"])
    assert result.exit_code == 2 and "pip install 'nerbench[plots]'" in result.output


def exact_bootstrap(counts):
    """Every ordered resample of a tiny split, equally likely: F1 values."""
    n = len(counts["tp"])
    values = []
    for draw in itertools.product(range(n), repeat=n):
        idx = list(draw)
        values.append(float(prf(*(np.asarray(counts[k])[idx].sum() for k in ("tp", "predicted", "gold")))[2]))
    return np.array(values)


def test_bootstrap_interval_matches_the_exact_bootstrap_distribution():
    counts = {"tp": [2, 0, 1, 3, 1], "predicted": [2, 1, 3, 3, 1], "gold": [3, 1, 1, 4, 2]}
    exact = exact_bootstrap(counts)  # 5^5 = 3,125 resamples
    low, high = f1_interval(counts, n=20000, seed=1)
    # the Monte Carlo interval leaves ~2.5% of the exact distribution on each side
    assert np.mean(exact < low) == pytest.approx(0.025, abs=0.015)
    assert np.mean(exact > high) == pytest.approx(0.025, abs=0.015)
    assert np.mean(exact <= low) >= 0.01 and np.mean(exact >= high) >= 0.01


def test_paired_p_value_against_direct_computation():
    doc = json.loads((FIXTURES / "results.json").read_text(encoding="utf-8"))
    ensemble, single = doc["ensembles"][0]["per_sentence"], doc["systems"][1]["per_sentence"]
    assert paired_p_value(single, single) == 1.0  # never better than itself
    # The ensemble finds at least as much in every sentence with the same
    # predictions count; it fails to beat the single system exactly when every
    # draw lands on sentences 0, 1, 3 (where they agree): (3/6)^6.
    assert paired_p_value(ensemble, single, n=20000, seed=3) == pytest.approx(0.5 ** 6, abs=0.004)
    with pytest.raises(ValueError):
        paired_p_value(ensemble, {k: v[:3] for k, v in single.items()})


def test_crafted_language_and_machine_fields_stay_text_and_out_of_file_names(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    doc = json.loads((FIXTURES / "results.json").read_text(encoding="utf-8"))
    crafted = "../../x](http://evil) <b>`\n# owned"
    doc["datasets"]["toy"]["language"] = crafted
    doc["machine"] = {"platform": "Linux\n# owned", "cpu_count": "2 | [x](http://evil)"}
    doc["wall_s"] = 1.0
    source = tmp_path / "results.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "board"
    result = cli_runner.invoke(cli, ["leaderboard", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert all("/" not in name and ".." not in name.split("-", 1)[0] for name in files)
    assert not (tmp_path / "x.md").exists() and not list(tmp_path.glob("lang-*"))
    assert [name for name in files if name.startswith("lang-")] == ["lang-..-..-x-http-evil-b-owned.md"]
    for name in files:
        text = (out / name).read_text(encoding="utf-8")
        # Markup only where escaped: no link to the crafted target, no tag, no line of its own.
        assert not re.search(r"(?<!\\)\]\(http://evil|(?<!\\)<b>|^#+ owned", text, re.M), name
        assert "\\](http://evil)" in text or name != "lang-..-..-x-http-evil-b-owned.md"


def test_pages_of_a_partial_run_say_so(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    doc = json.loads((FIXTURES / "results.json").read_text(encoding="utf-8"))
    doc["systems"][0]["counts"]["statuses"] = {"ok": 4, "error": 2}
    doc["partial"] = True
    source = tmp_path / "results.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "board"
    assert cli_runner.invoke(cli, ["leaderboard", str(source), "-o", str(out)]).exit_code == 0
    n = sum(s["sentences"] for s in doc["systems"])
    for name in ("leaderboard.md", "toy-test.md", "lang-pt.md"):
        assert f"> **Partial results:** 2 of {n} sentences got no answer" in (out / name).read_text(), name
    complete = render(tmp_path / "complete", cli_runner)
    assert not any("Partial" in p.read_text() for p in complete.iterdir() if p.is_file())


def test_why_sections_render_hostile_names_inside_their_cells(tmp_path, cli_runner, monkeypatch):
    """A format-2 document (partial matches, errors, headroom, sentences) with
    a system called `a/<b>bold</b>/json`: every table row keeps the header's
    cell count, the sections and the explorer link are there."""
    from .test_explorer import SYSTEM_A, results_doc

    monkeypatch.setattr(plots, "available", lambda: False)
    (tmp_path / "results.json").write_text(json.dumps(results_doc()), encoding="utf-8")
    result = cli_runner.invoke(cli, ["leaderboard", str(tmp_path / "results.json"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "toy-test.md").read_text(encoding="utf-8")
    for section in ("## Partial matches", "### Partial F1 per entity type", "## Errors", "### Errors per entity type",
                    "## Headroom", "### Complementarity", "(explorer.html#split=toy-test)",
                    "every distinct predicted span counts"):
        assert section in page, section
    assert markdown.escape(SYSTEM_A) in page and SYSTEM_A not in page
    for table in page.split("\n\n"):
        rows = [line for line in table.splitlines() if line.startswith("|")]
        assert len({len(row.replace("\\|", "").split("|")) for row in rows}) <= 1, table
    assert "(explorer.html)" in (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    assert (tmp_path / "out" / "explorer.html").is_file()


def test_explorer_on_results_without_sentences_is_a_one_line_error(tmp_path, cli_runner):
    result = cli_runner.invoke(cli, ["leaderboard", str(FIXTURES / "results.json"), "-o", str(tmp_path),
                                     "--reporter", "explorer"])
    assert result.exit_code == 2 and "nerbench rescore" in result.output and "Traceback" not in result.output
