"""`nerbench loop`: the active loop, one round per call."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nerbench.cli.app import cli, interrupted, registry_from
from nerbench.config.options import parse_options
from nerbench.distil.loop import loop_round
from nerbench.distil.picks import STRATEGIES
from nerbench.distil.review_formats import TOOLS
from nerbench.distil.train import UNLABELLED, USES


@cli.command("loop")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--silver", type=click.Path(dir_okay=False, exists=True), help="silver.jsonl to learn from.")
@click.option("--dev", metavar="ID:SPLIT", help="The labelled dev split the student is compared with its teacher on.")
@click.option("--teacher-predictions", type=click.Path(dir_okay=False, exists=True),
              help="A predictions.jsonl holding the teacher's answers on --dev (its sentences are the dev sample).")
@click.option("--teacher", metavar="SYSTEM", help="The teacher's system name in --teacher-predictions.")
@click.option("--student", help="The student kind [first call: crf].")
@click.option("--pick", type=click.Choice(STRATEGIES), help="Which sentences to review next [first call: hybrid].")
@click.option("--batch", type=click.IntRange(min=1), help="Sentences sent per round [first call: 50].")
@click.option("--use", "use", type=click.Choice(USES),
              help="How the silver and the reviewed gold are spent, as in `nerbench train` [first call: the student "
                   "kind's recipe: crf mixed, spacy pretrain].")
@click.option("--unlabelled", type=click.Choice(UNLABELLED),
              help="Silver tokens outside spans [first call: the student kind's recipe: crf missing, spacy O].")
@click.option("--delta", type=click.FloatRange(0, 1, max_open=True),
              help="Non-inferiority margin, F1 0-1 [first call: 0.05].")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Error spent over the planned rounds [first call: 0.05].")
@click.option("--rounds", type=click.IntRange(min=1), help="Planned rounds [first call: 8].")
@click.option("--patience", type=click.IntRange(min=1), help="Rounds without a gain before stopping [first call: 3].")
@click.option("--seed", type=int, help="Seed of the picks and the training [first call: 0].")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="A student option; repeatable.")
@click.option("--to", "to", type=click.Choice(TOOLS),
              help="Also write each batch for this annotation tool, under round-N/review/ (the silver must lie in "
                   "an annotation folder) [first call: none, sentence JSONL only].")
@click.option("--review-cost", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="A person's seconds per reviewed sentence, for the cost each round reports [first call: none].")
@click.option("--reviewer", metavar="gold:ID:SPLIT", help="Play a perfect reviewer from this split's gold.")
@click.option("--import", "import_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The tool's export of the waiting round's batch (--to): its accepted sentences become the "
                   "round's review.")
@click.option("--json", "as_json", is_flag=True, help="Print the round's record as one JSON object on stdout.")
@click.option("--progress/--no-progress", default=True, help="A bar of the student's training steps (on a terminal).")
@click.pass_context
def loop(ctx, folder, silver, dev, teacher_predictions, teacher, student, pick, batch, use, unlabelled, delta, alpha,
         rounds, patience, seed, options, to, review_cost, reviewer, import_file, as_json, progress):
    """One round of the active loop kept in FOLDER: train on the silver and every reviewed sentence,
    compare the student with its teacher on the dev sample, send the next batch for review.

    The first call records the settings in FOLDER/loop.json; later calls
    need none of them. Put the review of FOLDER/round-N/sent.jsonl in
    round-N/reviewed.jsonl (sentence JSONL); or, with --to TOOL, review
    round-N/review/ in the tool and give its export to --import (rejected,
    skipped and unreviewed sentences go back to the pool, never taught as
    "no entity"); or give --reviewer. Each round prints what the loop has
    cost: teacher calls and hours, reviewed sentences (and the person's
    hours with --review-cost), the student's training. The loop says
    "stop" when the student is not worse than its teacher by more than
    --delta (paired bootstrap, alpha spent over the rounds: the LLM can go),
    or "stop reviewing ... keep the teacher" when the student has not gained
    for --patience rounds and is not shown within --delta of its teacher.
    Exit status: 0, 2 bad input, 130 interrupted.
    """
    given = {"silver": silver, "dev": dev, "teacher_predictions": teacher_predictions, "teacher": teacher,
             "student": student, "pick": pick, "batch": batch, "use": use, "unlabelled": unlabelled, "delta": delta,
             "alpha": alpha, "rounds": rounds, "patience": patience, "seed": seed,
             "options": parse_options(options) or None, "to": to, "review_cost": review_cost}
    try:
        record = loop_round(folder, given, registry_from(ctx), reviewer,
                            (lambda line: click.echo(line, err=True)) if as_json else click.echo, import_file,
                            progress)
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
    except KeyboardInterrupt as exc:
        interrupted(exc, "A round without its round.json is trained again by the next call.")
