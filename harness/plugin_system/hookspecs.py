"""The hooks a nerbench plugin may implement (pluggy, project name "nerbench").

A plugin is a module (or object) exposed through the ``nerbench`` entry-point
group whose hook implementations are decorated with ``nerbench.api.hookimpl``.
pluggy passes arguments by keyword, so an implementation may take only those it
needs. Every ``register_*`` hook is called once per process, when the plugin
registry is first built, and receives a ``register`` callback. Call it once per
thing you provide: ``register(name, factory)``. Names are global per kind: a
second plugin registering the same name is refused, and the error names both
plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import pluggy

hookspec = pluggy.HookspecMarker("nerbench")
hookimpl = pluggy.HookimplMarker("nerbench")

#: ``register(name, factory)`` as handed to every ``register_*`` hook.
Register = Callable[[str, Any], None]


@hookspec
def register_backends(register: Register) -> None:
    """Provide backend kinds.

    Called once when the registry is built. ``register(kind, cls)`` takes the
    kind name used as ``kind = "..."`` in a config's ``[[backend]]`` table and
    a subclass of ``nerbench.api.Backend``; nerbench instantiates it as
    ``cls(name, options)`` for each configured backend. Returns nothing.
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Provide datasets.

    Called once when the registry is built. ``register(dataset_id, dataset)``
    takes the id used as ``ID:SPLIT`` on the command line and an instance of
    ``nerbench.api.Dataset`` (for a manifest, ``nerbench.api.ManifestDataset``).
    Returns nothing.
    """


@hookspec
def register_prompt_formats(register: Register) -> None:
    """Provide prompt formats.

    Called once when the registry is built. ``register(name, cls)`` takes the
    format name used as ``[[format]] name = "..."`` and a subclass of
    ``nerbench.api.PromptFormat``, constructed with the ``[[format]]`` table's
    other keys as keyword options. Returns nothing.
    """


@hookspec
def register_combiners(register: Register) -> None:
    """Provide ensemble combiners.

    Called once when the registry is built. ``register(name, cls)`` takes the
    combiner name used in a config and a subclass of ``nerbench.api.Combiner``,
    constructed with the keyword options from the config. Returns nothing.
    """


@hookspec
def register_reporters(register: Register) -> None:
    """Provide reporters.

    Called once when the registry is built. ``register(name, cls)`` takes the
    reporter name used in a config's ``reporters`` list and a subclass of
    ``nerbench.api.Reporter`` constructible with no arguments. Returns nothing.
    """


@hookspec
def register_students(register: Register) -> None:
    """Provide students: small classical NER models nerbench trains.

    Called once when the registry is built. ``register(name, cls)`` takes the
    name used as ``nerbench train NAME`` and a subclass of
    ``nerbench.api.Student``, constructed with the ``--option`` keyword
    options. A trained student is scored as a system through a backend kind
    (a subclass of ``nerbench.api.StudentBackend``, registered with
    ``register_backends``). Returns nothing.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``nerbench`` command line.

    Called once when the CLI starts, with the top-level click group; add
    commands with ``@cli.command()``. A plugin whose hook raises is reported
    by ``nerbench plugins`` and the CLI keeps working. Returns nothing.
    """


KINDS: dict[str, str] = {
    "backends": "register_backends",
    "datasets": "register_datasets",
    "prompt_formats": "register_prompt_formats",
    "combiners": "register_combiners",
    "reporters": "register_reporters",
    "students": "register_students",
}


def singular(kind: str, sep: str = " ") -> str:
    """One plugin of a kind, by the kind's one name: "prompt_formats" →
    "prompt format" in messages, "prompt-format" (`sep="-"`) for
    `nerbench plugin new --kind`."""
    return kind[:-1].replace("_", sep)
