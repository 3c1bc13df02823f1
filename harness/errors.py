"""Errors a user can fix: the CLI prints them on one line and exits with 2."""

from __future__ import annotations

#: `nerbench run`'s exit status when results were written but some requests
#: got no answer (a rerun completes them); 2 is bad input, 130 Ctrl-C.
EXIT_PARTIAL = 3


class NerbenchError(Exception):
    """Bad input or environment, explained in one line; never a traceback."""

    exit_code = 2


class BackendError(NerbenchError):
    """A backend failed. `transient` errors are worth retrying."""

    def __init__(self, message: str, *, transient: bool = False, cause: str = "error") -> None:
        super().__init__(message)
        self.transient = transient
        self.cause = cause


class UnknownNameError(NerbenchError):
    """A name that no plugin registered."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: what was stored is kept, the run says so (exit 143)."""
