"""Commands that run a config or render what runs stored: `run`, `models`,
`rescore`, `leaderboard`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tabulate import tabulate

from nerbench.cli.app import cli, interrupted, registry_from
from nerbench.config.load import default_config_path, load_config, with_overrides
from nerbench.errors import EXIT_PARTIAL
from nerbench.files.paths import contained
from nerbench.infer.cache import default_cache_path
from nerbench.infer.probe import MODEL_FIELDS, probe_backends
from nerbench.pipeline import describe_plan, execute, prepare, rerender, unanswered
from nerbench.redaction import one_line
from nerbench.report.rescore import rescore_run
from nerbench.report.summary import summary
from nerbench.score.strict import RULES, SPAN_SET

SCORING_HELP = "span-set: every distinct predicted span counts; longest-first: the old IOB2 rule."


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory [default: runs/<run name>].")
@click.option("--limit", type=click.IntRange(min=1),
              help="Only the first N sentences of each dataset split, the ensemble dev sample too (as [run] limit; "
                   "it wins over [[dataset]] limit).")
@click.option("--dry-run", is_flag=True, help="Print the job matrix and request count; call nothing.")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Prediction cache (SQLite) [env NERBENCH_CACHE; default: user cache dir].")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the results JSON on stdout.")
@click.option("--race/--no-race", "race", default=None,
              help="Race the evaluated splits (the config's [run] race, else its defaults): systems worse than the "
                   "leader with confidence stop being asked (docs/racing.md). --no-race: every system answers all.")
@click.pass_context
def run(ctx, config, output, limit, dry_run, cache_path, progress, as_json, race):
    """Run every backend×model × dataset:split × prompt format of CONFIG.

    CONFIG is a TOML file (see the README); without it, the bundled quick
    start runs. Writes DIR/predictions.jsonl, DIR/results.json and what the
    configured reporters make (DIR/leaderboard.md). Every completion is cached
    as it arrives: after Ctrl-C or a failure, run the same command to resume.
    Exit status: 0 complete, 2 bad input, 3 partial (results written, but some
    requests got no answer: rerun to complete them), 130 interrupted (Ctrl-C),
    143 terminated (SIGTERM).
    """
    cfg = with_overrides(load_config(config or default_config_path()), limit, race)
    registry = registry_from(ctx)
    plan = prepare(cfg, registry)
    out_dir = output or contained(Path("runs"), cfg.run.name or cfg.path.stem, f"{cfg.path}: field run.name")
    if dry_run:
        table, total = describe_plan(plan)
        click.echo(f"{table}\n\n{len(plan.jobs)} jobs, {total} requests (before the cache); nothing was called.")
        if plan.race is not None:
            click.echo(f"Raced ({plan.race.rounds} rounds, alpha {plan.race.alpha:g}): "
                       + ", ".join(f"{d}:{s}" for d, s in plan.raced)
                       + f"; {total} requests is the most it can ask (docs/racing.md).")
        return
    try:
        outcome = execute(cfg, plan, registry, out_dir, cache_path or default_cache_path(), progress)
    except KeyboardInterrupt as exc:
        interrupted(exc)
    click.echo(json.dumps(outcome.results, ensure_ascii=False, indent=2) if as_json else
               summary(outcome.results) + "\n\nwrote " + ", ".join(str(p) for p in outcome.files))
    if outcome.partial:
        causes = unanswered(outcome.results)
        click.echo(f"\nPartial results: {sum(causes.values())} requests got no answer ("
                   + ", ".join(f"{cause} {n}" for cause, n in sorted(causes.items()))
                   + "); run the same command again to ask for them.", err=True)
        sys.exit(EXIT_PARTIAL)


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per backend.")
@click.pass_context
def models(ctx, config, as_json):
    """Each backend of CONFIG (default: the quick start): health, the models it
    serves, and what it says of each configured model (digest, quantization,
    context length, ...). Runs nothing. Exit code 1 when a backend is down or
    lacks a configured model."""
    reports = probe_backends(load_config(config or default_config_path()), registry_from(ctx))
    if as_json:
        click.echo(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        rows = []
        for r in reports:
            state = "ok" if r["ok"] else f"DOWN: {r['error']}" if r["error"] else "problem"
            for model, info in (r["models"] or {"–": {}}).items():
                rows.append([one_line(cell) for cell in (
                    r["backend"], r["kind"], r["endpoint"] or "–", state, model,
                    info.get("error") or ", ".join(f"{k} {info[k]}" for k in MODEL_FIELDS if k in info))])
            if r["served"]:
                rows.append(["", "", "", "", "(serves)", one_line(", ".join(r["served"]))])
        click.echo(tabulate(rows, headers=["backend", "kind", "endpoint", "health", "model", "what it says"]))
    if not all(r["ok"] for r in reports):
        sys.exit(1)


@cli.command("rescore")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new results JSON (default: RUN_DIR/results.json, replaced).")
@click.option("--scoring", type=click.Choice(RULES), default=SPAN_SET, show_default=True, help=SCORING_HELP)
@click.pass_context
def rescore_cmd(ctx, run_dir, output, scoring):
    """Score a finished run again from RUN_DIR/results.json, RUN_DIR/predictions.jsonl
    and the corpora (no backend): every score and analysis under the current
    scoring; provenance kept. Render it with `nerbench leaderboard`."""
    click.echo(f"wrote {rescore_run(run_dir, registry_from(ctx), scoring, output)}")


@cli.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--reporter", "reporters", multiple=True, default=("markdown",), show_default=True)
@click.pass_context
def leaderboard(ctx, results, output, reporters):
    """Re-render leaderboards from RESULTS JSON files alone (never runs a model)."""
    files, notes = rerender(registry_from(ctx), list(results), output, reporters)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    for path in files:
        click.echo(f"wrote {path}")
