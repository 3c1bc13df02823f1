"""`nerbench loop`: the active loop, one round per call."""

from __future__ import annotations

from pathlib import Path

import click

from nerbench.cli.app import cli, interrupted, registry_from
from nerbench.config.options import parse_options
from nerbench.distil.loop import loop_round
from nerbench.distil.picks import STRATEGIES
from nerbench.distil.train import UNLABELLED


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
@click.option("--unlabelled", type=click.Choice(UNLABELLED), help="Silver tokens outside spans [first call: missing].")
@click.option("--delta", type=click.FloatRange(0, 1, max_open=True),
              help="Non-inferiority margin, F1 0-1 [first call: 0.05].")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Error spent over the planned rounds [first call: 0.05].")
@click.option("--rounds", type=click.IntRange(min=1), help="Planned rounds [first call: 8].")
@click.option("--patience", type=click.IntRange(min=1), help="Rounds without a gain before stopping [first call: 3].")
@click.option("--seed", type=int, help="Seed of the picks and the training [first call: 0].")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="A student option; repeatable.")
@click.option("--reviewer", metavar="gold:ID:SPLIT", help="Play a perfect reviewer from this split's gold.")
@click.pass_context
def loop(ctx, folder, silver, dev, teacher_predictions, teacher, student, pick, batch, unlabelled, delta, alpha,
         rounds, patience, seed, options, reviewer):
    """One round of the active loop kept in FOLDER: train on the silver and every reviewed sentence,
    compare the student with its teacher on the dev sample, send the next batch for review.

    The first call records the settings in FOLDER/loop.json; later calls
    need none of them. Put the review of FOLDER/round-N/sent.jsonl in
    round-N/reviewed.jsonl (sentence JSONL), or give --reviewer. The loop
    says "stop" when the student is not worse than its teacher by more than
    --delta (paired bootstrap, alpha spent over the rounds) or has not
    gained for --patience rounds. Exit status: 0, 2 bad input, 130 interrupted.
    """
    given = {"silver": silver, "dev": dev, "teacher_predictions": teacher_predictions, "teacher": teacher,
             "student": student, "pick": pick, "batch": batch, "unlabelled": unlabelled, "delta": delta,
             "alpha": alpha, "rounds": rounds, "patience": patience, "seed": seed,
             "options": parse_options(options) or None}
    try:
        loop_round(folder, given, registry_from(ctx), reviewer, click.echo)
    except KeyboardInterrupt as exc:
        interrupted(exc, "A round without its round.json is trained again by the next call.")
