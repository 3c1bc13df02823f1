"""Commands that take a person's review in and a student out: `review
export`, `review import`, `ship` — each over one library call."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nerbench.cli.app import cli, registry_from

from nerbench.distil.review import Pick, export_review, import_review
from nerbench.distil.review_formats import TOOLS
from nerbench.distil.ship import ship_student
from nerbench.distil.train import PICKS


@cli.group()
def review() -> None:
    """A person reviews the sentences that matter in Label Studio, Prodigy or doccano."""


@review.command("export")
@click.argument("annotation_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--to", "tool", required=True, type=click.Choice(TOOLS), help="The annotation tool.")
@click.option("--pick", "how", type=click.Choice(PICKS), default="disagreement", show_default=True,
              help="Where the teacher's members disagree most, or at random (seeded).")
@click.option("--n", "n", required=True, type=click.IntRange(min=1), help="How many sentences.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draw and of ties.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The review folder: the tool's tasks, and what `review import` matches them against.")
@click.pass_context
def review_export(ctx: click.Context, annotation_dir: Path, tool: str, how: str, n: int, seed: int,
                  output: Path) -> None:
    """Send N sentences of ANNOTATION_DIR (`nerbench annotate -o DIR`) to a reviewer: Label Studio
    (tasks.json with one prediction per teacher member, label_config.xml), Prodigy (ner_manual
    tasks.jsonl) or doccano (tasks.jsonl). Bring the answers back with `nerbench review import`."""
    done = export_review(annotation_dir, output, tool, Pick(how, n, seed), registry_from(ctx))
    click.echo(f"{len(done.tasks)} sentences for {tool}: wrote " + ", ".join(str(p) for p in done.files))


@review.command("import")
@click.argument("export_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--review", "folder", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The folder `nerbench review export -o` wrote.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def review_import(export_file: Path, folder: Path, as_json: bool) -> None:
    """Read EXPORT_FILE (Label Studio's JSON export, Prodigy's db-out, doccano's JSONL) back as gold:
    DIR/reviewed.jsonl for `nerbench train --reviewed`, the counts in DIR/import.json. Rejected,
    skipped and unreviewed tasks are counted, never taken as "no entities"."""
    done = import_review(export_file, folder)
    if as_json:
        click.echo(json.dumps(dict(done.counts), indent=2))
        return
    c = done.counts
    click.echo(f"{c['accepted']} sentences reviewed ({c['changed']} corrected, {c['spans']} spans); "
               f"{c['rejected']} rejected, {c['skipped']} skipped, {c['unreviewed']} unreviewed: not taken")
    click.echo(f"wrote {done.reviewed} and {folder / 'import.json'}")


@cli.command("ship")
@click.argument("student_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the wheel goes (e.g. dist/).")
@click.option("--name", help="Package name, spaCy prefixes the language [default: nerbench_STUDENT].")
@click.option("--version", "version", default="0.1.0", show_default=True, help="Package version.")
@click.option("--results", "results", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A results.json that scored this student: its scores and intervals go on the model card.")
@click.pass_context
def ship(ctx: click.Context, student_dir: Path, output: Path, name: str | None, version: str,
         results: tuple[Path, ...]) -> None:
    """Build STUDENT_DIR (a `nerbench train` model folder, DIR/seed-N) into a spaCy pipeline
    package: a wheel that `pip install` and `spacy.load(NAME)` use where nerbench is not
    installed, with a model card (README, meta.json). Needs `pip install 'nerbench[train]'`."""
    wheel = ship_student(student_dir, output, registry_from(ctx), name, version, list(results))
    click.echo(f"wrote {wheel}")
