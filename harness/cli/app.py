"""The `nerbench` command group: how every command reports errors (one
line, exit 2), interruptions (130/143) and which registry it reads."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from nerbench import __version__
from nerbench.data.manifest import ManifestDataset
from nerbench.errors import NerbenchError, Terminated
from nerbench.plugin_system.manager import Registry, get_registry
from nerbench.redaction import one_line


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def interrupted(exc: KeyboardInterrupt, what: str = "Every completion received is in the cache; "
                "run the same command again to resume.") -> NoReturn:
    """The one message and exit status of an interrupted long command: 130
    for Ctrl-C, 143 for SIGTERM (128 + the signal, as shells report it)."""
    click.echo(f"\nInterrupted. {what}", err=True)
    sys.exit(143 if isinstance(exc, Terminated) else 130)


class Cli(click.Group):
    """Turns `NerbenchError` and click's usage errors into one line on
    stderr (redacted) and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
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
    """The plugins' registry plus the manifests given with `--registry`."""
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


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nerbench")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where datasets are fetched to and read from [env NERBENCH_DATA_DIR; default: user cache dir].")
@click.option("--registry", "registry", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="An extra dataset manifest (JSON); repeatable. A new dataset in a supported format needs only this.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, registry: tuple[str, ...]) -> None:
    """Benchmark zero-shot NER by local LLMs and ensembles of them, and
    distil the best into a small model you can ship.

    Start with `nerbench run` (the bundled quick start: SmolLM2-135M and
    Gemma 3 270M embedded, few-shot on the first 10 LeNER-Br test sentences,
    an ensemble chosen on a dev sample), then write your own config: see
    `nerbench run --help`.
    """
    if data_dir is not None:
        os.environ["NERBENCH_DATA_DIR"] = str(data_dir)
    ctx.ensure_object(dict)
    ctx.obj["registry"] = registry


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        get_registry().call_register_commands(cli)
    except Exception as exc:  # a broken plugin must not take the CLI down
        click.echo(f"warning: plugin commands not loaded: {exc}", err=True)
    cli(obj={})
