"""The `nerbench` command line: thin click commands, each calling one
library function a Python user could call too. `app` holds the group and
how errors and interruptions are reported; each module beside it one group
of commands."""

from nerbench.cli import catalog, distil, loop, review, run, stored  # noqa: F401  (each registers its commands)
from nerbench.cli.app import cli, main

__all__ = ["cli", "main"]
