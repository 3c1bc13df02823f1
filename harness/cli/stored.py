"""Commands over stored predictions files, with no backend: `score`, `ensemble`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from nerbench.cli.app import cli, registry_from
from nerbench.cli.run import SCORING_HELP
from nerbench.combine.offline import ensemble as ensemble_files
from nerbench.config.options import parse_options
from nerbench.index.search import SEARCHES
from nerbench.report.stored import score_files
from nerbench.score.strict import RULES, SPAN_SET


def _pct(metrics: dict, *keys: str) -> list[str]:
    return [f"{100 * metrics[k]:.2f}" for k in keys]


@cli.command("score")
@click.option("--gold", "gold", required=True, metavar="ID:SPLIT", help="The gold dataset split.")
@click.argument("predictions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), help="Score on the first N sentences only (as `run --limit`).")
@click.option("--scoring", type=click.Choice(RULES), default=SPAN_SET, show_default=True, help=SCORING_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: system → scores.")
@click.option("--all", "score_all", is_flag=True, help="Score every sentence: one no system answered predicts nothing.")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a results JSON of these systems (each with its predictions file as provenance; "
                   "no latency or tokens), for `nerbench leaderboard`.")
@click.pass_context
def score_cmd(ctx, gold, predictions, limit, scoring, as_json, score_all, results):
    """Score PREDICTIONS (predictions JSONL files) against ID:SPLIT with seqeval
    (strict, entity level, every distinct predicted span), on the sentences
    they answer (a sample of the split is scored as a sample; --all: on every
    sentence). Where a system lacks a sentence another answered, it predicts
    nothing there. Needs no backend."""
    scores, notes = score_files(registry_from(ctx), gold, list(predictions), limit, scoring, score_all, results)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if results:
        click.echo(f"wrote {results}", err=True)
    if as_json:
        click.echo(json.dumps(scores, indent=2))
        return
    rows = [[name, *_pct(m, "precision", "recall", "f1", "macro_f1")] for name, m in scores.items()]
    click.echo(tabulate(rows, headers=["system", "P", "R", "F1", "macro F1"]))


@cli.command()
@click.option("--gold", "gold", required=True, metavar="ID:SPLIT", help="The split the ensemble is evaluated on.")
@click.argument("predictions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--combiner", "combiner_name", required=True,
              help="majority, vote, union, intersection, weighted, per-type, ...")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A combiner option (value parsed as JSON when it can be, e.g. k=2); repeatable.")
@click.option("--dev", "dev_ref", metavar="ID:SPLIT",
              help="Labelled dev split to choose systems and fit parameters on.")
@click.option("--dev-predictions", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Predictions JSONL files for the dev split.")
@click.option("--dev-limit", type=click.IntRange(min=1),
              help="Use only the first N dev sentences (a small labelled sample).")
@click.option("--search", type=click.Choice(SEARCHES), default="none", show_default=True,
              help="none: combine every system; greedy or exhaustive: choose a subset on dev.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the combined predictions (JSONL).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--all", "score_all", is_flag=True, help="Use every sentence: one no system answered predicts nothing.")
@click.pass_context
def ensemble(ctx, gold, predictions, combiner_name, options, dev_ref, dev_predictions, dev_limit, search, output,
             as_json, score_all):
    """Combine stored PREDICTIONS for ID:SPLIT (no backend needed), optionally
    choosing the systems on a dev sample, and score the ensemble."""
    result, notes = ensemble_files(registry_from(ctx), gold, list(predictions), combiner_name,
                                   parse_options(options), dev_ref, list(dev_predictions), dev_limit, search, output,
                                   score_all)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    m, b = result["metrics"], result["best_single"]
    p, r, f1 = _pct(m, "precision", "recall", "f1")
    dev = f"   (dev F1 {100 * result['dev_f1']:.2f} on {result['dev_sentences']} sentences)" if dev_ref else ""
    click.echo(f"{result['system']}  {result['params'] or ''}\n  {gold}: P {p}  R {r}  F1 {f1}{dev}\n"
               f"  best single system: {b['system']}  F1 {100 * b['metrics']['f1']:.2f}")
