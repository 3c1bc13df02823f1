"""Commands about what is installed: `plugins`, `plugin new`, `datasets`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from nerbench.cli.app import cli, naming, registry_from
from nerbench.data.manifest import default_data_dir
from nerbench.data.check import check_dataset
from nerbench.files.atomic import atomic_write
from nerbench.plugin_system.scaffold import KINDS as PLUGIN_KINDS
from nerbench.plugin_system.scaffold import new_plugin
from nerbench.report.catalog import dataset_infos, export_lines, plugin_infos


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
    items = dataset_infos(registry_from(ctx), read=as_json)
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    rows = [[i["id"], i["language"], ", ".join(f"{s}{'' if i.get('available', {}).get(s, True) else ' (fetch)'}"
                                                for s in i["splits"]),
             " ".join(i["labels"]), i.get("license", "")[:40]] for i in items]
    click.echo(tabulate(rows, headers=["id", "lang", "splits", "labels", "license"]))
    click.echo(f"\ndata dir: {default_data_dir()}")


@datasets.command("check")
@click.argument("dataset_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: split → counts.")
@click.pass_context
def datasets_check(ctx, dataset_id, as_json):
    """Read every split of ID whole: sentences, tokens, spans per label, and
    what the manifest's format.repair and label_map did (exit 2 on bad data)."""
    with naming(dataset_id):
        checked = check_dataset(registry_from(ctx).get("datasets", dataset_id))
    if as_json:
        click.echo(json.dumps(checked, indent=2, ensure_ascii=False))
        return

    def counts(found: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in found.items()) or "–"

    click.echo(tabulate([[split, c["sentences"], c["tokens"], counts(c["spans"]), counts(c["repairs"]),
                          counts(c["mappings"])] for split, c in checked.items()],
                        headers=["split", "sentences", "tokens", "spans", "repairs", "mappings"]))


@datasets.command("export")
@click.argument("ref", metavar="ID:SPLIT")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N sentences.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (whole or not at all) instead of stdout.")
@click.pass_context
def datasets_export(ctx, ref, limit, output):
    """Write ID:SPLIT as sentence JSONL on stdout (or -o FILE). The whole
    split is read and checked before a line is written."""
    with naming(ref):
        lines = export_lines(registry_from(ctx), ref, limit)
    if output is None:
        click.echo("".join(lines), nl=False)
        return
    with atomic_write(output) as out:
        out.writelines(lines)


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
