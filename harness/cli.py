"""The `nerbench` command line: thin click commands over library calls."""

from __future__ import annotations

import json
import os
from dataclasses import replace
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from nerbench import __version__
from nerbench.infer.probe import MODEL_FIELDS, probe_backends
from nerbench.infer.cache import default_cache_path
from nerbench.config.load import default_config_path, load_config
from nerbench.config.settings import RaceSettings
from nerbench.config.options import check_options
from nerbench.data.manifest import ManifestDataset, default_data_dir
from nerbench.errors import EXIT_PARTIAL, NerbenchError, Terminated
from nerbench.distil.annotate import (TEXT_SPLIT, choose_sentences, earlier_answers, text_sentences,
                                      write_annotation)
from nerbench.distil.annotate import annotate as annotate_sentences
from nerbench.distil.teachers import endpoints, load_source, resolve_teacher
from nerbench.distil.train import (PICKS, UNLABELLED, USES, budget_data, gold_data, read_silver, silver_data,
                                   train_student, training_silver)
from nerbench.pipeline import describe_plan, execute, prepare, register_config_datasets, render_reports, unanswered
from nerbench.redaction import one_line
from nerbench.files.paths import contained
from nerbench.files.predictions import group_by_system, write_predictions
from nerbench.files.results import read_results, read_results_files, write_results
from nerbench.plugin_system.manager import Registry, get_registry
from nerbench.combine.offline import load_index, parse_options
from nerbench.plan.combiners import make_combiner
from nerbench.plugin_system.scaffold import KINDS as PLUGIN_KINDS
from nerbench.plugin_system.scaffold import new_plugin
from nerbench.report.rescore import rescore
from nerbench.report.summary import summary
from nerbench.score.strict import RULES, SPAN_SET, score
from nerbench.index.search import SEARCHES, run_ensemble
from nerbench.records import Prediction


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def interrupted(exc: KeyboardInterrupt) -> None:
    """The one message and exit status of an interrupted long command: 130
    for Ctrl-C, 143 for SIGTERM (128 + the signal, as shells report it)."""
    click.echo("\nInterrupted. Every completion received is in the cache; "
               "run the same command again to resume.", err=True)
    sys.exit(143 if isinstance(exc, Terminated) else 130)


