"""Commands that distil a teacher into a student: `annotate`, `train`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nerbench.cli.app import cli, interrupted, registry_from
from nerbench.config.options import parse_options
from nerbench.distil.annotate import AnnotationSpec, annotate_as
from nerbench.distil.train import PICKS, UNLABELLED, USES, TrainSpec, train_students
from nerbench.errors import EXIT_PARTIAL
from nerbench.infer.cache import default_cache_path


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--teacher", required=True, metavar="NAME",
              help="A system (BACKEND/MODEL/FORMAT), an ensemble as a results.json names it, "
                   "or COMBINER[SYSTEM+SYSTEM+...].")
@click.option("--split", "split_ref", metavar="ID:SPLIT", help="Annotate this split of a registered dataset "
              "(its gold is never shown to the teacher).")
@click.option("--text", "text_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Annotate your own text: one sentence a line (needs --dataset for the labels and language).")
@click.option("--dataset", "dataset_id", metavar="ID", help="With --text: whose labels and language to use.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N sentences.")
@click.option("--sample", type=click.IntRange(min=1), help="N sentences drawn at random (seeded) from the split.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the silver data and its exports.")
@click.option("--reuse", "reuse_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Reuse the members' answers of the annotation in this directory instead of -o's (another "
                   "teacher over the same systems: a union's answers give their majority for no model call).")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Prediction cache (SQLite) [env NERBENCH_CACHE; default: user cache dir].")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print annotation.json on stdout.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="With a results.json SOURCE: your config, whose backends (by name) the teacher is asked through.")
@click.option("--trust-endpoints", is_flag=True,
              help="With a results.json SOURCE: use the backends it records (each url and key variable is printed).")
@click.pass_context
def annotate(ctx, source, teacher, split_ref, text_file, dataset_id, limit, sample, seed, output, reuse_dir,
             cache_path, progress, as_json, config_file, trust_endpoints):
    """Let a TEACHER label sentences it has no gold for: silver data to train a student on.

    SOURCE is the config (TOML) that defines the teacher's systems, or a
    results.json (whose ensembles can then be named as its leaderboard names
    them; its backends come from --config FILE, or --trust-endpoints).
    Demonstrations never include a sentence being annotated. Writes
    DIR/silver.jsonl (sentence JSONL; each span with the votes of the members
    that proposed it, each sentence with their disagreement), silver.conll
    (BIO), silver.spans.jsonl (Prodigy / doccano), predictions.jsonl and
    annotation.json. Cached like a run: rerun the same command to resume.
    An annotation already in DIR (same config, split and demonstrations left
    out) is reused: its answered sentences are not asked again, so a sample
    annotated in pieces (--sample N --limit 250, then 500, ...) or moved to
    another machine with its output resumes without the cache; --reuse DIR
    takes the answers from another annotation by the same systems.
    Exit status: 0 complete, 2 bad input, 3 partial, 130 interrupted, 143 terminated.
    """
    spec = AnnotationSpec(source, teacher, output, split_ref, text_file, dataset_id, limit, sample, seed, reuse_dir,
                          config_file, trust_endpoints)
    try:
        result, files, summary = annotate_as(spec, registry_from(ctx), cache_path or default_cache_path(), progress,
                                             lambda line: click.echo(line, err=True))
    except KeyboardInterrupt as exc:
        interrupted(exc)
    if result.reused:
        click.echo(f"reused {len(next(iter(result.reused.values())))} sentences' answers from "
                   f"{(reuse_dir or output) / 'predictions.jsonl'}", err=True)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        lost = summary["not_in_token_exports"]
        click.echo(f"{result.teacher.name} annotated {summary['sentences']} sentences of {result.dataset.id}:"
                   f"{result.split}: {summary['spans']} spans "
                   + ", ".join(f"{k} {v}" for k, v in summary["spans_per_label"].items())
                   + ("\nnot in the token-level exports (kept in silver.jsonl): "
                      + ", ".join(f"{k} {v}" for k, v in lost.items()) if lost else "")
                   + "\nwrote " + ", ".join(str(p) for p in files))
    if result.errors:
        click.echo(f"\nPartial: {result.errors} member answers got no answer; run the same command again "
                   "to ask for them.", err=True)
        sys.exit(EXIT_PARTIAL)


@cli.command("train")
@click.argument("student_name", metavar="STUDENT")
@click.option("--gold", "gold_ref", required=True, metavar="ID:SPLIT",
              help="The labelled corpus: its labels and language; gold to train on or to buy with --budget.")
@click.option("--silver", "silver_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="silver.jsonl from `nerbench annotate`: train on it (with --budget: spend gold on some of it).")
@click.option("--reviewed", "reviewed_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="reviewed.jsonl from `nerbench review import`: a person's gold, alone or with --silver "
                   "(spent as --use says).")
@click.option("--like", "like_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Train on the gold of exactly the sentences this silver.jsonl holds.")
@click.option("--budget", type=click.IntRange(min=1), help="With --silver: buy the gold of K silver sentences.")
@click.option("--pick", type=click.Choice(PICKS), default="disagreement", show_default=True,
              help="Which K: where the teacher's members disagree most (1 - mean pairwise span F1), or at random.")
@click.option("--use", "use", type=click.Choice(USES), default="mixed", show_default=True,
              help="mixed: gold for K, silver for the rest; gold-only: the K alone; pretrain: silver, then the K.")
@click.option("--unlabelled", type=click.Choice(UNLABELLED), default="O", show_default=True,
              help="Silver tokens outside the teacher's spans: taught as no entity (O), or missing (no loss).")
@click.option("--limit", type=click.IntRange(min=1), help="Gold alone: only the first N sentences of --gold.")
@click.option("--sample", type=click.IntRange(min=1), help="Gold alone: N sentences of --gold drawn at random.")
@click.option("--dev", "dev_ref", required=True, metavar="ID:SPLIT",
              help="Gold dev sentences for early stopping (never trained on).")
@click.option("--dev-limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="The first N sentences of --dev.")
@click.option("--seed", "seeds", type=int, multiple=True, help="Seed; repeat for several models [default: 0].")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="A student option; repeatable.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory: one model per seed in DIR/seed-N, and DIR/train.json.")
@click.option("--json", "as_json", is_flag=True, help="Print train.json on stdout.")
@click.option("--allow-partial", is_flag=True, help="Train on a partial silver's answered sentences (counted).")
@click.option("--progress/--no-progress", default=True, help="A bar of each model's training steps (on a terminal).")
@click.pass_context
def train(ctx, student_name, gold_ref, silver_file, reviewed_file, like_file, budget, pick, use, unlabelled, limit,
          sample, dev_ref, dev_limit, seeds, options, output, as_json, allow_partial, progress):
    """Train a STUDENT (spacy, crf, ...) on silver, gold or mixed data; score it with `nerbench run`.

    Examples: silver alone `--silver S/silver.jsonl`; the same sentences'
    gold `--like S/silver.jsonl`; all gold `--gold lener_br:train`; a gold
    budget `--silver S/silver.jsonl --budget 100 --pick disagreement`; a
    person's review `--silver S/silver.jsonl --reviewed R/reviewed.jsonl
    --use pretrain` (silver, then the reviewed gold).
    Early stopping uses the --dev gold (the page of a run scoring the
    student says so through student.json). Needs `pip install
    'nerbench[train]'`. The model is a backend: `kind = "STUDENT"`,
    `models = ["DIR/seed-0"]`, with a `[[format]] name = "student"`.
    Exit status: 0 trained, 2 bad input, 130 interrupted, 143 terminated.
    """
    spec = TrainSpec(student_name, gold_ref, dev_ref, output, silver_file, reviewed_file, like_file, budget, pick, use,
                     unlabelled, limit, sample, dev_limit, seeds or (0,), parse_options(options), allow_partial)
    try:
        runs = train_students(spec, registry_from(ctx), lambda line: click.echo(line, err=True), progress)
    except KeyboardInterrupt as exc:
        interrupted(exc, "No model is left half-written; run the same command again to train.")
    if as_json:
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    for m in runs:
        click.echo(f"seed-{m['seed']}: trained in {m['train_s']} s, {m['max_rss_mb']} MB peak")
    click.echo(f"wrote {output}/seed-*/ and {output / 'train.json'}")
