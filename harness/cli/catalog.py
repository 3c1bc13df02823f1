"""Commands about what is installed: `plugins`, `plugin new`, `datasets`."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import click
from tabulate import tabulate

from nerbench.cli.app import cli, naming, registry_from
from nerbench.data.manifest import default_data_dir
from nerbench.plugin_system.factory import dataset_split
from nerbench.plugin_system.scaffold import KINDS as PLUGIN_KINDS
from nerbench.plugin_system.scaffold import new_plugin
from nerbench.report.catalog import dataset_infos, plugin_infos


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the plugins built into nerbench.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def plugins(ctx, show_all, as_json):
    """List installed plugins, what they registered, and any load error."""
    infos = plugin_infos(registry_from(ctx), show_all)
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    if not infos:
        click.echo("No third-party plugins installed (use --all to see the built-in ones).")
    for info in infos:
        registered = "; ".join(f"{k}: {', '.join(v)}" for k, v in info["registered"].items() if v)
        click.echo(f"{info['name']} {info['version'] or ''}".rstrip() + (f"  [{registered}]" if registered else ""))
        if info["error"]:
            click.echo(f"  error: {info['error']}")


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
    items = dataset_infos(registry_from(ctx))
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