class Cli(click.Group):
    """Turns `NerbenchError` and click's usage errors into one line on
    stderr (redacted) and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NerbenchError as exc:
            click.echo(f"Error: {one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        # click's own report of a usage error is three lines (usage, hint, error).
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:  # click >= 8.2: the help, as asked
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            hint = f" (see {ctx.command_path} --help)" if isinstance(exc, click.UsageError) and ctx else ""
            click.echo(f"Error: {where}{one_line(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)


def registry_from(ctx: click.Context) -> Registry:
    registry = get_registry()
    for path in ctx.obj.get("registry", ()):
        if path not in ctx.obj.setdefault("_added", set()):
            registry.add_dataset(ManifestDataset.from_file(Path(path)), f"manifest {path}")
            ctx.obj["_added"].add(path)
    return registry


@contextmanager
def naming(where: str) -> Iterator[None]:
    """An error raised inside says which option or argument it is about."""
    try:
        yield
    except NerbenchError as exc:
        raise NerbenchError(f"{where}: {exc}") from None


def split_ref(ref: str) -> tuple[str, str]:
    dataset, sep, split = ref.rpartition(":")
    if not sep or not dataset or not split:
        raise NerbenchError("expected ID:SPLIT, e.g. lener_br:test")
    return dataset, split


def dataset_split(registry: Registry, ref: str) -> tuple[Any, str]:
    """The dataset and split named by ID:SPLIT."""
    dataset_id, split = split_ref(ref)
    dataset = registry.get("datasets", dataset_id)
    if split not in dataset.splits:
        raise NerbenchError(f"dataset {dataset_id!r} has no split {split!r}; splits: {', '.join(dataset.splits)}")
    return dataset, split


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nerbench")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where datasets are fetched to and read from [env NERBENCH_DATA_DIR; default: user cache dir].")
@click.option("--registry", "registry", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="An extra dataset manifest (JSON); repeatable. A new dataset in a supported format needs only this.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, registry: tuple[str, ...]) -> None:
    """Benchmark zero-shot NER by local LLMs and ensembles of them.

    Start with `nerbench run` (the bundled quick start: SmolLM2-135M embedded,
    30 LeNER-Br sentences), then write your own config: see `nerbench run --help`.
    """
    if data_dir is not None:
        os.environ["NERBENCH_DATA_DIR"] = str(data_dir)
    ctx.ensure_object(dict)
    ctx.obj["registry"] = registry


@cli.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory [default: runs/<run name>].")
@click.option("--limit", type=click.IntRange(min=1),
              help="Only the first N sentences of each dataset split (the ensemble dev sample too).")
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
    cfg = load_config(config or default_config_path())
    if race is not None:
        cfg.run = replace(cfg.run, race=(cfg.run.race or RaceSettings()) if race else None)
    registry = registry_from(ctx)
    plan = prepare(cfg, registry, limit)
    out_dir = output or contained(Path("runs"), cfg.run.name or cfg.path.stem, f"{cfg.path}: field run.name")
    if dry_run:
        table, total = describe_plan(plan)
        click.echo(table)
        click.echo(f"\n{len(plan.jobs)} jobs, {total} requests (before the cache); nothing was called.")
        if plan.race is not None:
            click.echo(f"Raced ({plan.race.rounds} rounds, alpha {plan.race.alpha:g}): "
                       + ", ".join(f"{d}:{s}" for d, s in plan.raced)
                       + f"; {total} requests is the most it can ask (docs/racing.md).")
        return
    try:
        outcome = execute(cfg, plan, registry, out_dir, cache_path or default_cache_path(), progress)
    except KeyboardInterrupt as exc:
        interrupted(exc)
    if as_json:
        click.echo(json.dumps(outcome.results, ensure_ascii=False, indent=2))
    else:
        click.echo(summary(outcome.results))
        click.echo("\nwrote " + ", ".join(str(p) for p in outcome.files))
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


@cli.command("score")
@click.option("--gold", "gold", required=True, metavar="ID:SPLIT", help="The gold dataset split.")
@click.argument("predictions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), help="Score on the first N sentences only (as `run --limit`).")
@click.option("--scoring", type=click.Choice(RULES), default=SPAN_SET, show_default=True,
              help="span-set: every distinct predicted span counts; longest-first: the old IOB2 rule.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: system → scores.")
@click.pass_context
def score_cmd(ctx, gold, predictions, limit, scoring, as_json):
    """Score PREDICTIONS (predictions JSONL files) against ID:SPLIT with seqeval
    (strict, entity level, every distinct predicted span). A sentence with no
    prediction counts as predicting nothing. Needs no backend."""
    with naming(f"--gold {gold}"):
        dataset, split = dataset_split(registry_from(ctx), gold)
    dataset_id = dataset.id
    sentences = list(dataset.sentences(split))
    systems = group_by_system(list(predictions), dataset_id, split, {s.id: s for s in sentences},
                              {label.name for label in dataset.labels})
    if limit is not None and limit < len(sentences):
        scored_ids = {s.id for s in sentences[:limit]}
        later = sum(sid not in scored_ids for preds in systems.values() for sid in preds)
        if later:
            click.echo(f"note: --limit {limit}: {later} prediction lines about later sentences of {gold} "
                       "are not scored", err=True)
    sentences = sentences[:limit]
    scores = {name: score(sentences, preds, scoring) for name, preds in sorted(systems.items())}
    if as_json:
        click.echo(json.dumps(scores, indent=2))
        return
    rows = [[name, f"{100*m['precision']:.2f}", f"{100*m['recall']:.2f}", f"{100*m['f1']:.2f}",
             f"{100*m['macro_f1']:.2f}"] for name, m in scores.items()]
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
@click.pass_context
def ensemble(ctx, gold, predictions, combiner_name, options, dev_ref, dev_predictions, dev_limit, search, output,
             as_json):
    """Combine stored PREDICTIONS for ID:SPLIT (no backend needed), optionally
    choosing the systems on a dev sample, and score the ensemble."""
    registry = registry_from(ctx)
    combiner_options = parse_options(options)
    with naming("--combiner"):
        cls = registry.get("combiners", combiner_name)
    check_options(cls, combiner_options, "nerbench ensemble", "--option", f"combiner {combiner_name!r}")
    combiner = make_combiner(registry, combiner_name, combiner_options)
    with naming(f"--gold {gold}"):
        test_ds, test_split = split_ref(gold)
        dataset_split(registry, gold)  # named here, not deep in load_index
    test = load_index(registry, test_ds, test_split, list(predictions), None)
    note = combiner.note(len(test.systems))
    if note:
        click.echo(f"note: --combiner {combiner_name}: {note}", err=True)
    dev = None
    if dev_ref:
        if not dev_predictions:
            raise NerbenchError("--dev needs --dev-predictions")
        with naming(f"--dev {dev_ref}"):
            dev_ds, dev_split = split_ref(dev_ref)
            dataset_split(registry, dev_ref)  # named here, not deep in load_index
        dev = load_index(registry, dev_ds, dev_split, list(dev_predictions), dev_limit)
    result, combined = run_ensemble(combiner_name, combiner, test, dev, search)
    result.update(dataset=test_ds, split=test_split, dev=dev_ref)
    if output:
        write_predictions(output, (Prediction(result["system"], test_ds, test_split, sid, tuple(spans))
                                   for sid, spans in combined.items()))
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    m, b = result["metrics"], result["best_single"]
    click.echo(f"{result['system']}  {result['params'] or ''}")
    click.echo(f"  {gold}: P {100*m['precision']:.2f}  R {100*m['recall']:.2f}  F1 {100*m['f1']:.2f}"
               + (f"   (dev F1 {100*result['dev_f1']:.2f} on {result['dev_sentences']} sentences)" if dev else ""))
    click.echo(f"  best single system: {b['system']}  F1 {100*b['metrics']['f1']:.2f}")


@cli.command("rescore")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new results JSON (default: RUN_DIR/results.json, replaced).")
@click.option("--scoring", type=click.Choice(RULES), default=SPAN_SET, show_default=True,
              help="span-set: every distinct predicted span counts; longest-first: the old IOB2 rule.")
@click.pass_context
def rescore_cmd(ctx, run_dir, output, scoring):
    """Score a finished run again from RUN_DIR/results.json, RUN_DIR/predictions.jsonl
    and the corpora (no backend): every score and analysis under the current
    scoring; provenance kept. Render it with `nerbench leaderboard`."""
    registry = registry_from(ctx)
    if not (run_dir / "results.json").is_file():
        raise NerbenchError(f"{run_dir}: no results.json to re-score")
    results = read_results(run_dir / "results.json")
    doc = rescore(results, run_dir / "predictions.jsonl", registry, scoring)
    target = output or run_dir / "results.json"
    write_results(target, doc)
    click.echo(f"wrote {target}")


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
    registry = registry_from(ctx)
    config, results = load_source(source, config_file, trust_endpoints)
    for line in endpoints(config) if trust_endpoints else ():
        click.echo(f"trusted from {source}: {line}", err=True)
    register_config_datasets(config, registry)
    with naming("--teacher"):
        chosen = resolve_teacher(teacher, config, results)
    if (split_ref is None) == (text_file is None):
        raise NerbenchError("give --split ID:SPLIT or --text FILE (with --dataset ID), not both or neither")
    if text_file is not None:
        if not dataset_id:
            raise NerbenchError("--text needs --dataset ID (whose labels and language the teacher uses)")
        with naming("--dataset"):
            dataset = registry.get("datasets", dataset_id)
        split, candidates = TEXT_SPLIT, text_sentences(text_file)
    else:
        with naming(f"--split {split_ref}"):
            dataset, split = dataset_split(registry, split_ref)
        candidates = list(dataset.sentences(split))
    drawn = choose_sentences(candidates, None, sample, seed)
    # A piece of a sample (--limit) keeps the whole sample out of the demonstrations: it is asked as the whole is.
    sentences = drawn[:limit]
    earlier_dir = reuse_dir or output
    earlier = earlier_answers(earlier_dir, config, chosen, dataset, split, candidates)
    try:
        result = annotate_sentences(config, registry, chosen, dataset, split, sentences,
                                    cache_path or default_cache_path(), progress, drawn if sample else (), earlier)
    except KeyboardInterrupt as exc:
        interrupted(exc)
    if result.reused:
        click.echo(f"reused {len(next(iter(result.reused.values())))} sentences' answers from "
                   f"{earlier_dir / 'predictions.jsonl'}", err=True)
    files, summary = write_annotation(result, output, config.sha256, {"source": str(source), "sample": sample,
                                                                      "seed": seed, "limit": limit})
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{chosen.name} annotated {summary['sentences']} sentences of {dataset.id}:{split}: "
                   f"{summary['spans']} spans " + ", ".join(f"{k} {v}" for k, v in summary["spans_per_label"].items()))
        lost = summary["not_in_token_exports"]
        if lost:
            click.echo("not in the token-level exports (kept in silver.jsonl): "
                       + ", ".join(f"{k} {v}" for k, v in lost.items()))
        click.echo("wrote " + ", ".join(str(p) for p in files))
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
@click.pass_context
def train(ctx, student_name, gold_ref, silver_file, like_file, budget, pick, use, unlabelled, limit, sample,
          dev_ref, dev_limit, seeds, options, output, as_json, allow_partial):
    """Train a STUDENT (spacy, crf, ...) on silver, gold or mixed data; score it with `nerbench run`.

    Examples: silver alone `--silver S/silver.jsonl`; the same sentences'
    gold `--like S/silver.jsonl`; all gold `--gold lener_br:train`; a gold
    budget `--silver S/silver.jsonl --budget 100 --pick disagreement`.
    Early stopping uses the --dev gold (the page of a run scoring the
    student says so through student.json). Needs `pip install
    'nerbench[train]'`. The model is a backend: `kind = "STUDENT"`,
    `models = ["DIR/seed-0"]`, with a `[[format]] name = "student"`.
    """
    registry = registry_from(ctx)
    with naming(f"student {student_name!r}"):
        cls = registry.get("students", student_name)
    missing = cls.missing()
    if missing:
        raise NerbenchError(f"student {student_name!r} needs {missing}, which is not installed; run: {cls.install}")
    student_options = parse_options(options)
    check_options(cls, student_options, "nerbench train", "--option", f"student {student_name!r}")
    with naming(f"--gold {gold_ref}"):
        dataset, gold_split = dataset_split(registry, gold_ref)
    with naming(f"--dev {dev_ref}"):
        dev_dataset, dev_split = dataset_split(registry, dev_ref)
    if dev_dataset.id != dataset.id:
        raise NerbenchError(f"--dev {dev_ref}: another dataset than --gold {gold_ref}")
    gold = list(dataset.sentences(gold_split))
    dev = list(islice(dev_dataset.sentences(dev_split), dev_limit))
    about = {"gold": gold_ref}
    if (silver_file, like_file) == (None, None):
        data = gold_data(choose_sentences(gold, limit, sample, 0), {**about, "limit": limit, "sample": sample})
    elif like_file is not None:
        by_id = {s.id: s for s in gold}
        wanted = [s.sentence.id for s in read_silver(like_file, [label.name for label in dataset.labels])]
        lacking = [i for i in wanted if i not in by_id]
        if lacking:
            raise NerbenchError(f"{like_file}: sentence {lacking[0]!r} is not in {gold_ref}")
        data = gold_data([by_id[i] for i in wanted], {**about, "like": str(like_file)})
    else:
        silver, left_out = training_silver(silver_file, [label.name for label in dataset.labels], allow_partial)
        about.update(silver=str(silver_file), **left_out)
        data = (budget_data(silver, {s.id: s for s in gold}, budget, pick, use, unlabelled, 0, about)
                if budget else silver_data(silver, unlabelled, about))
    # Early stopping must not look at what it learns from: a dev sentence whose text is trained on
    # (LeNER-Br repeats short ones across splits: "É o relatório .") is left out of the dev sample.
    taught = {e.sentence.text for phase in data.phases for e in phase}
    kept_dev = [s for s in dev if s.text not in taught]
    if not kept_dev:
        raise NerbenchError(f"--dev {dev_ref}: every dev sentence is among the training sentences")
    dev_note = f"{dev_ref} (first {len(dev)}, {len(dev) - len(kept_dev)} also trained on left out)"
    dev = kept_dev
    labels = [label.name for label in dataset.labels]
    runs = []
    for seed in seeds or (0,):
        if budget and pick == "random":
            data = budget_data(silver, {s.id: s for s in gold}, budget, pick, use, unlabelled, seed, about)
        click.echo(f"training {student_name} (seed {seed}) on {data.about}", err=True)
        runs.append(train_student(cls, student_name, student_options, data, dev, labels, dataset.language,
                                  output / f"seed-{seed}", seed, dev_note))
    write_results(output / "train.json", {"student": student_name, "models": [f"seed-{m['seed']}" for m in runs],
                                          "runs": runs})
    if as_json:
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    for m in runs:
        click.echo(f"seed-{m['seed']}: trained in {m['train_s']} s, {m['max_rss_mb']} MB peak")
    click.echo(f"wrote {output}/seed-*/ and {output / 'train.json'}")


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the plugins built into nerbench.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def plugins(ctx, show_all, as_json):
    """List installed plugins, what they registered, and any load error."""
    registry = registry_from(ctx)
    infos = [i for _, i in sorted(registry.plugins.items()) if show_all or not i.builtin]
    infos = [i for i in infos if not i.name.startswith("manifest ")] if not show_all else infos
    if as_json:
        click.echo(json.dumps([i.to_json() for i in infos], indent=2))
        return
    if not infos:
        click.echo("No third-party plugins installed (use --all to see the built-in ones).")
    for info in infos:
        registered = "; ".join(f"{k}: {', '.join(v)}" for k, v in info.registered.items() if v)
        click.echo(f"{info.name} {info.version or ''}".rstrip() + (f"  [{registered}]" if registered else ""))
        if info.error:
            click.echo(f"  error: {info.error}")


@cli.group()
def plugin():
    """Write your own plugin."""


@plugin.command("new")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(PLUGIN_KINDS), help="What the plugin provides.")
@click.option("-d", "--directory", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to create the package folder nerbench-NAME.")
def plugin_new(name, kind, directory):
    """Generate nerbench-NAME: a pip-installable package (module nerbench_NAME)
    whose entry point registers a working KIND called NAME, with a passing test
    that uses the nerbench.testing fixtures."""
    root = new_plugin(name, kind, directory)
    click.echo(f"created {root}\nnext: cd {root} && pip install -e '.[test]' && python -m pytest && nerbench plugins")


@cli.group()
def datasets():
    """List, export and fetch datasets."""


@datasets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def datasets_list(ctx, as_json):
    """The registered datasets, their splits and whether the files are here."""
    registry = registry_from(ctx)
    items = []
    for name in registry.names("datasets"):
        ds = registry.get("datasets", name)
        info = {"id": name, "language": ds.language, "labels": [label.name for label in ds.labels],
                "splits": list(ds.splits), **ds.describe(), "plugin": registry.provider("datasets", name)}
        items.append(info)
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    rows = [[i["id"], i["language"], ", ".join(f"{s}{'' if i.get('available', {}).get(s, True) else ' (fetch)'}"
                                                for s in i["splits"]),
             " ".join(i["labels"]), i.get("license", "")[:40]] for i in items]
    click.echo(tabulate(rows, headers=["id", "lang", "splits", "labels", "license"]))
    click.echo(f"\ndata dir: {default_data_dir()}")


@datasets.command("export")
@click.argument("ref", metavar="ID:SPLIT")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N sentences.")
@click.pass_context
def datasets_export(ctx, ref, limit):
    """Write ID:SPLIT as sentence JSONL on stdout."""
    with naming(ref):
        dataset, split = dataset_split(registry_from(ctx), ref)
    for sentence in islice(dataset.sentences(split), limit):
        click.echo(json.dumps(sentence.to_json(), ensure_ascii=False))


@datasets.command("fetch")
@click.argument("dataset_id", metavar="ID")
@click.option("--progress/--no-progress", default=True)
@click.pass_context
def datasets_fetch(ctx, dataset_id, progress):
    """Download ID's files from its manifest URLs into the data dir; verify sha256."""
    with naming(dataset_id):
        dataset = registry_from(ctx).get("datasets", dataset_id)
    for path in dataset.fetch(default_data_dir(), progress=progress):
        click.echo(f"ok {path}")


@cli.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--reporter", "reporters", multiple=True, default=("markdown",), show_default=True)
@click.pass_context
def leaderboard(ctx, results, output, reporters):
    """Re-render leaderboards from RESULTS JSON files alone (never runs a model)."""
    registry = registry_from(ctx)
    with naming("--reporter"):
        chosen = [(name, registry.get("reporters", name)()) for name in reporters]
    docs, notes = read_results_files(list(results))
    for note in notes:
        click.echo(f"note: {note}", err=True)
    for path in render_reports(chosen, docs, output):
        click.echo(f"wrote {path}")


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        get_registry().call_register_commands(cli)
    except Exception as exc:  # a broken plugin must not take the CLI down
        click.echo(f"warning: plugin commands not loaded: {exc}", err=True)
    cli(obj={})
